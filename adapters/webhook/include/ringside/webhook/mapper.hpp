#pragma once
// Turns webhook events into PBX-neutral events (ringside/core/pbx_event.hpp),
// in the shape an Asterisk call with direct dials has, so the call tracker
// treats a hosted PBX's call like any other:
//
//  call.ringing     -> the caller's channel (first time: ChannelCreated, state
//                      ring), then per new extension: ChannelCreated
//                      ("Webhook/<ext>-<n>"), DialBegin, ChannelUpdated ringing
//  call.answered    -> ChannelUpdated up + DialEnd answer for the answering
//                      phone; DialEnd cancel + Hangup 26 for the others; both
//                      channels enter one bridge
//  call.transferred -> Transfer (blind, by `extension`), the transferer's
//                      phone hangs up, `target` rings as above
//  call.ended       -> every phone still ringing gets DialEnd and Hangup with
//                      the cause, the answered phone and the caller hang up
//
// The call's linkedid is its call_id, so Ringside's call id is
// "<pbx>-<call_id>". Events for unknown calls (answered before ringing,
// anything after ended) give nothing; a call_id that ended lately is over
// (a late call.ringing for it gives nothing either). A call rings at most 64
// phones; an answer from a phone beyond those is still taken (it rings and
// answers at once), as is a transfer's target. Never throws. Sans-I/O, not
// thread-safe.
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringside/core/pbx_event.hpp"
#include "ringside/core/recent_ids.hpp"
#include "ringside/webhook/event.hpp"

namespace ringside::webhook {

class Mapper {
public:
    explicit Mapper(PbxId pbx, std::size_t max_calls = 10000);

    /// received_at is used when the event has no "at".
    std::vector<pbx::Event> map(const Event& e, Timestamp received_at);

    std::size_t tracked_calls() const noexcept { return calls_.size(); }

private:
    enum class LegState { ringing, answered };
    struct Leg {
        pbx::ChannelInfo info;
        LegState state = LegState::ringing;
    };
    struct Call {
        pbx::ChannelInfo caller;
        std::map<std::string, Leg> legs;   // extension -> its phone's channel
        std::string bridge;                // "" until answered
    };

    /// A new leg for ext, ringing. At most 64 ringing legs per call are
    /// taken; `always` (an answer, a transfer target) goes past that, to 128.
    void ring(Call& c, const std::string& ext, std::vector<pbx::Event>& out, Timestamp at, bool always = false);
    void hangup_leg(Call& c, const std::string& ext, int cause, pbx::DialStatus status, std::vector<pbx::Event>& out,
                    Timestamp at, bool order_known = true);

    PbxId pbx_;
    std::size_t max_calls_;
    std::uint64_t next_seq_ = 1;
    std::unordered_map<std::string, Call> calls_;
    RecentIds ended_;  // call_ids that ended lately
};

}  // namespace ringside::webhook
