#pragma once
// Blonde transfers as Asterisk 13 tells them over AMI, hand-built in its
// field layout (not captured): headers in the order Asterisk writes them
// (Event, Privilege, Timestamp, then the channel snapshots: Channel ...
// Linkedid), one call per scenario. Shared by the unit tests (messages
// through the mapper) and the integration test (the same bytes over a real
// AMI socket).
//
// The call: a customer (0912 123 4567) dials 500 on a trunk; alice (1001)
// answers, puts the customer on hold and calls from her phone, on a second
// call with its own Linkedid, either bob (1002) or the ring group 600 (bob
// and carol, 1003). While those phones still ring she completes the transfer
// (her phone sends the REFER) and hangs up. With `via_queue` the customer
// reaches her through queue "support" instead (QueueCallerJoin, AgentCalled,
// AgentConnect). What Asterisk 13 then sends,
// as recorded on real systems:
//  - AttendedTransfer with DestType App, DestApp Dial, the transferee's
//    snapshot, and no TransferTarget* and no SecondBridge* headers (the
//    consultation channel is in Dial, not in a bridge);
//  - the transferee is moved into the consultation channel's Dial, so for
//    each phone still ringing (the one dialled last first): DialEnd from the
//    consultation channel with DialStatus NOANSWER, then DialBegin from the
//    customer's channel (Linkedid of the customer's call) to the same phone
//    channel, which keeps the consultation call's Linkedid until it is bridged;
//  - the consultation channel hangs up (its own caller id again) and
//    alice's first channel hangs up;
//  - then the Dial ends as the customer's: ANSWER, BUSY (the target
//    rejects), NOANSWER (nobody answers before the Dial's timeout), or
//    CANCEL to every phone when the customer hangs up first.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ami_blonde {

using Fields = std::vector<std::pair<std::string, std::string>>;

/// One AMI event, `at` seconds after the customer's Newchannel.
struct Frame {
    int at = 0;
    Fields fields;
};

enum class Ending {
    answered,         // `answerer` answers
    rejected,         // the (single) target rejects: DialEnd BUSY, its channel hangs up with cause 17
    no_answer,        // nobody answers: the Dial times out (DialEnd NOANSWER, cause 19), the PBX ends the call
    caller_hangs_up,  // the customer hangs up while the phones ring (DialEnd CANCEL)
};

struct Plan {
    std::vector<std::string> targets;  // {"1002"} (alice dials bob) or {"1002", "1003"} (alice dials group 600)
    Ending ending = Ending::answered;
    std::string answerer = {};         // Ending::answered: which of the targets
    bool via_queue = false;            // the customer reaches alice through queue "support" (500 runs Queue)
    bool withheld = false;             // the customer's number comes with presentation prohibited (NewCallerid)
    /// The hand-over (DialEnd NOANSWER from the consultation channel, then
    /// the customer's DialBegin, per phone) is sent before the
    /// AttendedTransfer that explains it, as the stasis topics may order them.
    bool handover_first = false;
};

/// Linkedids: the customer's call and alice's consultation call.
inline const std::string customer_linkedid = "1700000000.1";
inline const std::string consultation_linkedid = "1700000000.3";

namespace detail {

struct Chan {
    std::string name, uid, linkedid, cid_num, cid_name, context, exten, priority;
};

inline std::string state_desc(int st) {
    switch (st) {
    case 0: return "Down";
    case 4: return "Ring";
    case 5: return "Ringing";
    case 6: return "Up";
    default: return "Unknown";
    }
}

inline std::string or_unknown(const std::string& v) { return v.empty() ? "<unknown>" : v; }

/// Asterisk 13's channel snapshot (ast_manager_build_channel_state_string_prefix).
inline void snapshot(Fields& f, const std::string& p, const Chan& c, int state, const std::string& conn_num = "",
                     const std::string& conn_name = "") {
    f.insert(f.end(), {{p + "Channel", c.name},
                       {p + "ChannelState", std::to_string(state)},
                       {p + "ChannelStateDesc", state_desc(state)},
                       {p + "CallerIDNum", or_unknown(c.cid_num)},
                       {p + "CallerIDName", or_unknown(c.cid_name)},
                       {p + "ConnectedLineNum", or_unknown(conn_num)},
                       {p + "ConnectedLineName", or_unknown(conn_name)},
                       {p + "Language", "en"},
                       {p + "AccountCode", ""},
                       {p + "Context", c.context},
                       {p + "Exten", c.exten},
                       {p + "Priority", c.priority},
                       {p + "Uniqueid", c.uid},
                       {p + "Linkedid", c.linkedid}});
}

inline void bridge(Fields& f, const std::string& p, const std::string& id, int members) {
    f.insert(f.end(), {{p + "BridgeUniqueid", id},
                       {p + "BridgeType", "basic"},
                       {p + "BridgeTechnology", "simple_bridge"},
                       {p + "BridgeCreator", "<unknown>"},
                       {p + "BridgeName", "<unknown>"},
                       {p + "BridgeNumChannels", std::to_string(members)},
                       {p + "BridgeVideoSourceMode", "none"}});
}

inline Fields head(const std::string& event) { return {{"Event", event}, {"Privilege", "call,all"}}; }

}  // namespace detail

/// The whole call, in the order Asterisk 13 sends it.
inline std::vector<Frame> blonde_transfer(const Plan& plan) {
    using detail::Chan;
    using detail::head;
    using detail::snapshot;
    const std::string L1 = customer_linkedid, L2 = consultation_linkedid;
    const bool group = plan.targets.size() > 1;
    const Chan trunk{"SIP/trunk-00000001", L1, L1, "09121234567", "", "from-trunk", "500", "1"};
    const Chan alice1{"SIP/1001-00000002", "1700000000.2", L1, "1001", "", "from-trunk", "1001", "1"};
    const Chan alice2{"SIP/1001-00000003", L2, L2, "1001", "Alice", "from-internal",
                      group ? "600" : plan.targets.at(0), "1"};
    std::vector<Chan> phones;
    for (std::size_t i = 0; i < plan.targets.size(); ++i) {
        const auto n = std::to_string(4 + i);
        phones.push_back(Chan{"SIP/" + plan.targets[i] + "-0000000" + n, "1700000000." + n, L2, plan.targets[i], "",
                              "from-internal", plan.targets[i], "1"});
    }
    // The customer's channel as it dials the phones after the transfer.
    Chan trunk_in_dial = trunk;
    trunk_in_dial.context = "from-internal";
    trunk_in_dial.exten = alice2.exten;
    // The consultation channel's snapshot in the DialEnds of the hand-over:
    // its name and ids, the customer's caller id (the masquerade swapped them).
    Chan alice2_swapped = alice2;
    alice2_swapped.cid_num = trunk.cid_num;
    alice2_swapped.cid_name = trunk.cid_name;

    std::vector<Frame> s;
    auto add = [&](int at, Fields f) { s.push_back(Frame{at, std::move(f)}); };
    auto ev = [&](int at, const std::string& name, const Chan& c, int st, Fields more = {}) {
        Fields f = head(name);
        snapshot(f, "", c, st);
        f.insert(f.end(), more.begin(), more.end());
        add(at, std::move(f));
    };
    auto dial = [&](int at, const std::string& name, const Chan& from, int from_st, const Chan& to, int to_st,
                    Fields tail) {
        Fields f = head(name);
        snapshot(f, "", from, from_st);
        snapshot(f, "Dest", to, to_st, from.cid_num, from.cid_name);
        f.insert(f.end(), tail.begin(), tail.end());
        add(at, std::move(f));
    };
    auto bridged = [&](int at, const std::string& name, const std::string& id, int members, const Chan& c) {
        Fields f = head(name);
        detail::bridge(f, "", id, members);
        snapshot(f, "", c, 6);
        add(at, std::move(f));
    };
    auto bridge_only = [&](int at, const std::string& name, const std::string& id) {
        Fields f = head(name);
        detail::bridge(f, "", id, 0);
        add(at, std::move(f));
    };
    auto hangup = [&](int at, const Chan& c, int st, int cause, const std::string& txt) {
        ev(at, "Hangup", c, st, {{"Cause", std::to_string(cause)}, {"Cause-txt", txt}});
    };

    // The customer's call: the trunk dials alice's phone, she answers.
    const std::string b1 = "5a3d0c51-7c0e-4d33-9f2b-0d6a1e9c0001", b2 = "5a3d0c51-7c0e-4d33-9f2b-0d6a1e9c0002";
    // The queue's member events: the caller's snapshot, the member's as Dest*.
    const Fields member = {{"Queue", "support"}, {"MemberName", "SIP/1001"}, {"Interface", "SIP/1001"}};
    ev(0, "Newchannel", trunk, 0);
    ev(0, "Newstate", trunk, 4);
    if (plan.withheld)
        ev(0, "NewCallerid", trunk, 4, {{"CID-CallingPres", "32 (Presentation Prohibited, Not Screened)"}});
    if (plan.via_queue) ev(1, "QueueCallerJoin", trunk, 4, {{"Queue", "support"}, {"Position", "1"}, {"Count", "1"}});
    ev(1, "Newchannel", alice1, 0);
    if (plan.via_queue) dial(1, "AgentCalled", trunk, 4, alice1, 0, member);
    dial(1, "DialBegin", trunk, 4, alice1, 0, {{"DialString", plan.via_queue ? "SIP/1001" : "1001"}});
    ev(1, "Newstate", alice1, 5);
    ev(5, "Newstate", alice1, 6);
    dial(5, "DialEnd", trunk, 4, alice1, 6, {{"DialStatus", "ANSWER"}});
    if (plan.via_queue) ev(5, "QueueCallerLeave", trunk, 4, {{"Queue", "support"}, {"Count", "0"}, {"Position", "1"}});
    ev(5, "Newstate", trunk, 6);
    bridge_only(5, "BridgeCreate", b1);
    bridged(5, "BridgeEnter", b1, 1, trunk);
    bridged(5, "BridgeEnter", b1, 2, alice1);
    if (plan.via_queue) {
        Fields connect = member;
        connect.insert(connect.end(), {{"HoldTime", "4"}, {"RingTime", "4"}});
        dial(5, "AgentConnect", trunk, 6, alice1, 6, connect);
    }

    // The consultation call: alice's phone dials bob, or the group.
    ev(7, "Newchannel", alice2, 0);
    ev(7, "Newstate", alice2, 4);
    for (std::size_t i = 0; i < phones.size(); ++i) {
        ev(8, "Newchannel", phones[i], 0);
        dial(8, "DialBegin", alice2, 4, phones[i], 0, {{"DialString", plan.targets[i]}});
    }
    for (const auto& p : phones) ev(9, "Newstate", p, 5);

    auto handover = [&] {
        for (std::size_t i = phones.size(); i-- > 0;) {
            dial(11, "DialEnd", alice2_swapped, 4, phones[i], 5, {{"DialStatus", "NOANSWER"}});
            dial(11, "DialBegin", trunk_in_dial, 6, phones[i], 5, {{"DialString", plan.targets[i]}});
        }
    };
    if (plan.handover_first) handover();

    // The blonde transfer.
    {
        Fields f = head("AttendedTransfer");
        f.push_back({"Result", "Success"});
        snapshot(f, "OrigTransferer", alice1, 6);
        detail::bridge(f, "Orig", b1, 2);
        snapshot(f, "SecondTransferer", alice2, 4);
        snapshot(f, "Transferee", trunk, 6);
        f.insert(f.end(), {{"IsExternal", "No"}, {"DestType", "App"}, {"DestApp", "Dial"}});
        add(11, std::move(f));
    }
    bridged(11, "BridgeLeave", b1, 1, alice1);
    if (plan.ending == Ending::rejected) hangup(11, alice1, 6, 16, "Normal Clearing");
    bridged(11, "BridgeLeave", b1, 0, trunk);
    bridge_only(11, "BridgeDestroy", b1);
    if (!plan.handover_first) handover();
    hangup(12, alice2, 4, 16, "Normal Clearing");
    if (plan.ending != Ending::rejected) hangup(12, alice1, 6, 16, "Normal Clearing");

    switch (plan.ending) {
    case Ending::answered: {
        std::size_t who = 0;
        while (who < phones.size() && plan.targets[who] != plan.answerer) ++who;
        Chan answerer = phones.at(who);
        ev(15, "Newstate", answerer, 6);
        dial(15, "DialEnd", trunk_in_dial, 6, answerer, 6, {{"DialStatus", "ANSWER"}});
        for (std::size_t i = 0; i < phones.size(); ++i) {
            if (i == who) continue;
            dial(15, "DialEnd", trunk_in_dial, 6, phones[i], 5, {{"DialStatus", "CANCEL"}});
            hangup(15, phones[i], 5, 26, "Answered elsewhere");
        }
        answerer.linkedid = L1;  // bridged with the customer: their call's Linkedid from now on
        bridge_only(15, "BridgeCreate", b2);
        bridged(15, "BridgeEnter", b2, 1, trunk_in_dial);
        bridged(15, "BridgeEnter", b2, 2, answerer);
        bridged(40, "BridgeLeave", b2, 1, answerer);
        hangup(40, answerer, 6, 16, "Normal Clearing");
        bridged(40, "BridgeLeave", b2, 0, trunk_in_dial);
        bridge_only(40, "BridgeDestroy", b2);
        hangup(40, trunk_in_dial, 6, 16, "Normal Clearing");
        break;
    }
    case Ending::rejected:
        dial(14, "DialEnd", trunk_in_dial, 6, phones.at(0), 5, {{"DialStatus", "BUSY"}});
        hangup(14, phones.at(0), 5, 17, "User busy");
        hangup(14, trunk_in_dial, 6, 17, "User busy");
        break;
    case Ending::no_answer:
        for (const auto& p : phones) {
            dial(30, "DialEnd", trunk_in_dial, 6, p, 5, {{"DialStatus", "NOANSWER"}});
            hangup(30, p, 5, 19, "User alerting, no answer");
        }
        hangup(30, trunk_in_dial, 6, 16, "Normal Clearing");
        break;
    case Ending::caller_hangs_up:
        for (const auto& p : phones) {
            dial(20, "DialEnd", trunk_in_dial, 6, p, 5, {{"DialStatus", "CANCEL"}});
            hangup(20, p, 5, 16, "Normal Clearing");
        }
        hangup(20, trunk_in_dial, 6, 16, "Normal Clearing");
        break;
    }
    return s;
}

/// The frames as AMI wire bytes from an Asterisk with timestampevents=yes:
/// `Timestamp:` after Privilege, `epoch` seconds (Unix time) at frame time 0.
inline std::string wire(const std::vector<Frame>& frames, std::int64_t epoch) {
    std::string out;
    for (const auto& f : frames) {
        for (std::size_t i = 0; i < f.fields.size(); ++i) {
            out += f.fields[i].first + ": " + f.fields[i].second + "\r\n";
            if (i == 1) out += "Timestamp: " + std::to_string(epoch + f.at) + ".000000\r\n";
        }
        out += "\r\n";
    }
    return out;
}

}  // namespace ami_blonde
