// Agent states end to end: the real `ringside serve` binary, a simulated
// Asterisk over real AMI (which answers QueuePause and keeps each device's
// paused state), real WebSocket clients, a real SQLite file. Who may read
// and set whose state, what a bad request is told, the `agent.state` push,
// wrap-up after an answered call and its return to ready, the pause on the
// PBX, and the state kept across a restart.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "ringside/core/time.hpp"

#include "staffed.hpp"

using namespace ringside;
using namespace ringside::test;
using json = nlohmann::json;

namespace {

SiteOptions short_wrap_up() {
    SiteOptions o;
    o.extra_config = "[agent_states]\nreasons = [\"break\", \"lunch\", \"training\"]\nwrap_up_seconds = 2\n";
    return o;
}

HttpResponse put_state(Site& site, const std::string& token, const json& body, const std::string& agent = "") {
    return http(site.port, "PUT", "/api/agent/state" + (agent.empty() ? std::string() : "?agent=" + agent), body.dump(),
                token);
}

HttpResponse get_state(Site& site, const std::string& token, const std::string& agent = "") {
    return http(site.port, "GET", "/api/agent/state" + (agent.empty() ? std::string() : "?agent=" + agent), "", token);
}

/// Polls until pred holds (or about 10 s pass); the outcome of the last poll.
bool eventually(const std::function<bool()>& pred) {
    for (int i = 0; i < 200; ++i) {
        if (pred()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return pred();
}

/// The next agent.state for this agent (others skipped).
std::optional<json> next_state_of(WsClient& ws, const std::string& agent, std::chrono::milliseconds timeout = 10s) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        auto m = ws.next_of("agent.state", std::chrono::duration_cast<std::chrono::milliseconds>(
                                               until - std::chrono::steady_clock::now()));
        if (!m) return std::nullopt;
        if ((*m)["agent"] == agent) return m;
    }
    return std::nullopt;
}

std::string message_of(const HttpResponse& r) { return r.json().value("message", ""); }

}  // namespace

TEST_CASE("an agent sets their own state, supervisors set anyone's, and every change is pushed and paused on the PBX") {
    Staffed s(short_wrap_up());
    Site& site = s.site;
    WsClient alice(site.port, s.alice_token);
    WsClient bob(site.port, s.bob_token);
    WsClient sam(site.port, s.sup);

    auto r = get_state(site, s.alice_token);
    REQUIRE(r.status == 200);
    CHECK(r.json()["agent"] == "alice");
    CHECK(r.json()["state"] == "ready");
    CHECK(r.json()["reason"].is_null());
    CHECK(r.json()["reasons"] == json::array({"break", "lunch", "training"}));
    CHECK(r.json()["wrap_up_seconds"] == 2);
    const auto pauses_before = site.pbx->counters().queue_pauses;

    r = put_state(site, s.alice_token, {{"state", "not_ready"}, {"reason", "lunch"}});
    REQUIRE(r.status == 200);
    CHECK(r.json()["state"] == "not_ready");
    CHECK(r.json()["reason"] == "lunch");
    const auto since = r.json()["since"];
    auto pushed = next_state_of(alice, "alice");
    REQUIRE(pushed);
    CHECK((*pushed)["state"] == "not_ready");
    CHECK((*pushed)["reason"] == "lunch");
    CHECK((*pushed)["since"] == since);
    CHECK((*pushed)["seq"].is_number());
    auto seen = next_state_of(sam, "alice");
    REQUIRE(seen);
    CHECK((*seen)["state"] == "not_ready");
    // Paused in her queues on the PBX, with her device as the adapter names it.
    CHECK(eventually([&] { return site.pbx->interface_paused("PJSIP/1001"); }));
    CHECK(site.pbx->counters().queue_pauses == pauses_before + 1);

    // The same choice again changes nothing: no push, no second pause.
    r = put_state(site, s.alice_token, {{"state", "not_ready"}, {"reason", "lunch"}});
    CHECK(r.status == 200);
    CHECK(r.json()["since"] == since);

    // An agent may not read or set anyone else's state.
    CHECK(put_state(site, s.alice_token, {{"state", "not_ready"}, {"reason", "break"}}, "bob").status == 403);
    CHECK(get_state(site, s.alice_token, "bob").status == 403);
    CHECK(get_state(site, s.bob_token).json()["state"] == "ready");

    // A supervisor may, and bob hears it.
    r = put_state(site, s.sup, {{"state", "not_ready"}, {"reason", "training"}}, "bob");
    REQUIRE(r.status == 200);
    CHECK(r.json()["agent"] == "bob");
    auto bobs = next_state_of(bob, "bob");
    REQUIRE(bobs);
    CHECK((*bobs)["reason"] == "training");
    CHECK(get_state(site, s.sup, "bob").json()["state"] == "not_ready");
    CHECK(eventually([&] { return site.pbx->interface_paused("PJSIP/1002"); }));
    CHECK(put_state(site, s.sup, {{"state", "ready"}}, "nobody").status == 404);

    // Bad requests are 400 and say what is wrong; nothing changes.
    r = put_state(site, s.alice_token, {{"state", "away"}});
    CHECK(r.status == 400);
    CHECK(message_of(r).find("'state'") != std::string::npos);
    CHECK(message_of(r).find("away") != std::string::npos);
    r = put_state(site, s.alice_token, {{"state", "not_ready"}, {"reason", "nap"}});
    CHECK(r.status == 400);
    CHECK(message_of(r).find("'reason'") != std::string::npos);
    CHECK(message_of(r).find("nap") != std::string::npos);
    r = put_state(site, s.alice_token, {{"state", "not_ready"}});
    CHECK(r.status == 400);
    CHECK(message_of(r).find("'reason'") != std::string::npos);
    r = put_state(site, s.alice_token, {{"state", "ready"}, {"reason", "lunch"}});
    CHECK(r.status == 400);
    CHECK(message_of(r).find("'reason'") != std::string::npos);
    r = put_state(site, s.alice_token, {{"status", "ready"}});
    CHECK(r.status == 400);
    CHECK(message_of(r).find("status") != std::string::npos);
    r = put_state(site, s.alice_token, {{"state", 1}});
    CHECK(r.status == 400);
    CHECK(message_of(r).find("'state'") != std::string::npos);
    CHECK(http(site.port, "PUT", "/api/agent/state", json{{"state", "ready"}}.dump()).status == 401);
    CHECK(get_state(site, s.alice_token).json()["reason"] == "lunch");

    // The wallboard shows each agent's state and since when.
    auto board = http(site.port, "GET", "/api/wallboard", "", s.sup).json();
    bool found = false;
    for (const auto& a : board["agents"])
        if (a["username"] == "alice") {
            found = true;
            CHECK(a["agent_state"] == "not_ready");
            CHECK(a["reason"] == "lunch");
            CHECK(a["state_since"] == since);
        }
    CHECK(found);

    // Ready again: unpaused.
    r = put_state(site, s.alice_token, {{"state", "ready"}});
    REQUIRE(r.status == 200);
    CHECK(eventually([&] { return !site.pbx->interface_paused("PJSIP/1001"); }));

    // The time in each state, from the state log: alice's lunch, bob's training.
    const std::string period = "/api/reports/agent-states?since=" + since.get<std::string>() +
                               "&until=" + format_iso(now_ms() + std::chrono::hours(1));
    auto rep = http(site.port, "GET", period, "", s.sup);
    REQUIRE(rep.status == 200);
    std::map<std::string, json> by_agent;
    const auto report = rep.json();
    for (const auto& a : report["agents"]) by_agent[a["agent"].get<std::string>()] = a;
    REQUIRE(by_agent.count("alice") == 1);
    CHECK(by_agent["alice"]["not_ready_by_reason"].contains("lunch"));
    REQUIRE(by_agent.count("bob") == 1);
    CHECK(by_agent["bob"]["not_ready_by_reason"].contains("training"));
    CHECK(http(site.port, "GET", period, "", s.alice_token).status == 403);
    CHECK(http(site.port, "GET", "/api/reports/agent-states?since=yesterday&until=now", "", s.sup).status == 400);
}

TEST_CASE("an answered call's end puts the agent in wrap-up, paused, and its timer makes them ready again") {
    Staffed s(short_wrap_up());
    Site& site = s.site;
    WsClient alice(site.port, s.alice_token);
    WsClient sam(site.port, s.sup);

    const auto id = site.call("+989121234567", {"1001"}, sim::Outcome::answered, 500ms, 1000ms);
    REQUIRE(site.wait_ended(s.sup, id));
    auto wrap = next_state_of(alice, "alice");
    REQUIRE(wrap);
    CHECK((*wrap)["state"] == "wrap_up");
    CHECK((*wrap)["wrap_up_until"].is_string());
    CHECK(eventually([&] { return site.pbx->interface_paused("PJSIP/1001"); }));
    auto ready = next_state_of(alice, "alice");
    REQUIRE(ready);
    CHECK((*ready)["state"] == "ready");
    CHECK((*ready)["since"] == (*wrap)["wrap_up_until"]);
    CHECK(eventually([&] { return !site.pbx->interface_paused("PJSIP/1001"); }));
    auto board_side = next_state_of(sam, "alice");
    REQUIRE(board_side);
    CHECK((*board_side)["state"] == "wrap_up");

    // Not ready chosen during wrap-up: it stays, the timer does not make her ready.
    const auto id2 = site.call("+989121234567", {"1001"}, sim::Outcome::answered, 500ms, 500ms);
    REQUIRE(site.wait_ended(s.sup, id2));
    wrap = next_state_of(alice, "alice");
    REQUIRE(wrap);
    CHECK((*wrap)["state"] == "wrap_up");
    REQUIRE(put_state(site, s.alice_token, {{"state", "not_ready"}, {"reason", "break"}}).status == 200);
    auto chosen = next_state_of(alice, "alice");
    REQUIRE(chosen);
    CHECK((*chosen)["state"] == "not_ready");
    CHECK(!next_state_of(alice, "alice", 3500ms));  // past the wrap-up's end: nothing more
    CHECK(get_state(site, s.alice_token).json()["state"] == "not_ready");

    // A missed call (not answered) starts no wrap-up.
    REQUIRE(put_state(site, s.alice_token, {{"state", "ready"}}).status == 200);
    REQUIRE(next_state_of(alice, "alice"));
    const auto id3 = site.call("+989121234567", {"1001"}, sim::Outcome::caller_cancels, 500ms, 0ms);
    REQUIRE(site.wait_ended(s.sup, id3));
    CHECK(!next_state_of(alice, "alice", 1500ms));
    CHECK(get_state(site, s.alice_token).json()["state"] == "ready");
}

TEST_CASE("an agent's state is kept across a restart of Ringside, and applied again when the PBX link comes back") {
    Staffed s(short_wrap_up());
    Site& site = s.site;
    auto r = put_state(site, s.alice_token, {{"state", "not_ready"}, {"reason", "training"}});
    REQUIRE(r.status == 200);
    const auto since = r.json()["since"];
    REQUIRE(put_state(site, s.sup, {{"state", "wrap_up"}}, "bob").status == 200);
    REQUIRE(site.stop_ringside() == 0);

    site.start_ringside();
    const auto alice_token = site.token("alice");
    r = get_state(site, alice_token);
    REQUIRE(r.status == 200);
    CHECK(r.json()["state"] == "not_ready");
    CHECK(r.json()["reason"] == "training");
    CHECK(r.json()["since"] == since);
    // Bob's wrap-up ran out while the service was down: he is ready, since when it ended.
    const auto sup = site.token("sam");
    CHECK(eventually([&] { return get_state(site, sup, "bob").json()["state"] == "ready"; }));
    CHECK(eventually([&] { return !site.pbx->interface_paused("PJSIP/1002"); }));

    // The link to the PBX drops and comes back (a restarted PBX has forgotten
    // its pauses): after the new login Ringside applies every known state again.
    REQUIRE(site.wait_pbx_linked());
    const auto before = site.pbx->counters().queue_pauses;
    site.pbx->drop_clients();
    CHECK(eventually([&] { return site.pbx->counters().queue_pauses == before + 2; }));  // alice paused, bob unpaused
    CHECK(site.pbx->interface_paused("PJSIP/1001"));
    CHECK_FALSE(site.pbx->interface_paused("PJSIP/1002"));
}
