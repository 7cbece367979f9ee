// How calls really flow on FreeSWITCH, table-driven like the AMI ones
// (call_pickup_forward_test, call_fixtures_test): each scenario is played as
// `event plain` wire bytes (esl_flow_script.hpp) through the real reader,
// the real ESL mapper and the call service on a real SQLite file. For each:
// who got a pop, who got it withdrawn, who is logged, the final status and
// the talk time of each leg.
//
// Event shapes: channel events as in webitel's events-list.rst and the
// NEventSocket captures (tests/fixtures/esl); transfers as FreeSWITCH reports
// them: a blind transfer is a `bl_xfer` entry in the transferee's
// variable_transfer_history (FreeSWITCH's switch_ivr_session_transfer) or a
// CHANNEL_EXECUTE of `transfer -bleg`; an attended one (REFER with Replaces)
// gives CUSTOM sofia::transferor / sofia::transferee events and the bridge
// of the caller's leg to the target's leg of the consultation call;
// mod_callcenter reports the queue in CUSTOM callcenter::info events.
#include <doctest/doctest.h>

#include <functional>

#include "call_service_env.hpp"
#include "esl_flow_script.hpp"
#include "ringside/esl/mapper.hpp"
#include "ringside/esl/reader.hpp"

using namespace ringside;
using namespace call_test;
using Strings = std::vector<std::string>;

namespace {

const std::string& customer_number = sara_number;

struct Case {
    std::string name;
    std::function<void(esl_flow::Script&)> play;  // the call's a-leg is "A"
    Strings sent;           // "<agent> <type> [reason] [by=]", in order
    CallStatus status;
    std::optional<std::string> agent;
    std::vector<LegTalk> legs;  // in the order the phones first rang
    std::optional<std::string> queue = std::nullopt;
    std::uint64_t merged = 0;  // consultation calls folded into the customer's call
};

// ---- the flows

/// The customer calls 5000: 1001 rings `ring` s and answers, and they talk `talk` s.
void talk_to_alice(esl_flow::Script& s, int ring = 3, int talk = 10) {
    s.inbound("A", customer_number, "5000");
    s.dial_phone("B1", "A", "1001", "A");
    s.wait(ring);
    s.answer("B1");
    s.answer("A");
    s.bridge("A", "B1");
    s.wait(talk);
}

/// The customer hangs up; the phone's leg bridged to them goes too.
void customer_hangs_up(esl_flow::Script& s, const std::string& leg) {
    s.hangup("A", "NORMAL_CLEARING");
    s.unbridge(leg, "A");
    s.hangup(leg, "NORMAL_CLEARING");
}

void direct_answered(esl_flow::Script& s) {
    talk_to_alice(s, 4, 30);
    customer_hangs_up(s, "B1");
}

void caller_cancels(esl_flow::Script& s) {
    s.inbound("A", customer_number, "5000");
    s.dial_phone("B1", "A", "1001", "A");
    s.wait(6);
    s.hangup("A", "ORIGINATOR_CANCEL");
    s.hangup("B1", "ORIGINATOR_CANCEL");
}

/// bridge user/1001,user/1002 (simultaneous ring): 1002 answers, 1001 loses the race.
void ring_group(esl_flow::Script& s) {
    s.inbound("A", customer_number, "5000");
    s.dial_phone("B1", "A", "1001", "A");
    s.dial_phone("B2", "A", "1002", "A");
    s.wait(5);
    s.answer("B2");
    s.hangup("B1", "LOSE_RACE");
    s.answer("A");
    s.bridge("A", "B2");
    s.wait(25);
    s.hangup("B2", "NORMAL_CLEARING");
    s.unbridge("A", "B2");
    s.hangup("A", "NORMAL_CLEARING");
}

/// mod_callcenter: the member waits, 1001 is offered and does not answer, 1002 takes it.
void queue_answered(esl_flow::Script& s) {
    s.inbound("A", customer_number, "7000");
    s.answer("A");
    s.execute("A", "callcenter", "sales@default");
    const auto joined = std::to_string(s.epoch());
    s.callcenter({{"CC-Queue", "sales@default"}, {"CC-Action", "member-queue-start"},
                  {"CC-Member-UUID", "m-1"}, {"CC-Member-Session-UUID", "A"},
                  {"CC-Member-CID-Name", ""}, {"CC-Member-CID-Number", customer_number}});
    s.wait(2);
    s.dial_phone("Q1", "", "1001", "Q1", {{"cc_queue", "sales@default"}, {"cc_member_session_uuid", "A"},
                                           {"cc_member_uuid", "m-1"}, {"cc_agent", "1001@default"}});
    s.callcenter({{"CC-Queue", "sales@default"}, {"CC-Action", "agent-offering"}, {"CC-Agent", "1001@default"},
                  {"CC-Member-UUID", "m-1"}, {"CC-Member-Session-UUID", "A"}});
    s.wait(10);
    s.hangup("Q1", "NO_ANSWER");
    s.dial_phone("Q2", "", "1002", "Q2", {{"cc_queue", "sales@default"}, {"cc_member_session_uuid", "A"},
                                           {"cc_member_uuid", "m-1"}, {"cc_agent", "1002@default"}});
    s.wait(3);
    s.answer("Q2");
    s.callcenter({{"CC-Queue", "sales@default"}, {"CC-Action", "bridge-agent-start"}, {"CC-Agent", "1002@default"},
                  {"CC-Agent-UUID", "Q2"}, {"CC-Member-UUID", "m-1"}, {"CC-Member-Session-UUID", "A"},
                  {"CC-Member-Joined-Time", joined}});
    s.bridge("A", "Q2");
    s.wait(40);
    s.hangup("A", "NORMAL_CLEARING");
    s.callcenter({{"CC-Queue", "sales@default"}, {"CC-Action", "member-queue-end"}, {"CC-Cause", "Terminated"},
                  {"CC-Member-UUID", "m-1"}, {"CC-Member-Session-UUID", "A"}, {"CC-Member-Joined-Time", joined},
                  {"CC-Member-Leaving-Time", std::to_string(s.epoch())}});
    s.unbridge("Q2", "A");
    s.hangup("Q2", "NORMAL_CLEARING");
}

/// mod_callcenter: the caller hangs up while 1001 is offered the call.
void queue_abandoned(esl_flow::Script& s) {
    s.inbound("A", customer_number, "7000");
    s.answer("A");
    const auto joined = std::to_string(s.epoch());
    s.callcenter({{"CC-Queue", "sales@default"}, {"CC-Action", "member-queue-start"},
                  {"CC-Member-UUID", "m-2"}, {"CC-Member-Session-UUID", "A"}});
    s.wait(3);
    s.dial_phone("Q1", "", "1001", "Q1", {{"cc_queue", "sales@default"}, {"cc_member_session_uuid", "A"}});
    s.wait(9);
    s.hangup("A", "NORMAL_CLEARING");
    s.callcenter({{"CC-Queue", "sales@default"}, {"CC-Action", "member-queue-end"}, {"CC-Cause", "Cancel"},
                  {"CC-Cancel-Reason", "NONE"}, {"CC-Member-UUID", "m-2"}, {"CC-Member-Session-UUID", "A"},
                  {"CC-Member-Joined-Time", joined}, {"CC-Member-Leaving-Time", std::to_string(s.epoch())}});
    s.hangup("Q1", "ORIGINATOR_CANCEL");
}

/// The customer, sent on to 1002 by the dialplan after a transfer, talks 20 s.
void bob_takes_it(esl_flow::Script& s) {
    s.execute("A", "bridge", "user/1002");
    s.dial_phone("C1", "A", "1002", "A");
    s.wait(4);
    s.answer("C1");
    s.bridge("A", "C1");
    s.wait(20);
    customer_hangs_up(s, "C1");
}

/// Blind transfer by the phone (REFER without Replaces): FreeSWITCH sends the
/// caller's leg to 1002 in the dialplan and records it in transfer_history.
void blind_refer(esl_flow::Script& s) {
    talk_to_alice(s);
    s.set_var("A", "transfer_history", std::to_string(s.epoch()) + ":A:bl_xfer:1002/default/XML");
    s.set_var("A", "transfer_source", std::to_string(s.epoch()) + ":A:bl_xfer:1002/default/XML");
    s.unbridge("A", "B1");
    s.hangup("B1", "BLIND_TRANSFER");
    bob_takes_it(s);
}

/// Blind transfer from the dialplan of the agent's leg: `transfer -bleg 1002 XML default`.
void blind_bleg(esl_flow::Script& s) {
    talk_to_alice(s);
    s.execute("B1", "transfer", "-bleg 1002 XML default");
    s.unbridge("A", "B1");
    s.hangup("B1", "NORMAL_CLEARING");
    bob_takes_it(s);
}

/// 1001 puts the customer on hold and calls 1002 from the phone (consultation call "K").
void consult_bob(esl_flow::Script& s, bool bob_answers) {
    talk_to_alice(s);
    s.from_phone("K", "1001", "1002");
    s.dial_phone("C1", "K", "1002", "K");
    s.wait(3);
    if (!bob_answers) return;
    s.answer("C1");
    s.answer("K");
    s.bridge("K", "C1");
    s.wait(8);
}

/// alice's phone sends the REFER with Replaces joining the customer to the consultation call.
void sofia_transferor(esl_flow::Script& s) {
    s.custom("sofia::transferor", "B1",
             {{"att_xfer_replaced_call_id", "K"}, {"att_xfer_destination_peer_uuid", "C1"},
              {"att_xfer_destination_call_id", "K"}, {"att_xfer_original_call_id", "A"}});
}

/// Attended transfer (REFER with Replaces) as sofia reports it.
void attended_refer(esl_flow::Script& s) {
    consult_bob(s, true);
    sofia_transferor(s);
    s.custom("sofia::transferee", "A", {{"att_xfer_replaced_call_id", "C1"}});
    s.unbridge("A", "B1");
    s.unbridge("K", "C1");
    s.bridge("A", "C1");
    s.hangup("B1", "ATTENDED_TRANSFER");
    s.hangup("K", "ATTENDED_TRANSFER");
    s.wait(20);
    customer_hangs_up(s, "C1");
}

/// The same join seen only as a bridge of the two calls' legs (uuid_bridge
/// from an API client or a dialplan without the sofia events).
void attended_bridge_only(esl_flow::Script& s) {
    consult_bob(s, true);
    s.unbridge("A", "B1");
    s.unbridge("K", "C1");
    s.hangup("B1", "ATTENDED_TRANSFER");
    s.hangup("K", "ATTENDED_TRANSFER");
    s.bridge("A", "C1");
    s.wait(20);
    s.hangup("C1", "NORMAL_CLEARING");
    s.unbridge("A", "C1");
    s.hangup("A", "NORMAL_CLEARING");
}

/// Blonde, as sofia_handle_sip_i_refer handles a REFER with Replaces (with
/// the profile's fire-transfer-events) whose replaced leg K is still dialling:
/// K's partner is the b-leg it dialled last (originate_signal_bond), so both
/// legs count as bridged: CUSTOM sofia::replaced on K (att_xfer_replaced_by:
/// the customer's leg), sofia::transferor on alice's leg (att_xfer_destination_peer_uuid:
/// K, att_xfer_destination_call_id: the ringing b-leg), sofia::transferee on
/// the customer's leg; then uuid_bridge of the customer's leg to that b-leg,
/// which waits for its answer (uuid_bridge_on_soft_execute) before the
/// CHANNEL_BRIDGE; K is parked and hung up 2 s later as ATTENDED_TRANSFER,
/// which cancels its other b-legs; alice's phone hangs up after the NOTIFY.
void sofia_blonde(esl_flow::Script& s, const std::string& ringing_leg) {
    s.custom("sofia::replaced", "K", {{"att_xfer_replaced_by", "A"}});
    s.custom("sofia::transferor", "B1",
             {{"att_xfer_original_call_id", "A"}, {"att_xfer_destination_call_id", ringing_leg},
              {"att_xfer_destination_peer_uuid", "K"}});
    s.custom("sofia::transferee", "A", {});
    s.unbridge("A", "B1");
    s.hangup("B1", "NORMAL_CLEARING");
    s.wait(2);
    s.hangup("K", "ATTENDED_TRANSFER");
}

/// Blonde: 1001 transfers while 1002 still rings; 1002 answers the customer.
void blonde_refer(esl_flow::Script& s) {
    consult_bob(s, false);
    sofia_blonde(s, "C1");
    s.wait(2);
    s.answer("C1");
    s.bridge("A", "C1");
    s.wait(20);
    customer_hangs_up(s, "C1");
}

/// The same blonde transfer from a profile without fire-transfer-events (the
/// default): nothing tells of it until the bridge, after 1002 answers.
void blonde_bridge_only(esl_flow::Script& s) {
    consult_bob(s, false);
    s.unbridge("A", "B1");
    s.hangup("B1", "NORMAL_CLEARING");
    s.wait(2);
    s.hangup("K", "ATTENDED_TRANSFER");
    s.wait(2);
    s.answer("C1");
    s.bridge("A", "C1");
    s.wait(20);
    customer_hangs_up(s, "C1");
}

/// Blonde to bob; the customer hangs up before he answers: the uuid_bridge
/// waiting for his answer gives up and his leg is hung up.
void blonde_caller_hangs_up(esl_flow::Script& s) {
    consult_bob(s, false);
    sofia_blonde(s, "C1");
    s.wait(3);
    s.hangup("A", "NORMAL_CLEARING");
    s.hangup("C1", "ORIGINATOR_CANCEL");
}

/// Blonde to the ring group 600 (K dials 1003, then 1002: bridge
/// user/1003,user/1002): the REFER reaches FreeSWITCH while both ring; the
/// customer's leg is bridged to the leg dialled last (1002) once it answers,
/// and 1003's leg goes with K.
void blonde_group(esl_flow::Script& s) {
    talk_to_alice(s);
    s.from_phone("K", "1001", "600");
    s.dial_phone("C3", "K", "1003", "K");
    s.dial_phone("C1", "K", "1002", "K");
    s.wait(3);
    sofia_blonde(s, "C1");
    s.hangup("C3", "ORIGINATOR_CANCEL");
    s.wait(2);
    s.answer("C1");
    s.bridge("A", "C1");
    s.wait(20);
    customer_hangs_up(s, "C1");
}

/// Attended with the app: 1001 dials *2 → att_xfer user/1002 on the agent's leg.
void attended_app(esl_flow::Script& s) {
    talk_to_alice(s);
    s.execute("B1", "att_xfer", "user/1002");
    s.dial_phone("C1", "B1", "1002", "A");
    s.wait(3);
    s.answer("C1");
    s.bridge("B1", "C1");
    s.wait(8);
    s.unbridge("B1", "C1");
    s.unbridge("A", "B1");
    s.hangup("B1", "NORMAL_CLEARING");
    s.bridge("A", "C1");
    s.wait(20);
    customer_hangs_up(s, "C1");
}

const std::vector<Case> cases = {
    {"direct call answered", direct_answered,
     {"alice call.ringing", "alice call.answered", "alice call.ended"}, CallStatus::answered, "alice",
     {{"alice", 30}}},
    {"caller cancels while the phone rings", caller_cancels,
     {"alice call.ringing", "alice call.retracted caller_hung_up"}, CallStatus::missed, std::nullopt,
     {{"alice", 0}}},
    {"ring group: the second phone answers, the first loses the race", ring_group,
     {"alice call.ringing", "bob call.ringing", "bob call.answered", "alice call.retracted answered_elsewhere",
      "bob call.ended"},
     CallStatus::answered, "bob", {{"alice", 0}, {"bob", 25}}},
    {"mod_callcenter queue: the first agent does not answer, the second does", queue_answered,
     {"alice call.ringing", "alice call.retracted caller_hung_up", "bob call.ringing", "bob call.answered",
      "bob call.ended"},
     CallStatus::answered, "bob", {{"alice", 0}, {"bob", 40}}, "sales"},
    {"mod_callcenter queue: the caller hangs up while waiting", queue_abandoned,
     {"alice call.ringing", "alice call.retracted caller_hung_up"}, CallStatus::abandoned, std::nullopt,
     {{"alice", 0}}, "sales"},
    {"blind transfer by REFER (transfer_history bl_xfer)", blind_refer,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
      "bob call.ended"},
     CallStatus::answered, "bob", {{"alice", 10}, {"bob", 20}}},
    {"blind transfer by transfer -bleg from the agent's leg", blind_bleg,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
      "bob call.ended"},
     CallStatus::answered, "bob", {{"alice", 10}, {"bob", 20}}},
    {"attended transfer by REFER with Replaces (sofia::transferor)", attended_refer,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
      "bob call.ended"},
     CallStatus::answered, "bob", {{"alice", 21}, {"bob", 28}}, std::nullopt, 1},
    {"attended transfer seen only as the bridge of the two calls", attended_bridge_only,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
      "bob call.ended"},
     CallStatus::answered, "bob", {{"alice", 21}, {"bob", 28}}, std::nullopt, 1},
    {"blonde transfer: 1001 transfers while 1002 still rings", blonde_refer,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
      "bob call.ended"},
     CallStatus::answered, "bob", {{"alice", 13}, {"bob", 20}}, std::nullopt, 1},
    {"blonde transfer without the sofia events: 1002 pops as it answers", blonde_bridge_only,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
      "bob call.ended"},
     CallStatus::answered, "bob", {{"alice", 13}, {"bob", 20}}, std::nullopt, 1},
    {"blonde transfer: the customer hangs up while 1002 still rings", blonde_caller_hangs_up,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.retracted caller_hung_up",
      "alice call.ended"},
     CallStatus::answered, "alice", {{"alice", 13}, {"bob", 0}}, std::nullopt, 1},
    {"attended transfer with the att_xfer application", attended_app,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
      "bob call.ended"},
     CallStatus::answered, "bob", {{"alice", 21}, {"bob", 28}}},
};

/// A script's wire bytes through the real reader and the ESL mapper.
std::vector<pbx::Event> mapped(const std::string& wire) {
    esl::Reader r;
    esl::EventMapper mapper(PbxId("fs"));
    r.put(wire);
    std::vector<pbx::Event> out;
    while (auto item = r.next())
        if (auto* m = std::get_if<esl::Message>(&*item); m && m->event)
            for (auto& ev : mapper.map(*m->event, Timestamp{})) out.push_back(std::move(ev));
    return out;
}

/// The transfers among them.
std::vector<pbx::Transfer> transfers(const std::string& wire) {
    std::vector<pbx::Transfer> out;
    for (const auto& ev : mapped(wire))
        if (const auto* t = std::get_if<pbx::Transfer>(&ev.payload)) out.push_back(*t);
    return out;
}

}  // namespace

TEST_CASE("FreeSWITCH flows: pops, withdrawals, the logged agent, status and each leg's talk time") {
    for (const auto& c : cases) {
        CAPTURE(c.name);
        TwoAgents t;
        auto& e = t.env;
        const auto customer = t.customer;

        esl_flow::Script s;
        c.play(s);
        for (const auto& ev : mapped(s.wire)) e.svc.on_pbx_event(ev);

        check_sent(e.sink, c.sent);
        // Every pop is the customer's call, under the customer's call id.
        check_pops(e.sink, customer, "fs-A");
        if (c.queue)
            for (const auto& p : e.sink.of_type("call.ringing")) CHECK(p.msg["call"]["queue"] == *c.queue);
        const auto rec = only_call(e);
        CHECK(rec.id == CallId("fs-A"));
        CHECK(e.svc.stats().calls_merged == c.merged);
        CHECK(rec.status == c.status);
        CHECK(rec.direction == Direction::inbound);
        CHECK(rec.customer_id == customer);
        CHECK(rec.agent == agent_id(c.agent));
        if (c.queue) CHECK(rec.queue == c.queue);
        check_legs(rec, c.legs);
        check_history_once(e, customer);
    }
}

TEST_CASE("a bridge of two calls' legs maps to one attended Transfer naming the leg bridged before, gone or not") {
    esl_flow::Script s;
    attended_bridge_only(s);
    const auto seen = transfers(s.wire);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].attended);
    CHECK(seen[0].transferee_uniqueid == "A");
    CHECK(seen[0].target_uniqueid == "C1");
    CHECK(seen[0].transferer_uniqueid == "B1");  // hung up before the bridge: the tracker remembers its phone
}

TEST_CASE("transfer_history in FreeSWITCH's array form reports each new blind entry once") {
    esl_flow::Script s;
    talk_to_alice(s);
    s.set_var("A", "transfer_history", "1700000010:A:bl_xfer:1002/default/XML");
    s.execute("A", "bridge", "user/1002");
    s.execute("A", "bridge", "user/1002");  // the same entry again: nothing new
    s.set_var("A", "transfer_history",
              "ARRAY::1700000010:A:bl_xfer:1002/default/XML|:1700000020:A:bl_xfer:1003/default/XML");
    s.execute("A", "bridge", "user/1003");
    Strings targets;
    for (const auto& t : transfers(s.wire)) {
        CHECK(!t.attended);
        CHECK(t.transferer_uniqueid == "B1");
        targets.push_back(t.target_exten);
    }
    CHECK(targets == Strings{"1002", "1003"});
}

TEST_CASE("FreeSWITCH blonde transfer to a ring group: both phones pop with the customer, the one cancelled is withdrawn") {
    TwoAgents t;
    auto& e = t.env;
    e.add_user(make_user("carol", Role::agent, "1003"));
    esl_flow::Script s;
    blonde_group(s);
    for (const auto& ev : mapped(s.wire)) e.svc.on_pbx_event(ev);
    check_sent(e.sink, {"alice call.ringing", "alice call.answered", "carol call.ringing by=alice",
                        "bob call.ringing by=alice", "carol call.retracted caller_hung_up", "bob call.answered",
                        "bob call.ended"});
    check_pops(e.sink, t.customer, "fs-A");
    const auto rec = only_call(e);
    CHECK(rec.id == CallId("fs-A"));
    CHECK(rec.status == CallStatus::answered);
    CHECK(rec.agent == AgentId("bob"));
    CHECK(e.svc.stats().calls_merged == 1);
    check_legs(rec, {{"alice", 13}, {"carol", 0}, {"bob", 20}});
    for (std::size_t i = 1; i < rec.legs.size(); ++i) CHECK(rec.legs[i].transferred_by == AgentId("alice"));
}

TEST_CASE("FreeSWITCH: calls from a phone no user owns are never inbound customer calls") {
    // Another tenant's phone 2001 (sofia/internal/2001@...) on the shared
    // switch: out through the carrier's gateway it is outbound, to another
    // phone nobody owns internal; neither pops nor is matched.
    struct Row {
        std::string name;
        bool out;  // dials an external number through the gateway, else phone 2002
        Direction direction;
        std::string to;
    };
    for (const auto& row : {Row{"out through the gateway", true, Direction::outbound, sara_number},
                            Row{"to another phone nobody owns", false, Direction::internal, "2002"}}) {
        CAPTURE(row.name);
        TwoAgents t;
        auto& e = t.env;
        esl_flow::Script s;
        s.from_phone("X", "2001", row.out ? "09121234567" : "2002");
        if (row.out) s.dial_out("Y", "X", "09121234567");
        else s.dial_phone("Y", "X", "2002", "X");
        s.wait(4);
        s.answer("Y");
        s.answer("X");
        s.bridge("X", "Y");
        s.wait(30);
        s.hangup("X", "NORMAL_CLEARING");
        s.unbridge("Y", "X");
        s.hangup("Y", "NORMAL_CLEARING");
        for (const auto& ev : mapped(s.wire)) e.svc.on_pbx_event(ev);
        CHECK(e.sink.sent.empty());
        const auto rec = only_call(e);
        CHECK(rec.direction == row.direction);
        CHECK(!rec.agent);
        CHECK(rec.extension == Extension(row.out ? "2001" : "2002"));
        CHECK(rec.to == row.to);
        CHECK(!rec.customer_id);
        CHECK(e.svc.stats().lookups == 0);
    }
}
