#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ringside/server/pop_hub.hpp"

using namespace ringside;
using namespace ringside::server;
using nlohmann::json;

namespace {

/// A subscriber that records what the hub hands it, as a session's strand would.
struct Collector final : PopSubscriber {
    std::vector<std::pair<std::uint64_t, std::shared_ptr<const std::string>>> got;
    void deliver(std::uint64_t seq, std::shared_ptr<const std::string> m) override { got.emplace_back(seq, std::move(m)); }
};

json ringing(const std::string& id) { return {{"type", "call.ringing"}, {"call", {{"id", id}}}}; }

struct FakeClock {
    std::chrono::steady_clock::time_point now{};
};

}  // namespace

TEST_CASE("each user's messages are numbered from 1, independently of other users") {
    PopHub hub;
    auto alice = std::make_shared<Collector>();
    auto bob = std::make_shared<Collector>();
    hub.subscribe(AgentId("alice"), alice.get(), alice);
    hub.subscribe(AgentId("bob"), bob.get(), bob);
    hub.send(AgentId("alice"), ringing("a1"));
    hub.send(AgentId("bob"), ringing("b1"));
    hub.send(AgentId("alice"), ringing("a2"));
    REQUIRE(alice->got.size() == 2);
    REQUIRE(bob->got.size() == 1);
    CHECK(alice->got[0].first == 1);
    CHECK(alice->got[1].first == 2);
    CHECK(bob->got[0].first == 1);
    CHECK(json::parse(*alice->got[1].second)["seq"] == 2);
    CHECK(json::parse(*alice->got[1].second)["call"]["id"] == "a2");
    CHECK(hub.latest_seq(AgentId("alice")) == 2);
    CHECK(hub.latest_seq(AgentId("carol")) == 0);
}

TEST_CASE("one message to several users: each numbered with its own seq, each held for resume") {
    PopHub hub;
    auto alice = std::make_shared<Collector>();
    auto bob = std::make_shared<Collector>();
    hub.subscribe(AgentId("alice"), alice.get(), alice);
    hub.subscribe(AgentId("bob"), bob.get(), bob);
    hub.send(AgentId("alice"), ringing("a0"));  // alice is one ahead of bob
    hub.send_each({AgentId("alice"), AgentId("bob"), AgentId("carol")}, ringing("q1"));
    REQUIRE(alice->got.size() == 2);
    REQUIRE(bob->got.size() == 1);
    CHECK(alice->got[1].first == 2);
    CHECK(bob->got[0].first == 1);
    auto a = json::parse(*alice->got[1].second), b = json::parse(*bob->got[0].second);
    CHECK(a["seq"] == 2);
    CHECK(b["seq"] == 1);
    a.erase("seq"), b.erase("seq");
    CHECK(a == ringing("q1"));
    CHECK(a == b);
    // carol has no socket now: hers waits for her resume.
    const auto held = hub.replay(AgentId("carol"), 0);
    REQUIRE(held.size() == 1);
    CHECK(json::parse(*held[0].text)["call"]["id"] == "q1");
    // A "seq" in the message is the hub's to set, and an empty object is still a message.
    hub.send_each({AgentId("bob")}, json{{"seq", 99}, {"type", "x"}});
    hub.send_each({AgentId("bob")}, json::object());
    REQUIRE(bob->got.size() == 3);
    CHECK(json::parse(*bob->got[1].second)["seq"] == 2);
    CHECK(json::parse(*bob->got[2].second) == json{{"seq", 3}});
    hub.send_each({}, ringing("nobody"));
    CHECK(hub.stats().messages == 6);
}

TEST_CASE("a message reaches only the sessions of the user it is for") {
    PopHub hub;
    auto alice1 = std::make_shared<Collector>();
    auto alice2 = std::make_shared<Collector>();
    auto bob = std::make_shared<Collector>();
    hub.subscribe(AgentId("alice"), alice1.get(), alice1);
    hub.subscribe(AgentId("alice"), alice2.get(), alice2);
    hub.subscribe(AgentId("bob"), bob.get(), bob);
    hub.send(AgentId("alice"), ringing("a1"));
    CHECK(alice1->got.size() == 1);
    CHECK(alice2->got.size() == 1);
    CHECK(bob->got.empty());
    // Serialised once: both sessions hold the very same string.
    CHECK(alice1->got[0].second == alice2->got[0].second);
}

TEST_CASE("subscribe reports the latest seq so later messages are live and earlier ones are for resume") {
    PopHub hub;
    hub.send(AgentId("alice"), ringing("a1"));
    hub.send(AgentId("alice"), ringing("a2"));
    auto s = std::make_shared<Collector>();
    CHECK(hub.subscribe(AgentId("alice"), s.get(), s) == 2);
    hub.send(AgentId("alice"), ringing("a3"));
    REQUIRE(s->got.size() == 1);
    CHECK(s->got[0].first == 3);
}

TEST_CASE("resume replays the held messages after the given seq, in order") {
    PopHub hub;
    for (int i = 1; i <= 5; ++i) hub.send(AgentId("alice"), ringing("a" + std::to_string(i)));
    auto held = hub.replay(AgentId("alice"), 2);
    REQUIRE(held.size() == 3);
    CHECK(held[0].seq == 3);
    CHECK(held[1].seq == 4);
    CHECK(held[2].seq == 5);
    CHECK(json::parse(*held[0].text)["call"]["id"] == "a3");
    CHECK(hub.replay(AgentId("alice"), 5).empty());
    CHECK(hub.replay(AgentId("nobody"), 0).empty());
    CHECK(hub.stats().resumes == 3);
}

TEST_CASE("a resume from a seq beyond the latest (an earlier run of the process) replays everything held") {
    PopHub hub;
    hub.send(AgentId("alice"), ringing("a1"));
    hub.send(AgentId("alice"), ringing("a2"));
    auto held = hub.replay(AgentId("alice"), 500);
    REQUIRE(held.size() == 2);
    CHECK(held[0].seq == 1);
}

TEST_CASE("the hub keeps at most max_held_per_user messages per user, dropping the oldest") {
    PopHubOptions o;
    o.max_held_per_user = 3;
    PopHub hub(o);
    for (int i = 1; i <= 10; ++i) hub.send(AgentId("alice"), ringing("a" + std::to_string(i)));
    auto held = hub.replay(AgentId("alice"), 0);
    REQUIRE(held.size() == 3);
    CHECK(held[0].seq == 8);
    CHECK(held[2].seq == 10);
    // Numbering goes on regardless of what is held.
    hub.send(AgentId("alice"), ringing("a11"));
    CHECK(hub.latest_seq(AgentId("alice")) == 11);
}

TEST_CASE("messages are held for the retention window and forgotten after it") {
    auto clock = std::make_shared<FakeClock>();
    PopHubOptions o;
    o.retention = std::chrono::minutes(10);
    o.clock = [clock] { return clock->now; };
    PopHub hub(o);
    hub.send(AgentId("alice"), ringing("old"));
    clock->now += std::chrono::minutes(9);
    hub.send(AgentId("alice"), ringing("newer"));
    CHECK(hub.replay(AgentId("alice"), 0).size() == 2);
    clock->now += std::chrono::minutes(2);   // "old" is 11 minutes old now
    auto held = hub.replay(AgentId("alice"), 0);
    REQUIRE(held.size() == 1);
    CHECK(held[0].seq == 2);
}

TEST_CASE("a closed session is no longer delivered to and unsubscribe removes an open one") {
    PopHub hub;
    auto a = std::make_shared<Collector>();
    auto b = std::make_shared<Collector>();
    hub.subscribe(AgentId("alice"), a.get(), a);
    hub.subscribe(AgentId("alice"), b.get(), b);
    CHECK(hub.subscriber_count(AgentId("alice")) == 2);
    hub.unsubscribe(AgentId("alice"), a.get());
    b.reset();   // the session died without unsubscribing
    hub.send(AgentId("alice"), ringing("a1"));
    CHECK(a->got.empty());
    CHECK(hub.subscriber_count(AgentId("alice")) == 0);
    CHECK(hub.stats().deliveries == 0);
    CHECK(hub.stats().messages == 1);
}

TEST_CASE("a caller name that is not valid UTF-8 is replaced, never thrown on") {
    PopHub hub;
    auto a = std::make_shared<Collector>();
    hub.subscribe(AgentId("alice"), a.get(), a);
    json m = ringing("a1");
    m["call"]["from_name"] = std::string("bad \xff\xfe name");
    CHECK_NOTHROW(hub.send(AgentId("alice"), m));
    REQUIRE(a->got.size() == 1);
    CHECK_FALSE(json::parse(*a->got[0].second, nullptr, false).is_discarded());
}

TEST_CASE("after a restart a resume with the old process's seq gets every message the new one sent") {
    // The first process numbered from 1'700'000'000'000'001; the browser saw up to ...050.
    const std::uint64_t seen_before_restart = 1'700'000'000'000'050;
    PopHubOptions o;
    o.first_seq = 1'700'000'100'000'001;  // the new process started 100 s later
    PopHub hub(o);
    AgentId alice{"alice"};
    for (int i = 0; i < 80; ++i) hub.send(alice, json{{"type", "call.ringing"}, {"n", i}});
    CHECK(hub.latest_seq(alice) == o.first_seq + 79);
    CHECK(hub.latest_seq(AgentId{"nobody"}) == o.first_seq - 1);
    auto missed = hub.replay(alice, seen_before_restart);
    REQUIRE(missed.size() == 80);
    CHECK(missed.front().seq == o.first_seq);
    CHECK(json::parse(*missed.back().text)["n"] == 79);
}

TEST_CASE("a supervisors' broadcast reaches joined users only, each in their own seq, until they leave") {
    PopHub hub;
    auto sup = std::make_shared<Collector>();
    auto agent = std::make_shared<Collector>();
    hub.subscribe(AgentId("maryam"), sup.get(), sup);
    hub.subscribe(AgentId("alice"), agent.get(), agent);
    hub.join(PopSink::Audience::supervisors, AgentId("maryam"));
    hub.join(PopSink::Audience::supervisors, AgentId("maryam"));  // a second tab
    CHECK(hub.audience_size(PopSink::Audience::supervisors) == 1);
    hub.send(AgentId("maryam"), ringing("m1"));
    hub.broadcast(PopSink::Audience::supervisors, {{"type", "board.calls"}, {"calls", json::array()}});
    REQUIRE(sup->got.size() == 2);
    CHECK(sup->got[1].first == sup->got[0].first + 1);  // the user's own sequence
    CHECK(json::parse(*sup->got[1].second)["type"] == "board.calls");
    CHECK(agent->got.empty());
    hub.leave(PopSink::Audience::supervisors, AgentId("maryam"));
    CHECK(hub.audience_size(PopSink::Audience::supervisors) == 1);  // one tab still open
    hub.leave(PopSink::Audience::supervisors, AgentId("maryam"));
    CHECK(hub.audience_size(PopSink::Audience::supervisors) == 0);
    hub.broadcast(PopSink::Audience::supervisors, {{"type", "board.figures"}});
    CHECK(sup->got.size() == 2);
}

TEST_CASE("disconnect asks every open session of that user, and only that user, to close") {
    struct Ending : PopSubscriber {
        void deliver(std::uint64_t, std::shared_ptr<const std::string>) override {}
        void end(const char* why) override { reasons.push_back(why); }
        std::vector<std::string> reasons;
    };
    PopHub hub;
    auto a1 = std::make_shared<Ending>(), a2 = std::make_shared<Ending>(), b = std::make_shared<Ending>();
    hub.subscribe(AgentId("ann"), a1.get(), a1);
    hub.subscribe(AgentId("ann"), a2.get(), a2);
    hub.subscribe(AgentId("bob"), b.get(), b);
    CHECK(hub.disconnect(AgentId("ann"), "your account was disabled") == 2);
    CHECK(a1->reasons == std::vector<std::string>{"your account was disabled"});
    CHECK(a2->reasons.size() == 1);
    CHECK(b->reasons.empty());
    CHECK(hub.disconnect(AgentId("nobody"), "x") == 0);
}

TEST_CASE("a session checked before a disconnect and subscribed after it learns of it from the mark") {
    PopHub hub;
    const auto before = hub.disconnect_mark();
    CHECK(hub.disconnected_since(AgentId("dana"), before) == nullptr);
    hub.disconnect(AgentId("dana"), "your account was disabled");  // no session subscribed yet
    CHECK(std::string(hub.disconnected_since(AgentId("dana"), before)) == "your account was disabled");
    CHECK(hub.disconnected_since(AgentId("eve"), before) == nullptr);  // another user
    CHECK(hub.disconnected_since(AgentId("dana"), hub.disconnect_mark()) == nullptr);  // checked after: fine
}

TEST_CASE("board broadcasts are delivered live but never held for resume, so they cannot push pops out") {
    PopHubOptions o;
    o.max_held_per_user = 10;
    PopHub hub(o);
    auto sup = std::make_shared<Collector>();
    hub.subscribe(AgentId("maryam"), sup.get(), sup);
    hub.join(PopSink::Audience::supervisors, AgentId("maryam"));
    hub.send(AgentId("maryam"), ringing("m1"));
    for (int i = 0; i < 50; ++i)
        hub.broadcast(PopSink::Audience::supervisors, {{"type", "board.calls"}, {"calls", json::array()}});
    hub.send(AgentId("maryam"), ringing("m2"));
    CHECK(sup->got.size() == 52);  // every board message went out live
    auto held = hub.replay(AgentId("maryam"), 0);
    REQUIRE(held.size() == 2);     // only the two pops, the first one not evicted
    CHECK(json::parse(*held[0].text)["call"]["id"] == "m1");
    CHECK(json::parse(*held[1].text)["call"]["id"] == "m2");
    CHECK(held[1].seq == held[0].seq + 51);  // board messages still take their place in the user's seq
    // A resume from a board message's seq gets the pop after it.
    auto after_board = hub.replay(AgentId("maryam"), held[0].seq + 10);
    REQUIRE(after_board.size() == 1);
    CHECK(after_board[0].seq == held[1].seq);
}

TEST_CASE("an erased customer's held pops, and every later message of their calls, are never replayed") {
    PopHub hub;
    const AgentId alice("alice"), bob("bob");
    // Call c1 is from customer 7 (rang alice and bob); c2 from customer 8; c3 from nobody known.
    hub.send(alice, {{"type", "call.ringing"}, {"call", {{"id", "c1"}}}, {"customer", {{"id", 7}, {"name", "Ann"}}}});
    hub.send(bob, {{"type", "call.ringing"}, {"call", {{"id", "c1"}}}, {"customer", {{"id", 7}, {"name", "Ann"}}}});
    hub.send(alice, {{"type", "call.ringing"}, {"call", {{"id", "c2"}}}, {"customer", {{"id", 8}, {"name", "Ben"}}}});
    hub.send(bob, {{"type", "call.retracted"}, {"call", {{"id", "c1"}}}, {"reason", "answered_elsewhere"}});
    hub.send(alice, {{"type", "call.answered"}, {"call", {{"id", "c1"}, {"from", "+31201234567"}}}});
    hub.send(alice, {{"type", "call.ringing"}, {"call", {{"id", "c3"}}}, {"customer", nullptr}});
    hub.send(alice, {{"type", "call.ended"}, {"call", {{"id", "c1"}, {"customer_id", 7}}}});

    CHECK(hub.forget_customer(7) == 5);
    std::vector<std::string> left;
    for (const auto& user : {alice, bob})
        for (const auto& m : hub.replay(user, 0)) left.push_back(json::parse(*m.text)["call"]["id"]);
    CHECK(left == std::vector<std::string>{"c2", "c3"});
    CHECK(hub.forget_customer(7) == 0);
    // Numbering goes on: the next message follows the last one sent, not the last one held.
    const auto before = hub.latest_seq(alice);
    hub.send(alice, ringing("c4"));
    CHECK(hub.latest_seq(alice) == before + 1);
}

TEST_CASE("pop.shown counts once per pop the user was sent, from when the phone rang") {
    PopHub hub;
    const auto rang = *parse_iso("2026-12-04T10:00:00.000Z");
    auto pop = ringing("c1");
    pop["rang_at"] = format_iso(rang);
    hub.send(AgentId("alice"), pop);                                          // seq 1
    hub.send(AgentId("alice"), {{"type", "call.answered"}, {"call", {{"id", "c1"}}}});  // seq 2
    hub.send(AgentId("bob"), pop);                                            // bob's seq 1
    const auto now = rang + std::chrono::milliseconds(1250);
    CHECK_FALSE(hub.acknowledge_shown(AgentId("alice"), 1, "c2", now));      // another call
    CHECK_FALSE(hub.acknowledge_shown(AgentId("alice"), 2, "c1", now));      // not a ringing
    CHECK_FALSE(hub.acknowledge_shown(AgentId("alice"), 7, "c1", now));      // no such seq
    CHECK_FALSE(hub.acknowledge_shown(AgentId("carol"), 1, "c1", now));      // never popped to carol
    auto d = hub.acknowledge_shown(AgentId("alice"), 1, "c1", now);
    REQUIRE(d);
    CHECK(d->count() == 1250);
    CHECK_FALSE(hub.acknowledge_shown(AgentId("alice"), 1, "c1", now));      // a second tab, a repeat
    auto b = hub.acknowledge_shown(AgentId("bob"), 1, "c1", rang - std::chrono::seconds(1));
    REQUIRE(b);
    CHECK(b->count() == 0);  // a PBX clock ahead of ours never gives a negative time
}

TEST_CASE("pop.shown of a pop no longer held is ignored") {
    FakeClock clock;
    PopHubOptions o;
    o.max_held_per_user = 2;
    o.clock = [&clock] { return clock.now; };
    PopHub hub(o);
    hub.send(AgentId("alice"), ringing("c1"));
    hub.send(AgentId("alice"), ringing("c2"));
    hub.send(AgentId("alice"), ringing("c3"));
    CHECK_FALSE(hub.acknowledge_shown(AgentId("alice"), 1, "c1", now_ms()));
    CHECK(hub.acknowledge_shown(AgentId("alice"), 3, "c3", now_ms()));
}
