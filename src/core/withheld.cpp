#include "ringside/core/withheld.hpp"

#include <array>

#include "ringside/core/ascii.hpp"

// Kept apart from phone.cpp, which needs libphonenumber: the SIP adapter's
// fuzz target compiles this file into itself.
namespace ringside {
namespace {

// Longer than any dialable number with formatting (phone.cpp's limit too).
constexpr std::size_t max_raw_bytes = 64;

// Words PBXs and carriers put in the caller id number of a withheld caller.
constexpr std::array<std::string_view, 6> withheld_words = {"anonymous",   "restricted", "unknown",
                                                            "private",     "unavailable", "withheld"};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Digits with some (or all) replaced by x/X, in any caller id formatting.
bool is_masked_number(std::string_view s) {
    bool masked = false;
    for (char c : s) {
        if (c == 'x' || c == 'X') masked = true;
        else if (!(c >= '0' && c <= '9') && c != '+' && c != ' ' && c != '-' && c != '.' && c != '(' && c != ')')
            return false;
    }
    return masked;
}

}  // namespace

bool is_withheld_number(std::string_view raw) {
    auto s = trim(raw);
    if (s.empty()) return true;
    if (s.size() > max_raw_bytes) return false;
    if (s.size() >= 2 && s.front() == '<' && s.back() == '>') s = trim(s.substr(1, s.size() - 2));
    // A SIP URI's user part: "sip:anonymous@anonymous.invalid".
    for (std::string_view scheme : {"sips:", "sip:", "tel:"})
        if (s.size() > scheme.size() && iequals(s.substr(0, scheme.size()), scheme)) {
            s.remove_prefix(scheme.size());
            break;
        }
    if (auto at = s.find('@'); at != std::string_view::npos) {
        if (iequals(s.substr(at + 1), "anonymous.invalid")) return true;
        s = s.substr(0, at);
    }
    if (s.empty()) return true;
    for (auto w : withheld_words)
        if (iequals(s, w)) return true;
    return is_masked_number(s);
}

}  // namespace ringside
