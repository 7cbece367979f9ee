#pragma once
// Call scripts: the AMI events Asterisk 13+ (chan_sip, app_dial, app_queue,
// Local channels, timestampevents=yes) sends for one inbound call, computed
// from a plan. Sans-I/O and deterministic: the same plan gives the same bytes.
//
// Shapes produced (learnt from tests/fixtures/ami: goami2 chan_sip call,
// cacofonisk scenarios; header names and order as in Asterisk's
// ast_manager_build_channel_state_string and app_queue):
//  - one extension, no queue: the trunk channel dials SIP/<ext>-<seq> directly;
//  - several extensions (ring group) or a queue: one Local/<ext>@<ctx>-<seq>;1/;2
//    pair per member; ;2 dials the SIP device; the trunk channel dials ;1.
//    Queues add QueueCallerJoin, AgentCalled, AgentConnect or
//    AgentRingNoAnswer, QueueCallerLeave or QueueCallerAbandon, AgentComplete.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ringside/ami/message.hpp"
#include "ringside/core/time.hpp"

namespace ringside::sim {

enum class Outcome {
    answered,        // extensions[answered_by] answers after ring_time, talk_time later the caller hangs up
    caller_cancels,  // the caller hangs up after ring_time, nobody answered (DialEnd CANCEL)
    busy,            // every dialled device answers busy at once (DialEnd BUSY, cause 17)
    no_answer,       // ringing ends after ring_time (DialEnd NOANSWER, cause 19)
};

const char* to_string(Outcome o) noexcept;

struct CallPlan {
    /// Uniqueids are "<epoch_seconds>.<n>"; the trunk channel (and so the
    /// Linkedid of every event) gets n = first_id, later channels first_id+1...
    std::int64_t epoch_seconds = 0;
    std::uint64_t first_id = 1;
    /// Channel name suffix counter ("SIP/1001-0000003c"); each channel takes the next value.
    std::uint64_t first_channel_seq = 1;
    std::string caller_number;              // as the trunk presents it: "09121234567", "+31201234567"
    std::string caller_name;                // "" gives "<unknown>" like Asterisk
    std::string trunk = "SIP/trunk-provider";
    std::string dialed = "s";               // the DID the trunk sent (Exten of the trunk channel)
    std::string context = "from-trunk";     // dialplan context of the trunk channel
    std::vector<std::string> extensions;    // at least one; SIP peer names ("1001")
    std::optional<std::string> queue;       // app_queue name; members are the extensions
    Outcome outcome = Outcome::answered;
    std::size_t answered_by = 0;            // index into extensions (answered only)
    std::chrono::milliseconds ring_time{5000};
    std::chrono::milliseconds talk_time{30000};
    Timestamp start{};                      // wall-clock time of the first event
    /// Pickup (Outcome::answered only): instead of extensions[answered_by]
    /// answering, this phone, which was not dialled, takes the call after
    /// ring_time by dialling `pickup_code` ("*8" group pickup, "**1001"
    /// directed pickup) as a call of its own (its own Linkedid); Asterisk
    /// answers it, cancels the ringing phone (hangup cause 26), re-dials the
    /// picker (DialBegin/DialEnd ANSWER) and sends `Pickup`.
    std::optional<std::string> picked_up_by;
    std::string pickup_code = "*8";
    /// Forwarding (Outcome::answered, one extension, no queue): the dialled
    /// phone rings for ring_time, then the call goes to this extension, which
    /// answers after another ring_time. By the dialplan on no answer (DialEnd
    /// NOANSWER, then Dial of the target) or, with forward_by_phone, by the
    /// phone itself (SIP 302: DialEnd CANCEL with `Forward:`, app_dial dials the target).
    std::optional<std::string> forward_to;
    bool forward_by_phone = false;
    /// Transfer (Outcome::answered, one extension, no queue, pickup or
    /// forward): after talk_time the agent who answered transfers the caller
    /// to this extension, which answers after ring_time and talks
    /// transfer_talk_time until the caller hangs up. Blind: BlindTransfer,
    /// the caller's channel leaves the bridge and dials the target. Attended:
    /// the agent's phone calls the target first (a call of its own Linkedid),
    /// they talk consult_time, then AttendedTransfer moves the caller into
    /// the consultation bridge and the agent's two channels hang up.
    std::optional<std::string> transfer_to;
    bool transfer_attended = false;
    std::chrono::milliseconds consult_time{3000};
    std::chrono::milliseconds transfer_talk_time{20000};
};

struct TimedEvent {
    std::chrono::milliseconds offset;  // from plan.start, non-decreasing along a script
    ami::Message message;
};

struct CallScript {
    std::vector<TimedEvent> events;
    std::string linkedid;               // "<epoch>.<first_id>"
    std::uint64_t ids_used = 0;         // uniqueids taken: next call may start at first_id + ids_used
    std::uint64_t channel_seqs_used = 0;
};

/// Click-to-dial as Asterisk 13+ runs `Action: Originate` (Async) with a
/// Channel and Context/Exten: the agent's phone rings first (a channel of its
/// own, its Linkedid, at the target context/exten); when it answers,
/// OriginateResponse (Success, Reason 4) with the action's ActionID, then the
/// dialplan dials the number over the trunk; the far end answers and, after
/// talk_time, the agent hangs up. When the agent's phone is not answered
/// within `timeout`: Hangup (cause 19) and OriginateResponse Failure, Reason 3.
struct OriginatePlan {
    std::int64_t epoch_seconds = 0;
    std::uint64_t first_id = 1;             // as in CallPlan
    std::uint64_t first_channel_seq = 1;
    std::string channel;                    // Originate Channel: "PJSIP/1001"
    std::string context = "from-internal";  // Originate Context
    std::string exten;                      // Originate Exten: the number
    std::string caller_id;                  // Originate CallerID: "Ringside <1001>"
    std::string action_id;                  // echoed in OriginateResponse
    std::string trunk = "SIP/trunk-provider";
    bool agent_answers = true;
    std::chrono::milliseconds timeout{30000};
    std::chrono::milliseconds ring_time{2000};      // the agent's phone rings this long before answering
    std::chrono::milliseconds far_ring_time{3000};  // the number rings this long
    std::chrono::milliseconds talk_time{20000};
    Timestamp start{};
};

/// The events of an originated call (see OriginatePlan).
CallScript script_originate(const OriginatePlan& plan);

/// The events of one call. An empty `extensions` gives an empty script;
/// `answered_by` out of range is clamped to the last extension.
CallScript script_call(const CallPlan& plan);

/// Q.850 cause text as Asterisk prints it in `Cause-txt` (16 -> "Normal Clearing").
const char* cause_text(int cause) noexcept;
/// "Down", "Ring", "Ringing", "Up", ... for a ChannelState number.
const char* channel_state_desc(int state) noexcept;

/// "Timestamp:" value as Asterisk formats it: "1598887681.123000".
std::string format_ami_timestamp(Timestamp t);

}  // namespace ringside::sim
