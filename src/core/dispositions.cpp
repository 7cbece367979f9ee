#include "dispositions.hpp"

#include <string_view>

#include "ringside/core/privacy.hpp"

namespace ringside::detail {
namespace {

/// Code points in UTF-8 text (limits count characters, not bytes, so Persian
/// notes get the same room as Latin ones).
std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

}  // namespace

std::optional<Failure> check_disposition_fields(const std::string& disposition, const std::string& notes) {
    if (disposition.empty())
        return Failure{DomainError::invalid_argument, "field 'disposition' must be a non-empty string"};
    if (utf8_length(disposition) > max_disposition_chars)
        return Failure{DomainError::invalid_argument, "field 'disposition' must be at most 64 characters"};
    if (utf8_length(notes) > max_notes_chars)
        return Failure{DomainError::invalid_argument, "field 'notes' must be at most 4000 characters"};
    return std::nullopt;
}

std::optional<Failure> check_disposition_write(const User& by, const CallRecord& call) {
    const bool took_it = call.agent && *call.agent == by.username;
    if (!took_it && !role_at_least(by.role, Role::supervisor))
        return Failure{DomainError::forbidden, "only the agent who took the call or a supervisor may set its disposition"};
    return std::nullopt;
}

Failure disposition_conflict(const std::string& now) {
    return Failure{DomainError::conflict,
                   "the call's disposition was saved meanwhile (now '" + now + "'); reload the call before changing it"};
}

std::string stored_notes(const std::string& notes) { return mask_card_numbers(notes); }

}  // namespace ringside::detail
