// The wallboard's pure parts: agents' states from live calls and presence,
// the figures' wire form, and the server's local day.
#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

#include "../../src/server/wallboard.hpp"

using namespace ringside;
using namespace ringside::server::detail;
using nlohmann::json;

namespace {

User user(const char* name, Role role, const char* ext, bool disabled = false) {
    User u;
    u.username = AgentId(name);
    u.name = name;
    u.role = role;
    if (ext) u.extension = Extension(ext);
    u.disabled = disabled;
    return u;
}

std::string state_of(const json& agents, const std::string& who) {
    for (const auto& a : agents)
        if (a["username"] == who) return a["state"];
    return "absent";
}

}  // namespace

TEST_CASE("an agent is on a call, ringing, available or offline; the phone's state wins over presence") {
    const std::vector<User> users{user("alice", Role::agent, "1001"), user("bob", Role::agent, "1002"),
                                  user("sara", Role::agent, "1003"), user("dave", Role::agent, "1004"),
                                  user("gone", Role::agent, "1005", true), user("maryam", Role::supervisor, nullptr),
                                  user("lead", Role::supervisor, "1009")};
    const CallService::BoardList live{std::make_shared<const json>(json{
        {"id", "c1"}, {"status", "answered"}, {"agent", "alice"}, {"extension", "1001"},
        {"ringing", json::array({{{"extension", "1002"}, {"agent", "bob"}, {"since", "x"}}})}})};
    auto online = [](const AgentId& u) { return u.value() == "alice" || u.value() == "sara"; };
    const auto agents = wallboard_agents(users, live, online);
    CHECK(state_of(agents, "alice") == "on_call");
    CHECK(state_of(agents, "bob") == "ringing");     // browser closed, phone ringing
    CHECK(state_of(agents, "sara") == "available");
    CHECK(state_of(agents, "dave") == "offline");
    CHECK(state_of(agents, "gone") == "absent");     // disabled users are not on the board
    CHECK(state_of(agents, "maryam") == "absent");   // a supervisor without a phone
    CHECK(state_of(agents, "lead") == "offline");    // a supervisor with a phone takes calls too
}

TEST_CASE("board.agent_changes carries the agents that changed, the new ones and the usernames gone") {
    const std::vector<User> users{user("alice", Role::agent, "1001"), user("bob", Role::agent, "1002"),
                                  user("sara", Role::agent, "1003")};
    const CallService::BoardList idle;
    auto nobody = [](const AgentId&) { return false; };
    const auto before = board_agents(users, idle, nobody);
    REQUIRE(before.size() == 3);
    CHECK(agent_changes(before, before).empty());

    // bob's phone rings, sara is disabled, dave is added.
    std::vector<User> later{user("alice", Role::agent, "1001"), user("bob", Role::agent, "1002"),
                            user("sara", Role::agent, "1003", true), user("dave", Role::agent, "1004")};
    const CallService::BoardList ringing{std::make_shared<const json>(json{
        {"id", "c1"}, {"status", "ringing"}, {"agent", nullptr}, {"extension", nullptr},
        {"ringing", json::array({{{"extension", "1002"}, {"agent", "bob"}, {"since", "x"}}})}})};
    const auto now = board_agents(later, ringing, nobody);
    const auto c = agent_changes(before, now);
    REQUIRE(c.changed.size() == 2);
    CHECK(c.changed[0]->username == "bob");
    CHECK(c.changed[0]->state == "ringing");
    CHECK(c.changed[1]->username == "dave");
    CHECK(c.removed == std::vector<std::string>{"sara"});
    // The entry on the wire is the one board.agents lists.
    CHECK(board_agent_json(*c.changed[0]) == wallboard_agents(later, ringing, nobody)[1]);
}

TEST_CASE("figures go out with the service level threshold they were counted with") {
    CallFigures f;
    f.offered = 10;
    f.answered = 8;
    f.answered_within = 6;
    f.service_level = 0.75;
    const auto j = figures_json(f, 30);
    CHECK(j["offered"] == 10);
    CHECK(j["service_level"] == 0.75);
    CHECK(j["service_level_seconds"] == 30);
}

TEST_CASE("today is the server's local day") {
    setenv("TZ", "Asia/Tehran", 1);
    tzset();
    // 2026-11-30T22:00:00Z is already 1 December in Tehran (UTC+3:30).
    const Timestamp t{std::chrono::milliseconds{1'796'076'000'000}};
    const auto [from, to] = local_day(t);
    CHECK(format_iso(from) == "2026-11-30T20:30:00.000Z");
    CHECK(format_iso(to) == "2026-12-01T20:30:00.000Z");
    unsetenv("TZ");
    tzset();
}

TEST_CASE("today's figures from a settled part and the calls since are the figures of the whole day") {
    // Calls 1-3 settled (two answered: waits 10 and 30, talks 100 and 300;
    // one missed), calls 4-5 since (one answered: wait 5, talk 50; one ringing).
    CallFigures settled;
    settled.offered = 3, settled.answered = 2, settled.missed = 1;
    settled.average_wait_seconds = 20, settled.average_talk_seconds = 200, settled.answered_within = 1;
    CallFigures since;
    since.offered = 2, since.answered = 1, since.ringing = 1;
    since.average_wait_seconds = 5, since.average_talk_seconds = 50, since.answered_within = 1;
    const auto f = add_figures(settled, since);
    CHECK(f.offered == 5);
    CHECK(f.answered == 3);
    CHECK(f.missed == 1);
    CHECK(f.ringing == 1);
    CHECK(f.average_wait_seconds == doctest::Approx(15.0));  // (10 + 30 + 5) / 3
    CHECK(f.average_talk_seconds == doctest::Approx(150.0)); // (100 + 300 + 50) / 3
    CHECK(f.answered_within == 2);
    CHECK(f.service_level == doctest::Approx(0.5));  // 2 of the 4 finished
    const auto none = add_figures(CallFigures{}, CallFigures{});
    CHECK(none.service_level == 1.0);
    CHECK(none.average_wait_seconds == 0.0);
}

TEST_CASE("the board lists each agent's chosen state with its reason and since when, and a change is an agent change") {
    const std::vector<User> users{user("alice", Role::agent, "1001"), user("bob", Role::agent, "1002")};
    const CallService::BoardList idle;
    auto nobody = [](const AgentId&) { return false; };
    const Timestamp t{std::chrono::milliseconds{1'796'000'000'000}};
    AgentStatus lunch{WorkState::not_ready, "lunch", t, std::nullopt};
    AgentStatus ready{WorkState::ready, "", t, std::nullopt};
    auto states = [&](const AgentId& u) { return u.value() == "alice" ? lunch : ready; };
    const auto agents = wallboard_agents(users, idle, nobody, states);
    REQUIRE(agents.size() == 2);
    CHECK(agents[0]["agent_state"] == "not_ready");
    CHECK(agents[0]["reason"] == "lunch");
    CHECK(agents[0]["state_since"] == format_iso(t));
    CHECK(agents[0]["wrap_up_until"].is_null());
    CHECK(agents[1]["agent_state"] == "ready");
    CHECK(agents[1]["reason"].is_null());

    const auto before = board_agents(users, idle, nobody, states);
    lunch = AgentStatus{WorkState::wrap_up, "", t, t + std::chrono::seconds(15)};
    const auto after = board_agents(users, idle, nobody, states);
    auto c = agent_changes(before, after);
    REQUIRE(c.changed.size() == 1);
    CHECK(c.changed[0]->username == "alice");
    CHECK(board_agent_json(*c.changed[0])["wrap_up_until"] == format_iso(t + std::chrono::seconds(15)));
}
