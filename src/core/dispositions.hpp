#pragma once
// Internal to ringside_core: the rules of an agent's disposition and notes
// on a call (POST /api/calls/{id}/disposition). Pure functions: the engine
// reads and writes the record around them.
#include <optional>
#include <string>

#include "ringside/core/errors.hpp"
#include "ringside/core/model.hpp"

namespace ringside::detail {

inline constexpr std::size_t max_disposition_chars = 64;
inline constexpr std::size_t max_notes_chars = 4000;

/// The fields themselves: a disposition of 1-64 characters, notes of at
/// most 4,000 (characters, not bytes). nullopt when they are fine.
std::optional<Failure> check_disposition_fields(const std::string& disposition, const std::string& notes);

/// Whether `by` may set the disposition of `call`: the agent who took it,
/// or a supervisor or admin. nullopt when allowed. (Whether the writer saw
/// the latest save is the store's compare-and-set to decide:
/// CallLog::set_disposition_if.)
std::optional<Failure> check_disposition_write(const User& by, const CallRecord& call);

/// The conflict a save over a disposition that changed meanwhile gets,
/// naming the disposition stored `now`.
Failure disposition_conflict(const std::string& now);

/// The notes as stored: card numbers masked (privacy.hpp).
std::string stored_notes(const std::string& notes);

}  // namespace ringside::detail
