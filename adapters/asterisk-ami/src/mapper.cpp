#include "ringside/ami/mapper.hpp"

#include <algorithm>
#include <charconv>

namespace ringside::ami {
namespace {

constexpr std::size_t max_tracked_channels = 100000;  // far beyond any PBX; a bound, not a tuning knob
constexpr std::size_t max_tracked_bridges = 20000;
constexpr std::size_t max_members_per_bridge = 64;

std::string header(const Message& m, std::string_view prefix, std::string_view key) {
    if (prefix.empty()) return std::string(m.get(key));
    std::string k;
    k.reserve(prefix.size() + key.size());
    k.append(prefix).append(key);
    return std::string(m.get(k));
}

/// Asterisk writes "<unknown>" where a caller id is not set.
std::string caller_id(std::string v) { return v == "<unknown>" ? std::string{} : v; }

bool contains_word(std::string_view text, std::string_view word) {
    for (std::size_t i = 0; i + word.size() <= text.size(); ++i)
        if (iequals(text.substr(i, word.size()), word)) return true;
    return false;
}

/// A presentation field: "32 (Presentation Prohibited, Not Screened)" (NewCallerid
/// CID-CallingPres), "prohib_not_screened" (a CALLERPRES() name), or the number alone.
/// Q.931 bits 6-5 of the number: 00 allowed, 01 restricted, 10 not available.
std::optional<bool> withheld_presentation(std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    if (v.empty()) return std::nullopt;
    int n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc{} && p != v.data()) return (n & 0x60) != 0;
    if (contains_word(v, "prohib") || contains_word(v, "restrict") || contains_word(v, "unavailable"))
        return true;
    if (contains_word(v, "allowed")) return false;
    return std::nullopt;
}

int to_int(std::string_view s, int fallback = 0) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    int v = fallback;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{}) return fallback;
    (void)p;
    return v;
}

pbx::ChannelState state_from_number(int n) {
    switch (n) {
    case 0: return pbx::ChannelState::down;
    case 1: return pbx::ChannelState::reserved;
    case 2: return pbx::ChannelState::offhook;
    case 3: return pbx::ChannelState::dialing;
    case 4: return pbx::ChannelState::ring;
    case 5: return pbx::ChannelState::ringing;
    case 6: return pbx::ChannelState::up;
    case 7: return pbx::ChannelState::busy;
    case 8: return pbx::ChannelState::dialing;  // "Dialing Offhook"
    case 9: return pbx::ChannelState::ring;     // "Pre-ring": not yet ringing the device
    default: return pbx::ChannelState::unknown;
    }
}

/// Old Asterisk (1.4) sent only the description, in `State`.
pbx::ChannelState state_from_desc(std::string_view d) {
    if (iequals(d, "Down")) return pbx::ChannelState::down;
    if (iequals(d, "Rsrvd")) return pbx::ChannelState::reserved;
    if (iequals(d, "OffHook")) return pbx::ChannelState::offhook;
    if (iequals(d, "Dialing") || iequals(d, "Dialing Offhook")) return pbx::ChannelState::dialing;
    if (iequals(d, "Ring") || iequals(d, "Pre-ring")) return pbx::ChannelState::ring;
    if (iequals(d, "Ringing")) return pbx::ChannelState::ringing;
    if (iequals(d, "Up")) return pbx::ChannelState::up;
    if (iequals(d, "Busy")) return pbx::ChannelState::busy;
    return pbx::ChannelState::unknown;
}

pbx::ChannelState channel_state(const Message& m, std::string_view prefix) {
    auto num = header(m, prefix, "ChannelState");
    if (!num.empty()) return state_from_number(to_int(num, -1));
    auto desc = header(m, prefix, "ChannelStateDesc");
    if (desc.empty() && prefix.empty()) desc = std::string(m.get("State"));
    return state_from_desc(desc);
}

/// The channel snapshot Asterisk 12+ writes with a key prefix ("", "Dest",
/// "Transferee", "LocalOne", ...); older versions write the same keys unprefixed.
pbx::ChannelInfo channel_info(const Message& m, std::string_view prefix) {
    pbx::ChannelInfo ch;
    ch.uniqueid = header(m, prefix, "Uniqueid");
    ch.linkedid = header(m, prefix, "Linkedid");
    ch.channel = header(m, prefix, "Channel");
    ch.caller_num = caller_id(header(m, prefix, "CallerIDNum"));
    ch.caller_name = caller_id(header(m, prefix, "CallerIDName"));
    ch.connected_num = caller_id(header(m, prefix, "ConnectedLineNum"));
    ch.connected_name = caller_id(header(m, prefix, "ConnectedLineName"));
    ch.exten = header(m, prefix, "Exten");
    ch.context = header(m, prefix, "Context");
    ch.state = channel_state(m, prefix);
    // NewCallerid says it as CID-CallingPres; other events and versions name
    // the caller id number's presentation.
    for (std::string_view key : {"CID-CallingPres", "CallerIDNumPres", "CallerIDPres", "CallingPres"})
        if (auto w = withheld_presentation(header(m, prefix, key))) {
            ch.caller_withheld = w;
            break;
        }
    return ch;
}

pbx::DialStatus dial_status(std::string_view s) {
    if (iequals(s, "ANSWER")) return pbx::DialStatus::answer;
    if (iequals(s, "CANCEL")) return pbx::DialStatus::cancel;
    if (iequals(s, "BUSY")) return pbx::DialStatus::busy;
    if (iequals(s, "NOANSWER")) return pbx::DialStatus::noanswer;
    if (iequals(s, "CHANUNAVAIL")) return pbx::DialStatus::chanunavail;
    if (iequals(s, "CONGESTION")) return pbx::DialStatus::congestion;
    if (iequals(s, "DONTCALL")) return pbx::DialStatus::dontcall;
    if (iequals(s, "TORTURE")) return pbx::DialStatus::torture;
    if (iequals(s, "INVALIDARGS")) return pbx::DialStatus::invalid;
    return pbx::DialStatus::other;
}

}  // namespace

EventMapper::EventMapper(PbxId pbx) : pbx_(std::move(pbx)) {}

void EventMapper::reset() {
    uniqueid_by_channel_.clear();
    dialled_by_caller_.clear();
    bridges_.clear();
    bridge_seq_ = 0;
}

std::vector<pbx::Event> EventMapper::map(const Message& m, Timestamp received_at) {
    std::vector<pbx::Event> out;
    const std::string_view ev = m.event();
    if (ev.empty()) return out;

    Timestamp at = received_at;
    if (auto ts = m.get("Timestamp"); !ts.empty())
        if (auto parsed = parse_epoch_seconds(ts)) at = *parsed;
    auto emit = [&](pbx::Payload p) { out.push_back(pbx::Event{pbx_, at, std::move(p)}); };

    // Pre-12 events name channels; keep name -> uniqueid for those.
    auto remember = [&](const pbx::ChannelInfo& ch) {
        if (ch.channel.empty() || ch.uniqueid.empty()) return;
        if (uniqueid_by_channel_.size() >= max_tracked_channels) uniqueid_by_channel_.clear();
        uniqueid_by_channel_[ch.channel] = ch.uniqueid;
    };
    auto uniqueid_of = [&](const std::string& channel) -> std::string {
        auto it = uniqueid_by_channel_.find(channel);
        return it == uniqueid_by_channel_.end() ? std::string{} : it->second;
    };

    if (iequals(ev, "Newchannel") || iequals(ev, "CoreShowChannel")) {
        auto ch = channel_info(m, "");
        remember(ch);
        emit(pbx::ChannelCreated{std::move(ch), iequals(ev, "CoreShowChannel")});
    } else if (iequals(ev, "Newstate") || iequals(ev, "NewCallerid") || iequals(ev, "NewConnectedLine")) {
        auto ch = channel_info(m, "");
        remember(ch);
        emit(pbx::ChannelUpdated{std::move(ch)});
    } else if (iequals(ev, "DialBegin")) {
        pbx::DialBegin d{channel_info(m, ""), channel_info(m, "Dest"), std::string(m.get("DialString"))};
        emit(std::move(d));
    } else if (iequals(ev, "DialEnd")) {
        emit(pbx::DialEnd{std::string(m.get("Uniqueid")), std::string(m.get("DestUniqueid")),
                          dial_status(m.get("DialStatus")), std::string(m.get("Forward"))});
    } else if (iequals(ev, "Dial")) {
        // Before 12: SubEvent Begin/End (1.6-11); 1.4 had no SubEvent and Src* keys.
        const auto sub = m.get("SubEvent");
        if (sub.empty() || iequals(sub, "Begin")) {
            pbx::DialBegin d;
            d.caller = channel_info(m, "");
            if (d.caller.uniqueid.empty()) d.caller.uniqueid = std::string(m.get("SrcUniqueID"));
            if (d.caller.channel.empty()) d.caller.channel = std::string(m.get("Source"));
            d.dest.channel = std::string(m.get("Destination"));
            d.dest.uniqueid = std::string(m.get("DestUniqueID"));
            if (d.dest.uniqueid.empty()) d.dest.uniqueid = uniqueid_of(d.dest.channel);
            d.dialstring = std::string(m.get("Dialstring"));
            remember(d.caller);
            remember(d.dest);
            if (!d.caller.uniqueid.empty()) {
                if (dialled_by_caller_.size() >= max_tracked_channels) dialled_by_caller_.clear();
                dialled_by_caller_[d.caller.uniqueid] = d.dest.uniqueid;
            }
            emit(std::move(d));
        } else if (iequals(sub, "End")) {
            pbx::DialEnd d;
            d.caller_uniqueid = std::string(m.get("Uniqueid"));
            if (d.caller_uniqueid.empty()) d.caller_uniqueid = uniqueid_of(std::string(m.get("Channel")));
            if (auto it = dialled_by_caller_.find(d.caller_uniqueid); it != dialled_by_caller_.end()) {
                d.dest_uniqueid = it->second;
                dialled_by_caller_.erase(it);
            }
            d.status = dial_status(m.get("DialStatus"));
            emit(std::move(d));
        }
    } else if (iequals(ev, "LocalBridge")) {
        // 12+: LocalOne*/LocalTwo* snapshots; before: Uniqueid1/Uniqueid2.
        std::string one(m.get("LocalOneUniqueid")), two(m.get("LocalTwoUniqueid"));
        if (one.empty()) one = std::string(m.get("Uniqueid1"));
        if (two.empty()) two = std::string(m.get("Uniqueid2"));
        emit(pbx::LocalPair{std::move(one), std::move(two)});
    } else if (iequals(ev, "BridgeEnter") || iequals(ev, "BridgeLeave")) {
        const bool enter = iequals(ev, "BridgeEnter");
        std::string bridge(m.get("BridgeUniqueid")), uid(m.get("Uniqueid"));
        if (!bridge.empty() && !uid.empty()) {
            if (bridges_.size() >= max_tracked_bridges && !bridges_.count(bridge)) bridges_.clear();
            auto& members = bridges_[bridge];
            auto it = std::find_if(members.begin(), members.end(), [&](const BridgeMember& b) { return b.uniqueid == uid; });
            if (it == members.end()) {
                if (members.size() >= max_members_per_bridge) members.erase(members.begin());
                members.push_back(BridgeMember{uid, enter, ++bridge_seq_});
            } else {
                it->present = enter;
                it->seq = ++bridge_seq_;
            }
        }
        if (enter)
            emit(pbx::BridgeEnter{std::move(bridge), std::move(uid)});
        else
            emit(pbx::BridgeLeave{std::move(bridge), std::move(uid)});
    } else if (iequals(ev, "BridgeDestroy")) {
        bridges_.erase(std::string(m.get("BridgeUniqueid")));
    } else if (iequals(ev, "Bridge") || iequals(ev, "Link") || iequals(ev, "Unlink")) {
        // Before 12: Bridge with Bridgestate Link/Unlink (1.4: separate Link/Unlink events).
        const bool linked = iequals(ev, "Link") || (iequals(ev, "Bridge") && iequals(m.get("Bridgestate"), "Link"));
        std::string u1(m.get("Uniqueid1")), u2(m.get("Uniqueid2"));
        if (u1.empty()) u1 = uniqueid_of(std::string(m.get("Channel1")));
        if (u2.empty()) u2 = uniqueid_of(std::string(m.get("Channel2")));
        emit(pbx::BridgeLink{std::move(u1), std::move(u2), linked});
    } else if (iequals(ev, "Hangup")) {
        std::string uid(m.get("Uniqueid"));
        if (auto ch = m.get("Channel"); !ch.empty()) {
            auto it = uniqueid_by_channel_.find(std::string(ch));
            if (it != uniqueid_by_channel_.end() && it->second == uid) uniqueid_by_channel_.erase(it);
        }
        dialled_by_caller_.erase(uid);
        emit(pbx::Hangup{std::move(uid), to_int(m.get("Cause")), std::string(m.get("Cause-txt"))});
    } else if (iequals(ev, "HangupRequest") || iequals(ev, "SoftHangupRequest")) {
        // Hang-up side (issue 4): HangupRequest is queued by the channel
        // driver when the channel's party hangs up (SIP BYE/CANCEL);
        // SoftHangupRequest when Asterisk itself ends the channel.
        emit(pbx::HangupRequest{std::string(m.get("Uniqueid")), iequals(ev, "SoftHangupRequest")});
    } else if (iequals(ev, "QueueCallerJoin") || iequals(ev, "Join")) {
        emit(pbx::QueueJoin{std::string(m.get("Uniqueid")), std::string(m.get("Queue")), to_int(m.get("Position"))});
    } else if (iequals(ev, "QueueCallerLeave") || iequals(ev, "Leave")) {
        emit(pbx::QueueLeave{std::string(m.get("Uniqueid")), std::string(m.get("Queue"))});
    } else if (iequals(ev, "QueueCallerAbandon")) {
        emit(pbx::QueueAbandon{std::string(m.get("Uniqueid")), std::string(m.get("Queue")), to_int(m.get("HoldTime"))});
    } else if (iequals(ev, "AgentCalled") || iequals(ev, "AgentConnect")) {
        // 12+: caller snapshot unprefixed, the member's channel as Dest*.
        // Before 12: AgentCalled names the member channel (DestinationChannel,
        // AgentCalled); AgentConnect gives the member channel and BridgedChannel.
        std::string caller(m.get("Uniqueid"));
        std::string dest(m.get("DestUniqueid"));
        std::string iface(m.get("Interface"));
        if (iface.empty()) iface = std::string(m.get(iequals(ev, "AgentCalled") ? "AgentCalled" : "Member"));
        if (dest.empty()) {
            std::string ch(m.get("DestinationChannel"));
            if (ch.empty()) ch = std::string(m.get("DestChannel"));
            if (ch.empty() && iequals(ev, "AgentConnect")) ch = std::string(m.get("Channel"));
            dest = uniqueid_of(ch);
        }
        if (iequals(ev, "AgentConnect") && dest.empty()) dest = std::string(m.get("BridgedChannel"));
        if (iequals(ev, "AgentCalled"))
            emit(pbx::AgentCalled{std::move(caller), std::move(dest), std::move(iface), std::string(m.get("Queue"))});
        else
            emit(pbx::AgentConnect{std::move(caller), std::move(dest), std::move(iface), std::string(m.get("Queue")),
                                   to_int(m.get("HoldTime"))});
    } else if (iequals(ev, "BlindTransfer")) {
        pbx::Transfer t;
        t.attended = false;
        t.transferer_uniqueid = std::string(m.get("TransfererUniqueid"));
        t.transferee_uniqueid = std::string(m.get("TransfereeUniqueid"));
        t.target_exten = std::string(m.get("Extension"));
        emit(std::move(t));
    } else if (iequals(ev, "AttendedTransfer")) {
        pbx::Transfer t;
        t.attended = true;
        t.transferer_uniqueid = std::string(m.get("OrigTransfererUniqueid"));
        const std::string second(m.get("SecondTransfererUniqueid"));
        // Newer versions name both parties; older ones leave us the bridges:
        // the transferee is whoever was last with the transferer in the
        // original bridge, the target whoever else is in the second one.
        auto last_other_in = [&](std::string_view bridge, const std::string& not1, const std::string& not2) {
            std::string best;
            bool best_present = false;
            unsigned long long best_seq = 0;
            auto it = bridges_.find(std::string(bridge));
            if (it == bridges_.end()) return best;
            for (const auto& b : it->second) {
                if (b.uniqueid == not1 || b.uniqueid == not2) continue;
                if (best.empty() || (b.present && !best_present) || (b.present == best_present && b.seq > best_seq)) {
                    best = b.uniqueid;
                    best_present = b.present;
                    best_seq = b.seq;
                }
            }
            return best;
        };
        t.transferee_uniqueid = std::string(m.get("TransfereeUniqueid"));
        if (t.transferee_uniqueid.empty())
            t.transferee_uniqueid = last_other_in(m.get("OrigBridgeUniqueid"), t.transferer_uniqueid, second);
        t.target_uniqueid = std::string(m.get("TransferTargetUniqueid"));
        if (t.target_uniqueid.empty())
            t.target_uniqueid = last_other_in(m.get("SecondBridgeUniqueid"), second, t.transferee_uniqueid);
        // DestType App: the consultation channel was still in an application
        // (DestApp Dial: its phones still ring, a blonde transfer) and the
        // transferee takes its place there. Asterisk 13 names no target then;
        // the consultation channel stands for it: the transferer channel with
        // no bridge header (the second one, or the original one when the agent
        // placed that call before taking the one they transfer). Its dials
        // move to the transferee (DialEnd NOANSWER from it, then a DialBegin
        // from the transferee to each phone).
        if (iequals(m.get("DestType"), "App")) {
            t.dial_moved = true;
            if (t.target_uniqueid.empty())
                t.target_uniqueid = !m.get("SecondBridgeUniqueid").empty() && m.get("OrigBridgeUniqueid").empty()
                                        ? t.transferer_uniqueid
                                        : second;
        }
        emit(std::move(t));
    } else if (iequals(ev, "Pickup")) {
        // 12+: the picking channel unprefixed, the channel picked up as Target*.
        emit(pbx::Pickup{std::string(m.get("Uniqueid")), std::string(m.get("TargetUniqueid"))});
    } else if (iequals(ev, "Rename")) {
        std::string uid(m.get("Uniqueid"));
        std::string new_name(m.get("Newname"));
        if (uid.empty()) uid = uniqueid_of(std::string(m.get("Channel")));  // 1.4: Oldname/Newname
        if (uid.empty()) uid = uniqueid_of(std::string(m.get("Oldname")));
        uniqueid_by_channel_.erase(std::string(m.get("Channel")));
        if (!uid.empty() && !new_name.empty()) uniqueid_by_channel_[new_name] = uid;
        emit(pbx::ChannelRenamed{std::move(uid), std::move(new_name)});
    } else if (iequals(ev, "Masquerade")) {
        // Before 12 the Original channel keeps its uniqueid and takes the
        // Clone's name; the Rename events that follow say the same.
        std::string uid = uniqueid_of(std::string(m.get("Original")));
        std::string clone(m.get("Clone"));
        if (!uid.empty() && !clone.empty()) emit(pbx::ChannelRenamed{std::move(uid), std::move(clone)});
    }
    return out;
}

}  // namespace ringside::ami
