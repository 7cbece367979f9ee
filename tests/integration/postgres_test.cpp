// The real `ringside` binary on PostgreSQL ([database] url): a real server
// the test starts (tests/contract/pg_server.hpp), users made by the real
// CLI, calls from the simulated Asterisk over AMI. The pop, the call record,
// the customer's history, the disposition, the call log and the reports all
// go through the PostgreSQL store, and survive a restart of Ringside. Exits
// 77 (skipped) where PostgreSQL is not installed.
#include <doctest/doctest.h>

#include <chrono>
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
