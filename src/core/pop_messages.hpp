#pragma once
// Internal to ringside_core: the messages the engine hands to the PopSink,
// the wire format of CONTRACT.md and docs/interface.md in one place (the
// public builders pop_call_json, live_call_json and ringing_message are
// declared in call_service.hpp). None carries "seq": the sink numbers them.
#include <nlohmann/json.hpp>

#include "ringside/core/call_tracker.hpp"
#include "ringside/core/model.hpp"

namespace ringside::detail {

/// `call.retracted` {"call":{"id"},"reason":"answered_elsewhere"|"caller_hung_up","detail"}:
/// the contract's two reasons, why the phone stopped in "detail".
nlohmann::json retracted_message(const CallId& id, StopReason why);
/// `call.retracted` of a consultation call merged into `into` by an attended
/// transfer: reason caller_hung_up, detail "merged", "merged_into".
nlohmann::json merged_retraction(const CallId& id, const CallId& into);
/// `call.answered` {"call":pop call,"agent"}; r.agent must be set.
nlohmann::json answered_message(const CallRecord& r);
/// `call.ended` {"call":call record}.
nlohmann::json ended_message(const CallRecord& r);
/// `board.calls` {"calls":[live call]}: the whole board.
nlohmann::json board_calls_message(nlohmann::json calls);
/// `board.changes` {"calls":[live call],"removed":[id]}: every call that
/// started or changed since the last flush, and the ids of those that ended
/// or were merged; one message per flush.
nlohmann::json board_changes_message(nlohmann::json calls, nlohmann::json removed);

}  // namespace ringside::detail
