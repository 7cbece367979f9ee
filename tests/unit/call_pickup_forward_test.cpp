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

#include "call_events.hpp"
#include "call_service_env.hpp"
#include "ringside/ami/mapper.hpp"
#include "ringside/sim/call_script.hpp"

using namespace ringside;
using namespace call_test;
using Strings = std::vector<std::string>;

namespace {

struct Leg {
    std::string agent;
    std::int64_t talk_seconds;
};

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
    std::vector<Leg> legs;  // in the order the phones first rang
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
        TempDir dir;
        Env e(dir.path() / "ringside.db", "IR");
        e.add_user(make_user("alice", Role::agent, "1001"));
        e.add_user(make_user("bob", Role::agent, "1002"));
        e.add_user(make_user("sara", Role::agent, "1003"));
        const auto customer = e.add_customer("Sara Ahmadi", "+989121234567");

        sim::CallPlan p;
        p.epoch_seconds = 1700000000;
        p.caller_number = "09121234567";
        p.dialed = "500";
        p.extensions = c.extensions;
        p.queue = c.queue;
        p.outcome = sim::Outcome::answered;
        p.picked_up_by = c.picked_up_by;
        if (!c.pickup_code.empty()) p.pickup_code = c.pickup_code;
        p.forward_to = c.forward_to;
        p.forward_by_phone = c.forward_by_phone;
        p.ring_time = std::chrono::seconds(5);
        p.talk_time = std::chrono::seconds(30);
        p.start = at_s(0);
        const auto script = sim::script_call(p);
        ami::EventMapper mapper(PbxId("main"));
        for (const auto& te : script.events)
            for (auto& ev : mapper.map(te.message, p.start + te.offset)) e.svc.on_pbx_event(ev);

        CHECK(e.sink.lines() == c.sent);
        Strings details;
        for (const auto& s : e.sink.of_type("call.retracted")) details.push_back(s.msg.value("detail", ""));
        CHECK(details == c.retract_detail);
        // Every pop shows the customer who called, never the picker's or forwarder's extension.
        for (const auto& s : e.sink.of_type("call.ringing")) {
            CHECK(s.msg["call"]["from"] == "+989121234567");
            CHECK(s.msg["customer"]["id"] == customer);
            CHECK(s.msg["call"]["id"] == "main-" + script.linkedid);
        }

        const auto stored = e.store.list_calls(CallFilter{});
        REQUIRE(stored.size() == 1);  // the picker's call to the pickup code is not a call of its own
        CHECK(e.svc.stats().calls_merged == c.merged);
        CHECK(e.svc.stats().active_calls == 0);
        CHECK(e.store.open_calls(PbxId("main")).empty());
        auto rec = e.store.find_call(CallId("main-" + script.linkedid));
        REQUIRE(rec);
        CHECK(rec->status == CallStatus::answered);
        CHECK(rec->direction == Direction::inbound);
        CHECK(rec->agent == AgentId(c.agent));
        CHECK(rec->customer_id == customer);
        CHECK(rec->talk_seconds == 30);
        REQUIRE(rec->legs.size() == c.legs.size());
        for (std::size_t i = 0; i < c.legs.size(); ++i) {
            CAPTURE(i);
            CHECK(rec->legs[i].agent == AgentId(c.legs[i].agent));
            CHECK(rec->legs[i].talk_seconds == c.legs[i].talk_seconds);
        }
        // Only the agent who took it lists it as theirs; the history shows one call.
        auto ctx = e.store.customer_context(customer);
        REQUIRE(ctx);
        CHECK(ctx->recent_interactions.size() == 1);
        CHECK(ctx->recent_interactions[0].agent == std::optional<AgentId>(AgentId(c.agent)));
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
    auto doc = nlohmann::ordered_json::parse(read_fixture("ami/cacofonisk/xfer_attended/xfer_abbcac.json"));
    ami::EventMapper mapper(PbxId("main"));
    const CallId id("main-195176c06ab8-1529941338.663");
    bool noted = false;
    int i = 0;
    for (const auto& obj : doc) {
        ami::Message m;
        for (const auto& [k, v] : obj.items())
            if (k != "content") m.fields.push_back({k, v.get<std::string>()});
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
    auto doc = nlohmann::ordered_json::parse(read_fixture("ami/cacofonisk/xfer_attended/xfer_abbcac.json"));
    ami::EventMapper mapper(PbxId("main"));
    int i = 0;
    for (const auto& obj : doc) {
        ami::Message m;
        for (const auto& [k, v] : obj.items())
            if (k != "content") m.fields.push_back({k, v.get<std::string>()});
        for (auto& ev : mapper.map(m, at_s(i++))) e.svc.on_pbx_event(ev);
    }
    const auto pop = e.sink.of_type("call.ringing").at(1).msg;
    CHECK(pop["transferred_by"] == "alice");
    CHECK(pop["transfer_note"] == nlohmann::json{{"by", "alice"}, {"disposition", nullptr}, {"notes", nullptr}});
}
