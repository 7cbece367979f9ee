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

constexpr const char* customer_number = "+989121234567";

struct LegTalk {
    std::string agent;
    std::int64_t talk_seconds;
};

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

void direct_answered(esl_flow::Script& s) {
    s.inbound("A", customer_number, "5000");
    s.dial_phone("B1", "A", "1001", "A");
    s.wait(4);
    s.answer("B1");
    s.answer("A");
    s.bridge("A", "B1");
    s.wait(30);
    s.hangup("A", "NORMAL_CLEARING");
    s.unbridge("B1", "A");
    s.hangup("B1", "NORMAL_CLEARING");
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

/// The customer talks to 1001 for 10 s.
void talk_to_alice(esl_flow::Script& s) {
    s.inbound("A", customer_number, "5000");
    s.dial_phone("B1", "A", "1001", "A");
    s.wait(3);
    s.answer("B1");
    s.answer("A");
    s.bridge("A", "B1");
    s.wait(10);
}

/// The customer, sent on to 1002 by the dialplan after a transfer, talks 20 s.
void bob_takes_it(esl_flow::Script& s) {
    s.execute("A", "bridge", "user/1002");
    s.dial_phone("C1", "A", "1002", "A");
    s.wait(4);
    s.answer("C1");
    s.bridge("A", "C1");
    s.wait(20);
    s.hangup("A", "NORMAL_CLEARING");
    s.unbridge("C1", "A");
    s.hangup("C1", "NORMAL_CLEARING");
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

/// Attended transfer (REFER with Replaces) as sofia reports it.
void attended_refer(esl_flow::Script& s) {
    consult_bob(s, true);
    s.custom("sofia::transferor", "B1",
             {{"att_xfer_replaced_call_id", "K"}, {"att_xfer_destination_peer_uuid", "C1"},
              {"att_xfer_destination_call_id", "K"}, {"att_xfer_original_call_id", "A"}});
    s.custom("sofia::transferee", "A", {{"att_xfer_replaced_call_id", "C1"}});
    s.unbridge("A", "B1");
    s.unbridge("K", "C1");
    s.bridge("A", "C1");
    s.hangup("B1", "ATTENDED_TRANSFER");
    s.hangup("K", "ATTENDED_TRANSFER");
    s.wait(20);
    s.hangup("A", "NORMAL_CLEARING");
    s.unbridge("C1", "A");
    s.hangup("C1", "NORMAL_CLEARING");
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

/// Blonde: 1001 transfers while 1002 still rings; 1002 answers the customer.
void blonde_refer(esl_flow::Script& s) {
    consult_bob(s, false);
    s.custom("sofia::transferor", "B1",
             {{"att_xfer_replaced_call_id", "K"}, {"att_xfer_destination_peer_uuid", "C1"},
              {"att_xfer_destination_call_id", "K"}, {"att_xfer_original_call_id", "A"}});
    s.unbridge("A", "B1");
    s.hangup("B1", "ATTENDED_TRANSFER");
    s.hangup("K", "ATTENDED_TRANSFER");
    s.bridge("A", "C1");
    s.wait(4);
    s.answer("C1");
    s.wait(20);
    s.hangup("A", "NORMAL_CLEARING");
    s.unbridge("C1", "A");
    s.hangup("C1", "NORMAL_CLEARING");
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
    s.hangup("A", "NORMAL_CLEARING");
    s.unbridge("C1", "A");
    s.hangup("C1", "NORMAL_CLEARING");
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
    {"attended transfer with the att_xfer application", attended_app,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
      "bob call.ended"},
     CallStatus::answered, "bob", {{"alice", 21}, {"bob", 28}}},
};

void feed(Env& e, const std::string& wire) {
    esl::Reader r;
    esl::EventMapper mapper(PbxId("fs"));
    r.put(wire);
    while (auto item = r.next())
        if (auto* m = std::get_if<esl::Message>(&*item); m && m->event)
            for (auto& ev : mapper.map(*m->event, Timestamp{})) e.svc.on_pbx_event(ev);
}

}  // namespace

TEST_CASE("FreeSWITCH flows: pops, withdrawals, the logged agent, status and each leg's talk time") {
    for (const auto& c : cases) {
        CAPTURE(c.name);
        TempDir dir;
        Env e(dir.path() / "ringside.db", "IR");
        e.add_user(make_user("alice", Role::agent, "1001"));
        e.add_user(make_user("bob", Role::agent, "1002"));
        const auto customer = e.add_customer("Sara Ahmadi", customer_number);

        esl_flow::Script s;
        c.play(s);
        feed(e, s.wire);

        CHECK(e.sink.lines() == c.sent);
        if (e.sink.lines() != c.sent)
            for (const auto& l : e.sink.lines()) MESSAGE(l);
        // Every pop is the customer's call, under the customer's call id.
        for (const auto& p : e.sink.of_type("call.ringing")) {
            CHECK(p.msg["call"]["from"] == customer_number);
            CHECK(p.msg["customer"]["id"] == customer);
            CHECK(p.msg["call"]["id"] == "fs-A");
            if (c.queue) CHECK(p.msg["call"]["queue"] == *c.queue);
        }
        const auto stored = e.store.list_calls(CallFilter{});
        REQUIRE(stored.size() == 1);  // one call, however many legs and transfers
        CHECK(e.svc.stats().calls_merged == c.merged);
        CHECK(e.svc.stats().active_calls == 0);
        auto rec = e.store.find_call(CallId("fs-A"));
        REQUIRE(rec);
        CHECK(rec->status == c.status);
        CHECK(rec->direction == Direction::inbound);
        CHECK(rec->customer_id == customer);
        CHECK(rec->agent == (c.agent ? std::optional<AgentId>(AgentId(*c.agent)) : std::nullopt));
        if (c.queue) CHECK(rec->queue == c.queue);
        REQUIRE(rec->legs.size() == c.legs.size());
        for (std::size_t i = 0; i < c.legs.size(); ++i) {
            CAPTURE(i);
            CHECK(rec->legs[i].agent == AgentId(c.legs[i].agent));
            CHECK(rec->legs[i].talk_seconds == c.legs[i].talk_seconds);
        }
        auto ctx = e.store.customer_context(customer);
        REQUIRE(ctx);
        CHECK(ctx->recent_interactions.size() == 1);
    }
}

TEST_CASE("a bridge of two calls' legs maps to one attended Transfer naming the leg bridged before, gone or not") {
    esl_flow::Script s;
    attended_bridge_only(s);
    esl::Reader r;
    esl::EventMapper mapper(PbxId("fs"));
    r.put(s.wire);
    std::vector<pbx::Transfer> transfers;
    while (auto item = r.next())
        if (auto* m = std::get_if<esl::Message>(&*item); m && m->event)
            for (auto& ev : mapper.map(*m->event, Timestamp{}))
                if (auto* t = std::get_if<pbx::Transfer>(&ev.payload)) transfers.push_back(*t);
    REQUIRE(transfers.size() == 1);
    CHECK(transfers[0].attended);
    CHECK(transfers[0].transferee_uniqueid == "A");
    CHECK(transfers[0].target_uniqueid == "C1");
    CHECK(transfers[0].transferer_uniqueid == "B1");  // hung up before the bridge: the tracker remembers its phone
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
    esl::Reader r;
    esl::EventMapper mapper(PbxId("fs"));
    r.put(s.wire);
    Strings targets;
    while (auto item = r.next())
        if (auto* m = std::get_if<esl::Message>(&*item); m && m->event)
            for (auto& ev : mapper.map(*m->event, Timestamp{}))
                if (auto* t = std::get_if<pbx::Transfer>(&ev.payload)) {
                    CHECK(!t->attended);
                    CHECK(t->transferer_uniqueid == "B1");
                    targets.push_back(t->target_exten);
                }
    CHECK(targets == Strings{"1002", "1003"});
}
