// How calls really flow, beyond one phone ringing: queues (simulated
// Asterisk 13 app_queue AMI through the real mapper), outbound calls from an
// agent's phone, and repeat / missed callers, on a real SQLite file.
#include <doctest/doctest.h>

#include "sim_calls.hpp"

using namespace ringside;
using namespace call_test;
using CS = pbx::ChannelState;
using Strings = std::vector<std::string>;

namespace {

sim::CallPlan queue_plan(sim::Outcome outcome, std::uint64_t first_id = 1, Timestamp start = at_s(0)) {
    auto p = customer_plan();
    p.first_id = first_id;
    p.first_channel_seq = first_id;
    p.extensions = {"1001", "1002"};
    p.queue = "sales";
    p.outcome = outcome;
    p.answered_by = 1;
    p.start = start;
    return p;
}

struct QueueCase {
    std::string name;
    sim::Outcome outcome;
    Strings sent;
    CallStatus status;
    std::optional<std::string> agent;
};

}  // namespace

TEST_CASE("queue calls: every member pops with queue, position and hold time; the outcome and hold are logged") {
    const std::vector<QueueCase> cases = {
        {"answered by the second member", sim::Outcome::answered,
         {"alice call.ringing", "bob call.ringing", "bob call.answered", "alice call.retracted answered_elsewhere",
          "bob call.ended"},
         CallStatus::answered, "bob"},
        {"caller abandons in the queue", sim::Outcome::caller_cancels,
         {"alice call.ringing", "bob call.ringing", "alice call.retracted caller_hung_up",
          "bob call.retracted caller_hung_up"},
         CallStatus::abandoned, std::nullopt},
        {"nobody answers", sim::Outcome::no_answer,
         {"alice call.ringing", "bob call.ringing", "alice call.retracted caller_hung_up",
          "bob call.retracted caller_hung_up"},
         CallStatus::missed, std::nullopt},
    };
    for (const auto& qc : cases) {
        CAPTURE(qc.name);
        TwoAgents s;
        auto& e = s.env;
        const auto id = play(e, queue_plan(qc.outcome));
        CHECK(e.sink.lines() == qc.sent);
        const auto pop = e.sink.of_type("call.ringing").at(0).msg;
        CHECK(pop["call"]["queue"] == "sales");
        CHECK(pop["call"]["queue_position"] == 1);
        CHECK(pop["call"]["hold_seconds"].is_number_integer());
        CHECK(pop["call"]["from"] == "+989121234567");
        CHECK(pop["customer"]["id"] == s.customer);
        auto rec = e.store.find_call(id);
        REQUIRE(rec);
        CHECK(rec->status == qc.status);
        CHECK(rec->queue == std::optional<std::string>("sales"));
        CHECK(rec->queue_position == std::optional<int>(1));
        CHECK(rec->agent == (qc.agent ? std::optional<AgentId>(AgentId(*qc.agent)) : std::nullopt));
        // The caller waited the ring time in the queue before the answer or the end.
        CHECK(rec->hold_seconds >= 5);
        CHECK(rec->hold_seconds <= rec->wait_seconds);
        if (qc.status != CallStatus::answered) CHECK(rec->wait_seconds >= 5);
        CHECK(rec->legs.size() == 2);
        CHECK(e.store.list_calls(CallFilter{}).size() == 1);
        CHECK(e.svc.stats().active_calls == 0);
    }
}

TEST_CASE("the abandoned queue capture gets its hold time from QueueCallerAbandon when no join was seen") {
    TwoAgents s;
    auto& e = s.env;
    const std::string L = "1800.1";
    e.svc.on_pbx_event(ev(0, pbx::ChannelCreated{chan(L, L, "SIP/trunk-1", "09121234567", CS::ring, "500")}));
    e.svc.on_pbx_event(ev(1, pbx::ChannelCreated{chan("1800.2", L, "SIP/1001-2")}));
    e.svc.on_pbx_event(ev(1, pbx::DialBegin{chan(L, L, "SIP/trunk-1"), chan("1800.2", L, "SIP/1001-2"), "SIP/1001"}));
    e.svc.on_pbx_event(ev(20, pbx::QueueAbandon{L, "sales", 11}));
    e.svc.on_pbx_event(ev(21, pbx::Hangup{"1800.2", 16, ""}));
    e.svc.on_pbx_event(ev(21, pbx::Hangup{L, 16, ""}));
    auto rec = e.store.find_call(CallId("main-1800.1"));
    REQUIRE(rec);
    CHECK(rec->status == CallStatus::abandoned);
    CHECK(rec->queue == std::optional<std::string>("sales"));
    CHECK(rec->hold_seconds == 12);  // joined 11 s before the abandon at 20, ended at 21
    CHECK(rec->wait_seconds == 21);
}

TEST_CASE("an agent's call to an external number is outbound: matched to the customer, logged, never popped, its end sent to the agent") {
    TwoAgents s;
    auto& e = s.env;
    const std::string L = "1900.1";
    const std::string phone = "SIP/1001-00000001", trunk = "SIP/trunk-00000002";
    e.svc.on_pbx_event(ev(0, pbx::ChannelCreated{chan(L, L, phone, "1001", CS::ring, "09121234567")}));
    e.svc.on_pbx_event(ev(1, pbx::ChannelCreated{chan("1900.2", L, trunk)}));
    e.svc.on_pbx_event(ev(1, pbx::DialBegin{chan(L, L, phone, "1001", CS::ring), chan("1900.2", L, trunk), "trunk/0912"}));
    e.svc.on_pbx_event(ev(3, pbx::ChannelUpdated{chan("1900.2", L, trunk, "", CS::ringing)}));
    e.svc.on_pbx_event(ev(8, pbx::ChannelUpdated{chan("1900.2", L, trunk, "", CS::up)}));
    e.svc.on_pbx_event(ev(68, pbx::Hangup{"1900.2", 16, ""}));
    e.svc.on_pbx_event(ev(68, pbx::Hangup{L, 16, ""}));
    // No pop, but the end goes to the agent who called, so the console
    // shows the finished call for its disposition and lists it today.
    CHECK(e.sink.lines() == std::vector<std::string>{"alice call.ended"});
    CHECK(e.sink.of_type("call.ended").at(0).msg["call"]["direction"] == "outbound");
    auto rec = e.store.find_call(CallId("main-1900.1"));
    REQUIRE(rec);
    CHECK(rec->direction == Direction::outbound);
    CHECK(rec->to == "+989121234567");
    CHECK(rec->customer_id == s.customer);
    CHECK(rec->agent == AgentId("alice"));
    CHECK(rec->extension == Extension("1001"));
    CHECK(rec->status == CallStatus::answered);
    CHECK(rec->talk_seconds == 60);
    auto ctx = e.store.customer_context(s.customer);
    REQUIRE(ctx->recent_interactions.size() == 1);
    CHECK(ctx->recent_interactions[0].direction == "outbound");
    CHECK(ctx->recent_interactions[0].summary == "Outbound call answered by alice, 1m 0s");
}

TEST_CASE("repeat callers: the pop counts today's calls and shows a missed call until a call-back closes it") {
    TwoAgents s;
    auto& e = s.env;
    auto missed = queue_plan(sim::Outcome::caller_cancels, 1, at_s(0));
    const auto first = play(e, missed);
    auto pop1 = e.sink.of_type("call.ringing").at(0).msg;
    CHECK(pop1["calls_today"] == 1);
    CHECK(pop1["missed_waiting"].is_null());

    e.sink.sent.clear();
    play(e, queue_plan(sim::Outcome::caller_cancels, 100, at_s(120)));
    auto pop2 = e.sink.of_type("call.ringing").at(0).msg;
    CHECK(pop2["calls_today"] == 2);
    REQUIRE(pop2["missed_waiting"].is_object());
    CHECK(pop2["missed_waiting"]["status"] == "abandoned");
    const auto second_id = pop2["call"]["id"].get<std::string>();
    CHECK(pop2["missed_waiting"]["id"] == first.value());

    // alice calls the customer back and they talk: that closes it.
    const std::string L = "1950.1";
    e.svc.on_pbx_event(ev(300, pbx::ChannelCreated{chan(L, L, "SIP/1001-9", "1001", CS::ring, "09121234567")}));
    e.svc.on_pbx_event(ev(301, pbx::ChannelCreated{chan("1950.2", L, "SIP/trunk-10")}));
    e.svc.on_pbx_event(ev(301, pbx::DialBegin{chan(L, L, "SIP/1001-9", "1001", CS::ring), chan("1950.2", L, "SIP/trunk-10"), "x"}));
    e.svc.on_pbx_event(ev(305, pbx::ChannelUpdated{chan("1950.2", L, "SIP/trunk-10", "", CS::up)}));
    e.svc.on_pbx_event(ev(330, pbx::Hangup{"1950.2", 16, ""}));
    e.svc.on_pbx_event(ev(330, pbx::Hangup{L, 16, ""}));

    e.sink.sent.clear();
    play(e, queue_plan(sim::Outcome::answered, 200, at_s(400)));
    auto pop3 = e.sink.of_type("call.ringing").at(0).msg;
    CHECK(pop3["calls_today"] == 3);  // inbound calls from the number; the call-back is outbound
    CHECK(pop3["missed_waiting"].is_null());
    CHECK(second_id != first.value());
}

TEST_CASE("after a restart a known customer's missed call still waits for a call-back, from their history") {
    TempDir dir;
    const auto db = dir.path() / "ringside.db";
    CallId first("");
    std::int64_t customer = 0;
    {
        Env e(db, "IR");
        e.add_user(make_user("alice", Role::agent, "1001"));
        e.add_user(make_user("bob", Role::agent, "1002"));
        customer = e.add_customer("Sara Ahmadi", sara_number);
        first = play(e, queue_plan(sim::Outcome::no_answer, 1, at_s(0)));
    }
    Env e(db, "IR");  // a new engine: nothing in memory
    play(e, queue_plan(sim::Outcome::answered, 100, at_s(600)));
    auto pop = e.sink.of_type("call.ringing").at(0).msg;
    CHECK(pop["customer"]["id"] == customer);
    CHECK(pop["calls_today"] == 2);
    REQUIRE(pop["missed_waiting"].is_object());
    CHECK(pop["missed_waiting"]["id"] == first.value());
    CHECK(pop["missed_waiting"]["status"] == "missed");
}
