#pragma once
// Internal to ringside_core: the rules that turn a finished call into its
// record's final figures and the customer's history entry. Pure functions.
#include <optional>

#include "ringside/core/model.hpp"

namespace ringside::detail {

/// Ends the record at `end`: wait (start to answer, or to the end when never
/// answered) and talk (answer to end) in seconds.
void finalise_times(CallRecord& r, Timestamp end);

/// The customer's history entry for the call ("Inbound call answered by
/// alice, 2m 5s"; never a phone number); nullopt when no customer is known.
std::optional<Interaction> history_of(const CallRecord& r);

}  // namespace ringside::detail
