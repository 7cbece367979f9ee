#pragma once
// The call tracker: a state machine with no I/O that folds channel-level PBX
// events (pbx_event.hpp) into calls and reports what changed, as effects.
//
//  - One call per Linkedid (Asterisk 12+) or, when the PBX sends none, per
//    chain of dials and Local channel halves starting at the first channel.
//    CallId = "<pbx>-<linkedid>", stable across all legs.
//  - An agent's extension rings when a device channel (SIP/1001-..., PJSIP/...)
//    is dialled as part of the call; it stops ringing on DialEnd, on hangup, or
//    when another extension answers.
//  - The caller is the external party that started the call: the root
//    channel's caller id, never an intermediate Local channel or extension.
//
// Feed events in the order the PBX sent them; effects come out in order.
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ringside/core/model.hpp"
#include "ringside/core/pbx_event.hpp"

namespace ringside {

/// What the tracker knows of a call at the moment of an effect.
struct CallSnapshot {
    CallId id;
    PbxId pbx;
    std::string caller_num;                  // raw caller id number of the external caller
    std::string caller_name;                 // raw caller id name
    bool caller_withheld = false;            // the PBX said the caller's presentation is restricted
    std::optional<Extension> caller_device;  // set when the call was started by a device (a phone), not a trunk
    std::string dialed;                      // what the caller dialled (root channel's exten)
    std::optional<std::string> queue;
    Timestamp started_at{};
    std::optional<int> queue_position;       // position the caller joined the queue at (1 = first)
    std::optional<Timestamp> queued_at;      // when the caller joined the queue
};

/// One extension's part in a call, for the record: a leg per agent phone that
/// rang. Talk time of a leg is answered_at to ended_at (its own channel's
/// hangup, or the call's end): an agent who transferred the call and an
/// agent who took it each keep their own talk time.
struct LegSnapshot {
    Extension ext;
    Timestamp rang_at{};
    std::optional<Timestamp> answered_at;
    std::optional<Timestamp> ended_at;
    std::optional<Extension> transferred_by;  // the phone that transferred the call to this leg
};

enum class StopReason { answered_elsewhere, caller_hung_up, no_answer, busy, rejected };

namespace effect {
/// A new call appeared (first channel of a Linkedid that is not a bare Local channel).
struct CallStarted { CallSnapshot call; };
/// An agent's device started ringing for this call. transferred_by: set when
/// the ring follows a transfer (blind, attended or blonde), naming the phone
/// that transferred.
struct Ringing { CallSnapshot call; Extension ext; Timestamp at{}; std::optional<Extension> transferred_by = {}; };
/// The device stopped ringing without being answered.
struct StoppedRinging { CallSnapshot call; Extension ext; StopReason reason = StopReason::no_answer; Timestamp at{}; };
/// A device answered (its channel went Up as the dialled party / DialEnd ANSWER).
/// transferred_by as for Ringing: an attended transfer joins an agent who
/// already answered the consultation call to the caller's call.
struct Answered { CallSnapshot call; Extension ext; Timestamp at{}; std::optional<Extension> transferred_by = {}; };
/// The caller entered a queue.
struct Queued { CallSnapshot call; std::string queue; int position = 0; Timestamp at{}; };
/// The last channel of the call hung up. outcome is set by what happened:
/// answered if any device answered; abandoned if the caller left a queue;
/// busy / failed from the dial results; missed otherwise.
struct Ended {
    CallSnapshot call;
    CallStatus outcome = CallStatus::missed;  // never ringing
    Timestamp at{};
    int hangup_cause = 0;                     // Q.850 cause of the caller's hangup
    std::vector<LegSnapshot> legs;            // in the order the phones first rang
    /// Who hung up first on the call's last conversation (see HangupBy);
    /// hangup_ext names the phone when hangup_by is agent. Unset when the
    /// events do not tell (channels swept by a resync, unordered hangups).
    std::optional<HangupBy> hangup_by = {};
    std::optional<Extension> hangup_ext = {};
};
/// An attended (or blonde) transfer joined the consultation call `from` into
/// `into` (the caller's call). `from` never ends on its own: it lives on in
/// `into`. Ringing / Answered effects for the moved legs follow, on `into`.
struct Merged { CallSnapshot into; CallId from; };
}  // namespace effect

using Effect = std::variant<effect::CallStarted, effect::Ringing, effect::StoppedRinging, effect::Answered,
                            effect::Queued, effect::Ended, effect::Merged>;

class CallTracker {
public:
    CallTracker();
    ~CallTracker();
    CallTracker(CallTracker&&) noexcept;
    CallTracker& operator=(CallTracker&&) noexcept;

    /// Feeds one event; returns what it changed, in order. Never throws on
    /// odd input (unknown ids, events out of order): they are ignored.
    std::vector<Effect> on_event(const pbx::Event& ev);

    /// Calls in progress right now (not yet Ended), for metrics and resync.
    std::size_t active_calls() const;
    std::vector<CallSnapshot> active_snapshot() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ringside
