#pragma once
// Turns FreeSWITCH channel events (text/event-plain, already %-decoded by the
// reader) into PBX-neutral events (ringside/core/pbx_event.hpp). Sans-I/O.
//
//  CHANNEL_CREATE                         -> ChannelCreated
//  CHANNEL_CALLSTATE, CHANNEL_STATE,
//  CHANNEL_PROGRESS(_MEDIA), CHANNEL_ANSWER -> ChannelUpdated
//  CHANNEL_BRIDGE / CHANNEL_UNBRIDGE      -> BridgeLink (Bridge-A/B-Unique-ID)
//  CHANNEL_HANGUP(_COMPLETE)              -> Hangup (Hangup-Cause as Q.850)
//
// A leg that hung up is over: the CHANNEL_CALLSTATE (HANGUP -> DOWN, state
// CS_DESTROY) and CHANNEL_DESTROY FreeSWITCH sends as the session is
// destroyed, or any other event naming it later, give nothing (the last
// RecentIds' worth of hung-up legs are remembered).
//
// Leg linking: Channel-Call-UUID is FreeSWITCH's call id (the a-leg's
// Unique-ID on every leg) and becomes linkedid. An outbound leg that names
// its a-leg (Other-Type: originator + Other-Leg-Unique-ID, or a Call-UUID
// that is another known channel) was dialled by it: the first such event also
// gives a DialBegin, which is what makes the call tracker ring the b-leg's
// extension ("sofia/internal/1001@..." rings 1001).
//
// Channel state: FreeSWITCH says RINGING/EARLY for both an inbound call that
// is ringing the switch and a phone that is ringing; the Asterisk vocabulary
// splits them as `ring` (inbound: the caller) and `ringing` (outbound: the
// phone being rung), and so does this mapper, by Call-Direction.
//
// Transfers and queues (transfer_mapper.cpp) -> pbx::Transfer, QueueJoin,
// QueueAbandon, AgentConnect, DialBegin:
//  - blind: a new `bl_xfer` entry in a channel's variable_transfer_history
//    (the channel was transferred; its bridge partner transferred it), or
//    CHANNEL_EXECUTE of `transfer -bleg ...`, `deflect` or `att_xfer` (the
//    executing channel transfers its partner);
//  - attended (REFER with Replaces): CUSTOM sofia::transferor (Unique-ID is
//    the transferor's leg, att_xfer_destination_peer_uuid the target's),
//    sofia::transferee, sofia::replaced (att_xfer_replaced_by), and the
//    CHANNEL_BRIDGE that joins legs of two different calls, naming as
//    transferer the phone either leg was bridged to before;
//  - mod_callcenter (CUSTOM callcenter::info, CC-Action member-queue-start /
//    member-queue-end / bridge-agent-start): the member's queue; an agent leg
//    (variable_cc_member_session_uuid) is dialled by the member's session.
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringside/core/pbx_event.hpp"
#include "ringside/core/recent_ids.hpp"
#include "ringside/esl/reader.hpp"

namespace ringside::esl {

/// FreeSWITCH Hangup-Cause name -> Q.850 cause ("NORMAL_CLEARING" -> 16,
/// "USER_BUSY" -> 17, "NO_ANSWER" -> 19, "CALL_REJECTED" -> 21). FreeSWITCH's
/// own causes map to the nearest Q.850 meaning (ORIGINATOR_CANCEL -> 16, the
/// caller gave up; LOSE_RACE/PICKED_OFF -> 26, answered elsewhere); unknown -> 0.
int q850_cause(std::string_view name) noexcept;

class EventMapper {
public:
    explicit EventMapper(PbxId pbx);

    /// received_at is used when the event has no Event-Date-Timestamp.
    /// Events Ringside has no use for give an empty vector.
    std::vector<pbx::Event> map(const Event& e, Timestamp received_at);

    /// The body of `api show channels as json`: one ChannelCreated (listed)
    /// per row. Invalid JSON gives nothing and sets *error (if given).
    std::vector<pbx::Event> map_channel_list(std::string_view json, Timestamp now, std::string* error = nullptr);

    /// Forget per-channel bookkeeping (after a reconnect).
    void reset();
    std::size_t tracked_channels() const noexcept { return channels_.size(); }

private:
    struct Known {
        pbx::ChannelInfo info;
        bool dial_reported = false;  // this leg's DialBegin was emitted (or it needs none)
        // Transfers (transfer_mapper.cpp): the leg bridged to this one now, the
        // last one it was bridged to (kept after that leg is gone), and how
        // many transfer_history entries were seen.
        std::string partner = {};
        std::string last_partner = {};
        std::size_t transfers_seen = 0;
        bool queue_leg = false;  // a mod_callcenter agent leg: linkedid is the member's call
    };
    /// Transfer and queue evidence of one event, before its channel mapping.
    void map_transfers(const Event& e, Timestamp at, std::vector<pbx::Event>& out);
    void map_callcenter(const Event& e, Timestamp at, std::vector<pbx::Event>& out);
    void maybe_dial(const Event& e, Known& k, std::vector<pbx::Event>& out, Timestamp at);

    PbxId pbx_;
    std::unordered_map<std::string, Known> channels_;  // Unique-ID -> last info; Hangup forgets
    RecentIds hung_up_;  // legs that hung up lately; kept across reset(): they stay over
};

}  // namespace ringside::esl
