// Blind and attended transfers of a customer's call as the simulated
// Asterisk scripts them (Asterisk 13+ BlindTransfer / AttendedTransfer
// shapes of the cacofonisk captures), through the real AMI mapper into the
// call service on a real SQLite file: the target pops with the customer and
// who transferred, one record with a leg and a talk time per agent.
#include <doctest/doctest.h>

#include <algorithm>

#include "sim_calls.hpp"

using namespace ringside;
using namespace call_test;
using Strings = std::vector<std::string>;

namespace {

struct Case {
    std::string name;
    bool attended;
    Strings sent;
    std::vector<LegTalk> legs;
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
        TwoAgents t;
        auto& e = t.env;
        const auto customer = t.customer;

        auto p = customer_plan();
        p.extensions = {"1001"};
        p.transfer_to = "1002";
        p.transfer_attended = c.attended;
        p.consult_time = std::chrono::seconds(3);
        p.transfer_talk_time = std::chrono::seconds(20);
        const auto script = sim::script_call(p);
        CHECK(std::any_of(script.events.begin(), script.events.end(), [&](const sim::TimedEvent& te) {
            return te.message.event() == (c.attended ? "AttendedTransfer" : "BlindTransfer");
        }));
        const auto id = play(e, script, p.start);
        check_sent(e.sink, c.sent);
        check_pops(e.sink, customer, id.value());
        const auto rec = only_call(e);
        CHECK(rec.id == id);
        CHECK(e.svc.stats().calls_merged == c.merged);
        CHECK(rec.status == CallStatus::answered);
        CHECK(rec.agent == AgentId("bob"));
        CHECK(rec.customer_id == customer);
        check_legs(rec, c.legs);
        CHECK(rec.legs[1].transferred_by == std::optional<AgentId>(AgentId("alice")));
        check_history_once(e, customer);
    }
}
