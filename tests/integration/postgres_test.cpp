// The real `ringside` binary on PostgreSQL ([database] url): a real server
// the test starts (tests/contract/pg_server.hpp), users made by the real
// CLI, calls from the simulated Asterisk over AMI. The pop, the call record,
// the customer's history, the disposition, the call log and the reports all
// go through the PostgreSQL store, and survive a restart of Ringside. Exits
// 77 (skipped) where PostgreSQL is not installed.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <ctime>

#include "../contract/pg_server.hpp"
#include "staffed.hpp"

using namespace ringside;
using namespace ringside::test;
using json = nlohmann::json;

namespace {

std::string iso(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return b;
}

SiteOptions on_postgres() {
    SiteOptions o;
    o.database_url = contract::PgServer::get().fresh_database();
    return o;
}

}  // namespace

TEST_CASE("on PostgreSQL a call pops with its customer, is logged and reported, and outlives a restart") {
    Staffed s(on_postgres());
    WsClient alice(s.site.port, s.alice_token);
    auto id = s.site.call("0912 123 4567", {"1001"}, sim::Outcome::answered, 800ms, 600ms);
    auto ring = alice.next_of("call.ringing");
    REQUIRE(ring);
    CHECK((*ring)["call"]["id"] == id);
    CHECK((*ring)["customer"]["name"] == "Sara Ahmadi");
    REQUIRE((*ring)["open_issues"].size() == 1);
    CHECK((*ring)["open_issues"][0]["title"] == "Refund not received");
    REQUIRE(alice.next_of("call.ended"));

    auto rec = s.site.wait_ended(s.sup, id);
    REQUIRE(rec);
    CHECK((*rec)["agent"] == "alice");
    CHECK((*rec)["customer_id"] == s.sara);

    auto saved = http(s.site.port, "POST", "/api/calls/" + id + "/disposition",
                      json{{"disposition", "resolved"}, {"notes", "refund to card 4111 1111 1111 1111 done"}}.dump(),
                      s.alice_token);
    CHECK(saved.status == 200);
    auto late = http(s.site.port, "POST", "/api/calls/" + id + "/disposition",
                     json{{"disposition", "callback"}, {"notes", ""}, {"previous", ""}}.dump(), s.alice_token);
    CHECK(late.status == 409);  // the store's compare-and-set, on PostgreSQL too

    auto file = http(s.site.port, "GET", "/api/customers/" + std::to_string(s.sara), "", s.alice_token);
    REQUIRE(file.status == 200);
    REQUIRE_FALSE(file.json()["recent_interactions"].empty());
    CHECK(file.json()["recent_interactions"][0]["channel"] == "call");

    auto logged = http(s.site.port, "GET", "/api/calls?limit=10&text=refund", "", s.sup);
    REQUIRE(logged.status == 200);
    REQUIRE(logged.json()["calls"].size() == 1);
    const auto notes = logged.json()["calls"][0]["notes"].get<std::string>();
    CHECK(notes.find("4111 1111 1111 1111") == std::string::npos);  // masked when stored

    const auto now = std::chrono::system_clock::now();
    auto report = http(s.site.port, "GET",
                       "/api/reports?since=" + iso(now - std::chrono::hours(2)) + "&until=" + iso(now + std::chrono::hours(2)),
                       "", s.sup);
    REQUIRE(report.status == 200);
    REQUIRE(report.json()["agents"].size() == 1);
    CHECK(report.json()["agents"][0]["agent"] == "alice");
    CHECK(report.json()["agents"][0]["answered"] == 1);

    // Ringside restarts; everything it stored is still there.
    CHECK(s.site.stop_ringside() == 0);
    s.site.start_ringside();
    const auto sup = s.site.token("sam");
    auto again = http(s.site.port, "GET", "/api/calls?limit=10", "", sup);
    REQUIRE(again.status == 200);
    REQUIRE(again.json()["calls"].size() == 1);
    CHECK(again.json()["calls"][0]["disposition"] == "resolved");
    CHECK(http(s.site.port, "GET", "/api/customers/" + std::to_string(s.sara), "", sup).status == 200);
}

TEST_CASE("on PostgreSQL a database outage in the middle of calls loses no call record and pops on") {
    Staffed s(on_postgres());
    WsClient alice(s.site.port, s.alice_token);
    auto& db = contract::PgServer::get();
    db.stop();
    // Calls while the database is down: the phones still ring from the
    // directory in memory, the pops go out (as unknown callers: the
    // customer file cannot be read), the records wait in memory.
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(s.site.call("+98912123456" + std::to_string(i), {"1001"}, sim::Outcome::answered, 300ms, 300ms));
        REQUIRE(alice.next_of("call.ringing"));
        REQUIRE(alice.next_of("call.ended"));
    }
    CHECK(wait_metric(s.site.port, "ringside_storage_unavailable 1"));
    CHECK(http(s.site.port, "GET", "/metrics").body.find("ringside_storage_queued_writes 0") == std::string::npos);
    db.start();
    CHECK(wait_metric(s.site.port, "ringside_storage_unavailable 0", 30s));
    // Every record stored, once, as it ended; the socket stayed open throughout.
    for (const auto& id : ids) {
        auto rec = s.site.wait_ended(s.sup, id, 20s);
        REQUIRE(rec);
        CHECK((*rec)["status"] == "answered");
        CHECK((*rec)["agent"] == "alice");
    }
    const auto calls = s.site.calls(s.sup);
    CHECK(calls.size() == 3);
    for (const auto& id : ids) CHECK(count_id(calls, id) == 1);
    CHECK_FALSE(alice.closed());
}

TEST_CASE("a config names one database, and the SQLite file's backup is refused on PostgreSQL") {
    TempDir d;
    write_file(d.path / "both.toml", "[database]\npath = \"x.db\"\nurl = \"postgresql://ringside@db.example/r\"\n");
    auto both = run({ringside_binary().string(), "check-config", (d.path / "both.toml").string()}, d.path);
    CHECK(both.status == 1);
    CHECK((both.out + both.err).find("database.url") != std::string::npos);
    CHECK((both.out + both.err).find("database.path") != std::string::npos);

    write_file(d.path / "bad.toml", "[database]\nurl = \"mysql://db.example/r\"\n");
    auto bad = run({ringside_binary().string(), "check-config", (d.path / "bad.toml").string()}, d.path);
    CHECK(bad.status == 1);
    CHECK((bad.out + bad.err).find("must be a PostgreSQL URL") != std::string::npos);

    write_file(d.path / "pg.toml", "[database]\nurl = \"postgresql://ringside@db.example/r\"\n");
    auto ok = run({ringside_binary().string(), "check-config", (d.path / "pg.toml").string()}, d.path);
    CHECK(ok.status == 0);
    auto backup =
        run({ringside_binary().string(), "backup", "--config", (d.path / "pg.toml").string(), (d.path / "o.db").string()},
            d.path);
    CHECK(backup.status != 0);
    CHECK(backup.err.find("pg_dump") != std::string::npos);
}

TEST_CASE("migrate copies the demo's SQLite file into PostgreSQL, table by table, and a second run copies nothing twice") {
    TempDir d;
    const auto data = d.path / "demo";
    const auto demo_port = free_port();
    {
        // The demo seeds its file and takes a call for alice before it stops.
        Process demo({ringside_binary().string(), "demo", "--listen", "127.0.0.1:" + std::to_string(demo_port),
                      "--data", data.string()},
                     d.path);
        REQUIRE(wait_healthy(demo_port, 30s));
        WsClient alice(demo_port, login(demo_port, "alice", "agent-demo"));
        REQUIRE(alice.next_of("call.ringing", 60s));
        alice.close();
        demo.signal(SIGTERM);
        REQUIRE(demo.wait(20s) == std::optional<int>(0));
    }
    const auto url = contract::PgServer::get().fresh_database();
    const auto db = (data / "ringside.db").string();
    auto first = run({ringside_binary().string(), "migrate", "--from", db, "--to", url}, d.path);
    INFO(first.out, first.err);
    REQUIRE(first.status == 0);
    CHECK(first.out.find("customers: ") != std::string::npos);
    CHECK(first.out.find("calls: ") != std::string::npos);
    CHECK(first.out.find("MISMATCH") == std::string::npos);
    auto second = run({ringside_binary().string(), "migrate", "--from", db, "--to", url}, d.path);
    REQUIRE(second.status == 0);
    CHECK(second.out.find("customers: ") != std::string::npos);
    CHECK(count(second.out, "copied by an earlier run") == count(first.out, " rows, "));
    CHECK(second.out.find("MISMATCH") == std::string::npos);

    // Ringside on the copy: the demo's users sign in, its customers are
    // found by a word inside their name, and its call is in the log.
    SiteOptions o;
    o.database_url = url;
    Site site(o);
    site.start_pbx();
    site.start_ringside();
    const auto sup = site.token("supervisor", "supervisor-demo");
    auto found = http(site.port, "GET", "/api/customers?q=hmad", "", sup);
    REQUIRE(found.status == 200);
    REQUIRE_FALSE(found.json()["customers"].empty());
    CHECK(found.json()["customers"][0]["name"] == "Sara Ahmadi");
    CHECK_FALSE(site.calls(sup).empty());
    // New rows get new ids: the identity counters moved past the copied ones.
    CHECK(site.add_customer(sup, "After Migration", "+989129999999") > 0);

    // A database holding rows this command did not copy is refused, untouched.
    SiteOptions other;
    other.database_url = contract::PgServer::get().fresh_database();
    Site used(other);
    REQUIRE(used.add_user("zed", "agent", "1009") == 0);
    auto refused = run({ringside_binary().string(), "migrate", "--from", db, "--to", other.database_url}, d.path);
    CHECK(refused.status != 0);
    CHECK(refused.err.find("already holds rows in users") != std::string::npos);
}

