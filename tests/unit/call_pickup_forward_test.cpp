// Pickup (group `*8`, directed `**EXT`) and call forwarding (the dialplan on
// no answer, the phone's own SIP 302) as Asterisk 13 sends them over AMI:
// simulated Asterisk scripts (src/sim) through the real mapper into the call
// service, on a real SQLite file. The agent who actually answers gets the pop
// and is the one logged; the phone that only rang keeps a leg without talk time.
//
// No cacofonisk capture in tests/fixtures covers these flows; the script's
// shapes follow Asterisk's app_dial / features pickup (DialEnd CANCEL of the
// ringing phone, DialBegin/DialEnd ANSWER to the picker, `Pickup` with
// Target* keys, the ringing phone hung up with cause 26) and DialEnd's
// `Forward:` key.
#include <doctest/doctest.h>

#include "sim_calls.hpp"

using namespace ringside;
using namespace call_test;
using Strings = std::vector<std::string>;

namespace {

struct Case {
    std::string name;
    std::vector<std::string> extensions;  // dialled
    std::optional<std::string> queue;
    std::optional<std::string> picked_up_by;
    std::string pickup_code;
    std::optional<std::string> forward_to;
    bool forward_by_phone;
    Strings sent;           // "<agent> <type> [reason]", in order
    Strings retract_detail; // "detail" of each call.retracted, in order
    std::string agent;      // logged as the one who took the call
    std::vector<LegTalk> legs;  // in the order the phones first rang
    std::uint64_t merged;   // the picker's own call (to the pickup code) folded in
};

const std::vector<Case> cases = {
    {"group pickup of a direct call", {"1001"}, std::nullopt, "1002", "*8", std::nullopt, false,
     {"alice call.ringing", "bob call.ringing", "bob call.answered", "alice call.retracted answered_elsewhere",
      "bob call.ended"},
     {"answered_elsewhere"}, "bob", {{"alice", 0}, {"bob", 30}}, 1},
    {"directed pickup of a direct call", {"1001"}, std::nullopt, "1003", "**1001", std::nullopt, false,
     {"alice call.ringing", "sara call.ringing", "sara call.answered", "alice call.retracted answered_elsewhere",
      "sara call.ended"},
     {"answered_elsewhere"}, "sara", {{"alice", 0}, {"sara", 30}}, 1},
    {"group pickup of a ring group call", {"1001", "1002"}, std::nullopt, "1003", "*8", std::nullopt, false,
     {"alice call.ringing", "bob call.ringing", "sara call.ringing", "sara call.answered",
      "alice call.retracted answered_elsewhere", "bob call.retracted answered_elsewhere", "sara call.ended"},
     {"answered_elsewhere", "answered_elsewhere"}, "sara", {{"alice", 0}, {"bob", 0}, {"sara", 30}}, 1},
    {"pickup of a queue call", {"1001"}, "sales", "1002", "**1001", std::nullopt, false,
     {"alice call.ringing", "bob call.ringing", "bob call.answered", "alice call.retracted answered_elsewhere",
      "bob call.ended"},
     {"answered_elsewhere"}, "bob", {{"alice", 0}, {"bob", 30}}, 1},
    {"forwarded by the dialplan on no answer", {"1001"}, std::nullopt, std::nullopt, "", "1002", false,
     {"alice call.ringing", "alice call.retracted caller_hung_up", "bob call.ringing", "bob call.answered",
      "bob call.ended"},
     {"no_answer"}, "bob", {{"alice", 0}, {"bob", 30}}, 0},
    {"forwarded by the phone (SIP 302)", {"1001"}, std::nullopt, std::nullopt, "", "1003", true,
     {"alice call.ringing", "alice call.retracted caller_hung_up", "sara call.ringing", "sara call.answered",
      "sara call.ended"},
     {"no_answer"}, "sara", {{"alice", 0}, {"sara", 30}}, 0},
};

}  // namespace

TEST_CASE("pickups and forwards: the phone that answers gets the pop and the call, the others are withdrawn") {
    for (const auto& c : cases) {
        CAPTURE(c.name);
        TwoAgents t;
        auto& e = t.env;
        e.add_user(make_user("sara", Role::agent, "1003"));
        const auto customer = t.customer;

        auto p = customer_plan();
        p.extensions = c.extensions;
        p.queue = c.queue;
        p.outcome = sim::Outcome::answered;
        p.picked_up_by = c.picked_up_by;
        if (!c.pickup_code.empty()) p.pickup_code = c.pickup_code;
        p.forward_to = c.forward_to;
        p.forward_by_phone = c.forward_by_phone;
        const auto id = play(e, p);

        check_sent(e.sink, c.sent);
        Strings details;
        for (const auto& s : e.sink.of_type("call.retracted")) details.push_back(s.msg.value("detail", ""));
        CHECK(details == c.retract_detail);
        // Every pop shows the customer who called, never the picker's or forwarder's extension.
        check_pops(e.sink, customer, id.value());

        // The picker's call to the pickup code is not a call of its own.
        const auto rec = only_call(e);
        CHECK(rec.id == id);
        CHECK(e.svc.stats().calls_merged == c.merged);
        CHECK(e.store.open_calls(PbxId("main")).empty());
        CHECK(rec.status == CallStatus::answered);
        CHECK(rec.direction == Direction::inbound);
        CHECK(rec.agent == AgentId(c.agent));
        CHECK(rec.customer_id == customer);
        CHECK(rec.talk_seconds == 30);
        check_legs(rec, c.legs);
        // Only the agent who took it lists it as theirs; the history shows one call.
        check_history_once(e, customer);
        CHECK(e.store.customer_context(customer)->recent_interactions[0].agent == std::optional<AgentId>(AgentId(c.agent)));
    }
}

TEST_CASE("a transfer target's pop carries the note the transferring agent saved: who, disposition and notes") {
    // cacofonisk xfer_abbcac: A (a customer) calls B (alice), alice consults
    // C (bob) and joins A to bob. alice saved a disposition before transferring.
    TempDir dir;
    Env e(dir.path() / "ringside.db", "NL");
    e.add_user(make_user("alice", Role::agent, "150010002"));
    e.add_user(make_user("bob", Role::agent, "150010003"));
    const User alice = make_user("alice", Role::agent, "150010002");
    ami::EventMapper mapper(PbxId("main"));
    const CallId id("main-195176c06ab8-1529941338.663");
    bool noted = false;
    int i = 0;
    for (const auto& m : cacofonisk("xfer_attended/xfer_abbcac.json")) {
        for (auto& ev : mapper.map(m, at_s(i++))) e.svc.on_pbx_event(ev);
        if (!noted && !e.sink.of_type("call.answered").empty()) {
            REQUIRE(static_cast<bool>(e.svc.set_disposition(alice, id, "escalated", "wants a manager; card 4111 1111 1111 1111")));
            noted = true;
        }
    }
    REQUIRE(noted);
    CHECK(e.sink.lines() == Strings{"alice call.ringing", "alice call.answered", "bob call.ringing by=alice",
                                    "bob call.answered", "bob call.ended"});
    const auto pop = e.sink.of_type("call.ringing").at(1);
    CHECK(pop.to == "bob");
    CHECK(pop.msg["call"]["id"] == id.value());
    REQUIRE(pop.msg["transfer_note"].is_object());
    CHECK(pop.msg["transfer_note"]["by"] == "alice");
    CHECK(pop.msg["transfer_note"]["disposition"] == "escalated");
    // Notes travel masked, as they were stored.
    const auto notes = pop.msg["transfer_note"]["notes"].get<std::string>();
    CHECK(notes.find("wants a manager") == 0);
    CHECK(notes.find("4111 1111 1111 1111") == std::string::npos);
    // alice's own pop carried no note.
    CHECK(!e.sink.of_type("call.ringing").at(0).msg.contains("transfer_note"));
}

TEST_CASE("without a saved disposition the transfer note names only who transferred") {
    TempDir dir;
    Env e(dir.path() / "ringside.db", "NL");
    e.add_user(make_user("alice", Role::agent, "150010002"));
    e.add_user(make_user("bob", Role::agent, "150010003"));
    ami::EventMapper mapper(PbxId("main"));
    int i = 0;
    for (const auto& m : cacofonisk("xfer_attended/xfer_abbcac.json"))
        for (auto& ev : mapper.map(m, at_s(i++))) e.svc.on_pbx_event(ev);
    const auto pop = e.sink.of_type("call.ringing").at(1).msg;
    CHECK(pop["transferred_by"] == "alice");
    CHECK(pop["transfer_note"] == nlohmann::json{{"by", "alice"}, {"disposition", nullptr}, {"notes", nullptr}});
}
