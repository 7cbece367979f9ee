// Agent states as rules, without a clock: every step takes `now`.
#include <doctest/doctest.h>

#include "ringside/core/agent_state.hpp"

using namespace ringside;
using namespace std::chrono_literals;

namespace {
const Timestamp t0{std::chrono::milliseconds{1'796'000'000'000}};
const AgentId alice{"alice"};
const AgentId bob{"bob"};

AgentStateRules rules() {
    AgentStateRules r;
    r.reasons = {"break", "lunch"};
    r.wrap_up = 15s;
    r.queue_wrap_up = {{"sales", 30s}, {"quick", 0s}};
    return r;
}
}  // namespace

TEST_CASE("an agent nobody changed is ready since the book started") {
    AgentStates book(rules(), t0);
    const auto s = book.status(alice);
    CHECK(s.state == WorkState::ready);
    CHECK(s.reason.empty());
    CHECK(s.since == t0);
    CHECK(!s.wrap_up_until);
    CHECK(book.known().empty());
    CHECK(!book.next_expiry());
}

TEST_CASE("not ready needs one of the configured reasons, and only not ready takes one") {
    AgentStates book(rules(), t0);
    auto r = book.set(alice, "not_ready", std::nullopt, "alice", t0 + 1s);
    REQUIRE(!r);
    CHECK(r.failure().code == DomainError::invalid_argument);
    CHECK(r.failure().message.find("'reason'") != std::string::npos);
    CHECK(r.failure().message.find("break, lunch") != std::string::npos);

    r = book.set(alice, "not_ready", std::string("nap"), "alice", t0 + 1s);
    REQUIRE(!r);
    CHECK(r.failure().message.find("\"nap\"") != std::string::npos);

    r = book.set(alice, "ready", std::string("lunch"), "alice", t0 + 1s);
    REQUIRE(!r);
    CHECK(r.failure().message.find("only for not_ready") != std::string::npos);

    r = book.set(alice, "away", std::nullopt, "alice", t0 + 1s);
    REQUIRE(!r);
    CHECK(r.failure().message.find("'state'") != std::string::npos);
    CHECK(r.failure().message.find("\"away\"") != std::string::npos);
    CHECK(book.known().empty());  // nothing refused is kept

    r = book.set(alice, "not_ready", std::string("lunch"), "alice", t0 + 2s);
    REQUIRE(r);
    REQUIRE(r.value());
    CHECK(r.value()->status.state == WorkState::not_ready);
    CHECK(r.value()->status.reason == "lunch");
    CHECK(r.value()->status.since == t0 + 2s);
    CHECK(r.value()->by == "alice");
    CHECK(book.status(alice) == r.value()->status);
}

TEST_CASE("choosing the state one is in changes nothing; another reason is a change") {
    AgentStates book(rules(), t0);
    auto r = book.set(alice, "ready", std::nullopt, "alice", t0 + 1s);
    REQUIRE(r);
    CHECK(!r.value());
    REQUIRE(book.set(alice, "not_ready", std::string("break"), "alice", t0 + 2s).value());
    r = book.set(alice, "not_ready", std::string("break"), "alice", t0 + 3s);
    REQUIRE(r);
    CHECK(!r.value());
    CHECK(book.status(alice).since == t0 + 2s);
    r = book.set(alice, "not_ready", std::string("lunch"), "sam", t0 + 4s);
    REQUIRE(r.value());
    CHECK(r.value()->by == "sam");
    CHECK(book.status(alice).since == t0 + 4s);
}

TEST_CASE("an answered call's end puts a ready agent in wrap-up, and its timer brings them back to ready") {
    AgentStates book(rules(), t0);
    auto c = book.call_ended(alice, std::nullopt, t0 + 10s);
    REQUIRE(c);
    CHECK(c->status.state == WorkState::wrap_up);
    CHECK(c->status.since == t0 + 10s);
    CHECK(c->status.wrap_up_until == t0 + 25s);
    CHECK(c->by == "system");
    CHECK(book.next_expiry() == t0 + 25s);

    CHECK(book.expire(t0 + 24s).empty());
    CHECK(book.status(alice).state == WorkState::wrap_up);
    auto done = book.expire(t0 + 26s);
    REQUIRE(done.size() == 1);
    CHECK(done[0].agent == alice);
    CHECK(done[0].status.state == WorkState::ready);
    CHECK(done[0].status.since == t0 + 25s);  // when it ran out, not when it was noticed
    CHECK(!book.next_expiry());
    CHECK(book.expire(t0 + 60s).empty());
}

TEST_CASE("a queue's own wrap-up wins over the default; zero means none") {
    AgentStates book(rules(), t0);
    auto c = book.call_ended(alice, std::string("sales"), t0);
    REQUIRE(c);
    CHECK(c->status.wrap_up_until == t0 + 30s);
    CHECK(!book.call_ended(bob, std::string("quick"), t0));
    CHECK(book.status(bob).state == WorkState::ready);
    c = book.call_ended(bob, std::string("other"), t0);
    REQUIRE(c);
    CHECK(c->status.wrap_up_until == t0 + 15s);
}

TEST_CASE("not ready is kept when a call ends, and chosen during wrap-up it cancels the timer") {
    AgentStates book(rules(), t0);
    REQUIRE(book.set(alice, "not_ready", std::string("break"), "alice", t0).value());
    CHECK(!book.call_ended(alice, std::nullopt, t0 + 5s));
    CHECK(book.status(alice).state == WorkState::not_ready);

    REQUIRE(book.call_ended(bob, std::nullopt, t0));
    REQUIRE(book.set(bob, "not_ready", std::string("lunch"), "bob", t0 + 3s).value());
    CHECK(!book.next_expiry());
    CHECK(book.expire(t0 + 60s).empty());
    CHECK(book.status(bob).state == WorkState::not_ready);
    CHECK(!book.status(bob).wrap_up_until);
}

TEST_CASE("a second call ending in wrap-up starts the timer again, keeping when wrap-up began") {
    AgentStates book(rules(), t0);
    REQUIRE(book.call_ended(alice, std::nullopt, t0));
    auto c = book.call_ended(alice, std::nullopt, t0 + 10s);
    REQUIRE(c);
    CHECK(c->status.since == t0);
    CHECK(c->status.wrap_up_until == t0 + 25s);
    CHECK(book.expire(t0 + 20s).empty());
}

TEST_CASE("wrap-up chosen by hand runs the default timer; ready chosen ends it at once") {
    AgentStates book(rules(), t0);
    auto r = book.set(alice, "wrap_up", std::nullopt, "alice", t0);
    REQUIRE(r.value());
    CHECK(r.value()->status.wrap_up_until == t0 + 15s);
    r = book.set(alice, "ready", std::nullopt, "alice", t0 + 2s);
    REQUIRE(r.value());
    CHECK(!book.next_expiry());
}

TEST_CASE("several wrap-ups run out in the order they end") {
    AgentStates book(rules(), t0);
    REQUIRE(book.call_ended(bob, std::nullopt, t0));
    REQUIRE(book.call_ended(alice, std::string("sales"), t0 - 20s));  // ends at t0 + 10s
    CHECK(book.next_expiry() == t0 + 10s);
    auto done = book.expire(t0 + 1min);
    REQUIRE(done.size() == 2);
    CHECK(done[0].agent == alice);
    CHECK(done[1].agent == bob);
}

TEST_CASE("a state restored after a restart is the agent's, and a wrap-up that ran out meanwhile expires") {
    AgentStates book(rules(), t0);
    AgentStatus s;
    s.state = WorkState::wrap_up;
    s.since = t0 - 20s;
    s.wrap_up_until = t0 - 5s;
    book.restore(alice, s);
    CHECK(book.status(alice) == s);
    CHECK(book.next_expiry() == t0 - 5s);
    auto done = book.expire(t0);
    REQUIRE(done.size() == 1);
    CHECK(done[0].status.since == t0 - 5s);
}

TEST_CASE("reason names a config may list") {
    CHECK(valid_reason_name("break"));
    CHECK(valid_reason_name("after_call-2"));
    CHECK(!valid_reason_name(""));
    CHECK(!valid_reason_name("Lunch"));
    CHECK(!valid_reason_name("a b"));
    CHECK(!valid_reason_name(std::string(33, 'a')));
    CHECK(work_state_from_string("wrap_up") == WorkState::wrap_up);
    CHECK(!work_state_from_string("Ready"));
    CHECK(to_string(WorkState::not_ready) == "not_ready");
}

TEST_CASE("time in each state over a period: from the state held when it began to the end, split by reason") {
    auto ch = [](const char* agent, WorkState s, const char* reason, Timestamp at) {
        return AgentStateChange{AgentId{agent}, AgentStatus{s, reason, at, std::nullopt}, "x"};
    };
    const Timestamp from = t0, to = t0 + 1h;
    // alice was not ready (lunch) before the period; bob's first change is inside it.
    std::vector<AgentStateChange> before{ch("alice", WorkState::not_ready, "lunch", t0 - 10min)};
    std::vector<AgentStateChange> changes{
        ch("alice", WorkState::ready, "", t0 + 10min),
        ch("bob", WorkState::ready, "", t0 + 5min),
        ch("alice", WorkState::wrap_up, "", t0 + 20min),
        ch("alice", WorkState::ready, "", t0 + 21min),
        ch("alice", WorkState::not_ready, "break", t0 + 50min),
        ch("bob", WorkState::not_ready, "lunch", t0 + 2h),  // after the period: not counted
    };
    auto t = time_in_states(before, changes, from, to);
    REQUIRE(t.size() == 2);
    CHECK(t[0].agent == alice);
    CHECK(t[0].not_ready_seconds == (10 + 10) * 60);
    CHECK(t[0].not_ready_by_reason.at("lunch") == 10 * 60);
    CHECK(t[0].not_ready_by_reason.at("break") == 10 * 60);
    CHECK(t[0].wrap_up_seconds == 60);
    CHECK(t[0].ready_seconds == (10 + 29) * 60);
    CHECK(t[0].ready_seconds + t[0].not_ready_seconds + t[0].wrap_up_seconds == 3600);
    CHECK(t[1].agent == bob);
    CHECK(t[1].ready_seconds == 55 * 60);
    CHECK(t[1].not_ready_seconds == 0);
    CHECK(time_in_states({}, {}, from, to).empty());
}
