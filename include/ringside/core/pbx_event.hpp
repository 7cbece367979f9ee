#pragma once
// What any PBX adapter reports, in the PBX-neutral vocabulary of channels,
// dials and bridges. Adapters translate their protocol into these; the call
// tracker turns them into calls. Every event names the channel by the PBX's
// unique id (Asterisk Uniqueid, FreeSWITCH Unique-ID).
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ringside/core/strong_typedef.hpp"
#include "ringside/core/time.hpp"

namespace ringside::pbx {

/// Channel state as PBXs report it (Asterisk ChannelState numbers 0..10).
enum class ChannelState { down, reserved, offhook, dialing, ring, ringing, up, busy, unknown };

struct ChannelInfo {
    std::string uniqueid;       // never parsed as a number; may carry "system-" prefix
    std::string linkedid;       // "" when the PBX does not send one (Asterisk < 12)
    std::string channel;        // "SIP/1001-0000001a", "Local/200@ctx-00000002;1", ...
    std::string caller_num;     // CallerIDNum ("" for <unknown>)
    std::string caller_name;    // CallerIDName ("" for <unknown>)
    std::string connected_num;  // ConnectedLineNum ("" for <unknown>)
    std::string connected_name;
    std::string exten;          // dialplan extension the channel is at
    std::string context;
    ChannelState state = ChannelState::unknown;
    /// The PBX's word on the caller id's presentation: true when it is
    /// withheld (AMI presentation "Prohibited"/"Unavailable", FreeSWITCH
    /// Caller-Privacy-Hide-Number, SIP Privacy: id, an anonymous From), false
    /// when allowed, unset when this event does not say (the last word holds).
    /// A withheld caller is never shown or matched, whatever caller_num holds.
    std::optional<bool> caller_withheld = std::nullopt;
};

/// A channel came into being (Newchannel), or was listed by a resync.
struct ChannelCreated {
    ChannelInfo ch;
    /// true: listed by a resync (CoreShowChannel), so it may have been up for
    /// a while; false: a live Newchannel, even one that arrives mid-resync.
    bool listed = false;
};
/// State, caller id or connected line changed (Newstate, NewCallerid, NewConnectedLine).
struct ChannelUpdated { ChannelInfo ch; };
/// A channel's name changed (Rename, pre-12 masquerades).
struct ChannelRenamed { std::string uniqueid; std::string new_channel; };
/// One channel started dialling another (DialBegin, Dial SubEvent Begin).
struct DialBegin {
    ChannelInfo caller;         // may be empty (uniqueid "") for Originate
    ChannelInfo dest;
    std::string dialstring;     // "1001", "SIP/1001", ...
};
enum class DialStatus { answer, cancel, busy, noanswer, chanunavail, congestion, dontcall, torture, invalid, other };
/// Dial finished (DialEnd, Dial SubEvent End).
struct DialEnd {
    std::string caller_uniqueid;
    std::string dest_uniqueid;
    DialStatus status = DialStatus::other;
    std::string forward = {};  // set when the dialled phone forwarded the call (SIP 302): where to
};
/// The two halves of a Local channel (";1" and ";2") were tied (LocalBridge).
struct LocalPair { std::string uniqueid1; std::string uniqueid2; };
/// A channel entered or left a bridge (BridgeEnter/Leave; pre-12 Bridge Link/Unlink with two channels).
struct BridgeEnter { std::string bridge_id; std::string uniqueid; };
struct BridgeLeave { std::string bridge_id; std::string uniqueid; };
/// Pre-12 Bridge Link: both channels at once.
struct BridgeLink { std::string uniqueid1; std::string uniqueid2; bool linked = true; };
/// The channel hung up (Hangup). cause is Q.850 (16 normal, 17 busy, 19 no answer, 21 rejected...).
/// order_known false: the adapter emits a call's hangups in an order of its
/// own (a webhook end without `hangup_by`), so their order says nothing of
/// who hung up first.
struct Hangup { std::string uniqueid; int cause = 0; std::string cause_txt; bool order_known = true; };
/// Who asked for a channel's hangup, when the PBX says so; sent before that
/// channel's Hangup. by_pbx false: the party on this channel hung up (AMI
/// HangupRequest, ESL recv_bye/recv_cancel/recv_refuse, SIP CANCEL or BYE
/// from the caller, webhook `hangup_by`); true: the PBX ended the channel
/// (AMI SoftHangupRequest, ESL send_bye/send_cancel/send_refuse, max ring).
struct HangupRequest { std::string uniqueid; bool by_pbx = false; };
/// Queue events (QueueCallerJoin/Leave/Abandon, Join/Leave before 12).
struct QueueJoin { std::string uniqueid; std::string queue; int position = 0; };
struct QueueLeave { std::string uniqueid; std::string queue; };
struct QueueAbandon { std::string uniqueid; std::string queue; int hold_seconds = 0; };
/// A queue member's device was called / connected (AgentCalled/AgentConnect).
struct AgentCalled { std::string caller_uniqueid; std::string dest_uniqueid; std::string interface; std::string queue; };
struct AgentConnect { std::string caller_uniqueid; std::string dest_uniqueid; std::string interface; std::string queue; int hold_seconds = 0; };
/// Transfers (BlindTransfer / AttendedTransfer); details kept for the tracker.
struct Transfer {
    bool attended = false;
    std::string transferer_uniqueid;    // the agent's channel that transferred
    std::string transferee_uniqueid;    // the channel being transferred (the caller)
    std::string target_uniqueid;        // attended: the consultation call's other party
    std::string target_exten;           // blind: the extension transferred to
    /// The transferer's extension when the adapter knows no channel of it
    /// (SIP: the Referred-By user of the transferee's INVITE, RFC 3892).
    /// Used only when transferer_uniqueid names no channel, live or gone.
    std::string transferer_exten = {};
    /// Attended into an application (AMI DestType App): the transferee took
    /// the place of the consultation channel (target_uniqueid) in the
    /// application it runs. When that is a Dial still ringing (a blonde
    /// transfer), the PBX ends that channel's dials as not answered and dials
    /// the same phones again from the transferee: those phones keep ringing
    /// for the transferee's call and are not withdrawn in between.
    bool dial_moved = false;
};
/// A phone took over a call ringing elsewhere (AMI Pickup: group pickup `*8`
/// or directed pickup). The picker's channel, which dialled the pickup code as
/// a call of its own, becomes the answering leg of the target's call.
struct Pickup {
    std::string picker_uniqueid;  // the phone that picked up
    std::string target_uniqueid;  // the ringing channel it took the call from
};
/// After every (re)login the adapter lists the channels that exist right now:
/// ResyncBegin, then ChannelCreated for each, then ResyncEnd. Channels the
/// tracker holds that were not listed have gone while the link was down.
struct ResyncBegin {};
struct ResyncEnd {};
/// The PBX link went down; nothing is known until the next resync.
struct LinkDown {};

using Payload = std::variant<ChannelCreated, ChannelUpdated, ChannelRenamed, DialBegin, DialEnd, LocalPair,
                             BridgeEnter, BridgeLeave, BridgeLink, Hangup, QueueJoin, QueueLeave, QueueAbandon,
                             AgentCalled, AgentConnect, Transfer, Pickup, ResyncBegin, ResyncEnd, LinkDown,
                             HangupRequest>;

struct Event {
    PbxId pbx;
    Timestamp at{};   // when the PBX says it happened, else when Ringside received it
    Payload payload;
};

/// "SIP/1001-0000001a" -> "1001"; "PJSIP/1001-00000002" -> "1001"; "IAX2/1001-123" -> "1001".
/// Local, Bridge, Message and other non-device channels -> nullopt.
/// FreeSWITCH "sofia/internal/1001@10.0.0.1" (or ".../sip:1001@host:5060") -> "1001";
/// "sofia/gateway/<gw>/<number>" and "loopback/..." -> nullopt.
std::optional<Extension> device_extension(std::string_view channel);
/// "Local/200@ctx-00000002;1" -> true
bool is_local_channel(std::string_view channel);

}  // namespace ringside::pbx
