// Blind and attended transfers of a customer's call as the simulated
// Asterisk scripts them (Asterisk 13+ BlindTransfer / AttendedTransfer
// shapes of the cacofonisk captures), through the real AMI mapper into the
// call service on a real SQLite file: the target pops with the customer and
// who transferred, one record with a leg and a talk time per agent.
#include <doctest/doctest.h>

#include "call_events.hpp"
#include "call_service_env.hpp"
#include "ringside/ami/mapper.hpp"
#include "ringside/sim/call_script.hpp"

using namespace ringside;
using namespace call_test;
using Strings = std::vector<std::string>;

namespace {

struct Case {
    std::string name;
    bool attended;
    Strings sent;
    std::vector<std::pair<std::string, std::int64_t>> legs;  // agent, talk seconds
    std::uint64_t merged;
};

}  // namespace

TEST_CASE("simulated transfers: the target pops with the customer and who transferred; one call, a leg per agent") {
    const std::vector<Case> cases = {
        {"blind", false,
         {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
          "bob call.ended"},
         {{"alice", 30}, {"bob", 20}}, 0},
        // alice talks 30 s, holds while bob's phone rings (5 s) and talks 3 s with him.
        {"attended", true,
         {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
          "bob call.ended"},
         {{"alice", 38}, {"bob", 23}}, 1},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        TempDir dir;
        Env e(dir.path() / "ringside.db", "IR");
        e.add_user(make_user("alice", Role::agent, "1001"));
        e.add_user(make_user("bob", Role::agent, "1002"));
        const auto customer = e.add_customer("Sara Ahmadi", "+989121234567");

        sim::CallPlan p;
        p.epoch_seconds = 1700000000;
        p.caller_number = "09121234567";
        p.dialed = "500";
        p.extensions = {"1001"};
        p.ring_time = std::chrono::seconds(5);
        p.talk_time = std::chrono::seconds(30);
        p.transfer_to = "1002";
        p.transfer_attended = c.attended;
        p.consult_time = std::chrono::seconds(3);
        p.transfer_talk_time = std::chrono::seconds(20);
        p.start = at_s(0);
        const auto script = sim::script_call(p);
        ami::EventMapper mapper(PbxId("main"));
        bool transfer_event = false;
        for (const auto& te : script.events) {
            transfer_event = transfer_event || te.message.event() == (c.attended ? "AttendedTransfer" : "BlindTransfer");
            for (auto& ev : mapper.map(te.message, p.start + te.offset)) e.svc.on_pbx_event(ev);
        }
        CHECK(transfer_event);
        CHECK(e.sink.lines() == c.sent);
        for (const auto& s : e.sink.of_type("call.ringing")) {
            CHECK(s.msg["call"]["from"] == "+989121234567");
            CHECK(s.msg["customer"]["id"] == customer);
            CHECK(s.msg["call"]["id"] == "main-" + script.linkedid);
        }
        CHECK(e.store.list_calls(CallFilter{}).size() == 1);
        CHECK(e.svc.stats().calls_merged == c.merged);
        CHECK(e.svc.stats().active_calls == 0);
        auto rec = e.store.find_call(CallId("main-" + script.linkedid));
        REQUIRE(rec);
        CHECK(rec->status == CallStatus::answered);
        CHECK(rec->agent == AgentId("bob"));
        CHECK(rec->customer_id == customer);
        REQUIRE(rec->legs.size() == c.legs.size());
        for (std::size_t i = 0; i < c.legs.size(); ++i) {
            CAPTURE(i);
            CHECK(rec->legs[i].agent == AgentId(c.legs[i].first));
            CHECK(rec->legs[i].talk_seconds == c.legs[i].second);
        }
        CHECK(rec->legs[1].transferred_by == std::optional<AgentId>(AgentId("alice")));
        auto ctx = e.store.customer_context(customer);
        REQUIRE(ctx);
        CHECK(ctx->recent_interactions.size() == 1);
    }
}
