// Bad input and failures against the real binary: hostile AMI bytes, wrong
// AMI credentials, a restart mid-call, malformed API requests. Each gets a
// clear error and nothing already stored is lost.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>

#include <SQLiteCpp/SQLiteCpp.h>

#include "staffed.hpp"

using namespace ringside;
using namespace ringside::test;
using json = nlohmann::json;

namespace {

std::string fixture(const std::string& rel) { return read_file(std::filesystem::path(RINGSIDE_FIXTURES_DIR) / rel); }

/// A cacofonisk capture as AMI wire bytes.
std::string cacofonisk_wire(const std::string& rel) {
    auto doc = nlohmann::ordered_json::parse(fixture("ami/cacofonisk/" + rel));
    std::string out;
    for (const auto& obj : doc) {
        for (const auto& [k, v] : obj.items())
            if (k != "content") out += k + ": " + v.get<std::string>() + "\r\n";
        out += "\r\n";
    }
    return out;
}

}  // namespace

TEST_CASE("a recorded Asterisk call replayed over AMI pops the ringing agent and is logged") {
    SiteOptions o;
    o.replay = cacofonisk_wire("simple/ab_success_a_hangup.json");
    Site site(o);
    // B's phone in the capture is SIP/150010002.
    REQUIRE(site.add_user("bea", "agent", "150010002") == 0);
    REQUIRE(site.add_user("sam", "supervisor", "") == 0);
    site.start_pbx();
    site.start_ringside();
    auto sup = site.token("sam");
    auto rec = site.wait_call(sup, "main-195176c06ab8-1529936170.42",
                              [](const json& c) { return !c["ended_at"].is_null(); });
    REQUIRE(rec);
    CHECK((*rec)["status"] == "answered");
    CHECK((*rec)["agent"] == "bea");
    CHECK((*rec)["from_raw"] == "201");
    // The pop was sent while Bea was offline: she gets it on resume.
    WsClient bea(site.port, site.token("bea"));
    bea.send({{"type", "resume"}, {"after_seq", 0}});
    auto ring = bea.next_of("call.ringing");
    REQUIRE(ring);
    CHECK((*ring)["call"]["id"] == "main-195176c06ab8-1529936170.42");
    CHECK((*ring)["call"]["from_raw"] == "201");
}

TEST_CASE("garbage, oversized and truncated AMI frames do not stop the next call from popping") {
    SiteOptions o;
    std::string junk = "this is not AMI\r\n\r\nEvent: Newchannel\r\nChannel: SIP/x-1\r\n";  // no blank line, no ids
    junk += "Event: Bogus\r\nData: " + std::string(200 * 1024, 'A') + "\r\n\r\n";               // oversized line
    junk += std::string("\x00\xff\xfe\r\n\r\n", 7);
    junk += "Event: Hangup\r\nUniqueid: nonexistent.1\r\nLinkedid: nonexistent.1\r\nCause: 16\r\n\r\n";
    o.replay = junk;
    Staffed s(o);
    Site& site = s.site;
    WsClient alice(site.port, s.alice_token);
    auto id = site.call("+989121234567", {"1001"}, sim::Outcome::answered, 300ms, 300ms);
    auto ring = alice.next_of("call.ringing");
    REQUIRE(ring);
    CHECK((*ring)["call"]["id"] == id);
    auto rec = site.wait_ended(s.sup, id);
    REQUIRE(rec);
    CHECK(site.ringside->running());
}

TEST_CASE("wrong AMI credentials are logged naming the PBX and retried") {
    SiteOptions o;
    o.ami_secret = "wrong";
    Site site(o);
    site.start_pbx();
    site.start_ringside();
    auto deadline = std::chrono::steady_clock::now() + 15s;
    std::string err;
    while (std::chrono::steady_clock::now() < deadline) {
        err = site.ringside->err();
        if (count(err, "login rejected") >= 2) break;
        std::this_thread::sleep_for(200ms);
    }
    CHECK(count(err, "login rejected") >= 2);
    CHECK(err.find("pbx main") != std::string::npos);
    CHECK(err.find("wrong") == std::string::npos);  // never the secret
    CHECK(http(site.port, "GET", "/healthz").status == 200);
}

TEST_CASE("a restart mid-call closes the call record instead of losing it") {
    Staffed s;
    Site& site = s.site;
    auto sup = s.sup;
    auto id = site.call("+989121234567", {"1001"}, sim::Outcome::answered, 300ms, 60s);
    REQUIRE(site.wait_call(sup, id, [](const json& c) { return c["status"] == "answered"; }));
    CHECK(site.stop_ringside() == 0);

    // The PBX restarted too: the call is gone when Ringside comes back.
    auto pbx_port = site.pbx->port();
    site.stop_pbx();
    site.start_pbx(pbx_port);
    site.start_ringside();
    REQUIRE(site.wait_pbx_linked());
    sup = site.token("sam");
    auto rec = site.wait_ended(sup, id);
    REQUIRE(rec);
    CHECK((*rec)["status"] == "answered");
    CHECK((*rec)["agent"] == "alice");
    CHECK(site.calls(sup).size() == 1);
}

TEST_CASE("a call still up on the PBX after a Ringside restart continues as the same record") {
    Staffed s;
    Site& site = s.site;
    auto id = site.call("+989121234567", {"1001"}, sim::Outcome::answered, 300ms, 4s);
    REQUIRE(site.wait_call(s.sup, id, [](const json& c) { return c["status"] == "answered"; }));
    CHECK(site.stop_ringside() == 0);
    site.start_ringside();
    auto sup = site.token("sam");
    auto rec = site.wait_ended(sup, id, 15s);
    REQUIRE(rec);
    CHECK((*rec)["status"] == "answered");
    CHECK((*rec)["talk_seconds"].get<int>() >= 3);
    CHECK(site.calls(sup).size() == 1);
}

TEST_CASE("malformed API requests get a 4xx naming what is wrong and change nothing") {
    Site site;
    REQUIRE(site.add_user("alice", "agent", "1001") == 0);
    REQUIRE(site.add_user("sam", "supervisor", "") == 0);
    site.start_pbx();
    site.start_ringside();
    auto sup = site.token("sam");
    auto alice = site.token("alice");

    auto bad_json = http(site.port, "POST", "/api/customers", "{\"name\": ", sup);
    CHECK(bad_json.status == 400);
    CHECK(bad_json.json()["error"] == "invalid_json");

    auto unknown = http(site.port, "POST", "/api/customers",
                        json{{"name", "X"}, {"phones", {"+989121234567"}}, {"favourite_colour", "red"}}.dump(), sup);
    CHECK(unknown.status == 400);
    CHECK(unknown.json()["message"].get<std::string>().find("favourite_colour") != std::string::npos);

    auto bad_phone = http(site.port, "POST", "/api/customers", json{{"name", "X"}, {"phones", {"hello"}}}.dump(), sup);
    CHECK(bad_phone.status == 400);
    CHECK(bad_phone.json()["message"].get<std::string>().find("phones") != std::string::npos);

    CHECK(http(site.port, "GET", "/api/customers?phone=09121234567", "", sup).json()["customers"].empty());

    CHECK(http(site.port, "GET", "/api/calls").status == 401);
    CHECK(http(site.port, "GET", "/api/calls", "", std::string(64, 'f')).status == 401);  // forged token
    CHECK(http(site.port, "GET", "/api/calls.csv", "", alice).status == 403);
    CHECK(http(site.port, "POST", "/api/login", json{{"username", "alice"}, {"password", "nope"}}.dump()).status == 401);
    CHECK(http(site.port, "GET", "/no/such/route", "", sup).status == 404);
    CHECK(http(site.port, "DELETE", "/api/calls", "", sup).status == 405);
    CHECK_THROWS(WsClient(site.port, "forged"));

    // The good request after all that still works.
    auto ok = http(site.port, "POST", "/api/customers", json{{"name", "Reza"}, {"phones", {"09121234567"}}}.dump(), sup);
    CHECK(ok.status == 201);
    auto found = http(site.port, "GET", "/api/customers?phone=%2B989121234567", "", alice).json();
    REQUIRE(found["customers"].size() == 1);
    CHECK(found["customers"][0]["name"] == "Reza");
}

TEST_CASE("an expired session is refused over HTTP and the WebSocket, its open socket closes; signing in again works") {
    Site site;
    REQUIRE(site.add_user("alice", "agent", "1001") == 0);
    site.start_pbx();
    site.start_ringside();
    auto alice = site.token("alice");
    REQUIRE(http(site.port, "GET", "/api/me", "", alice).status == 200);
    WsClient console(site.port, alice);

    // The session's time runs out (the server's clock is not ours to move, so
    // its row in the real database is aged instead).
    {
        SQLite::Database db((site.dir.path / "ringside.db").string(), SQLite::OPEN_READWRITE);
        db.setBusyTimeout(5000);
        CHECK(db.exec("UPDATE sessions SET expires_at = 1") == 1);
    }
    auto me = http(site.port, "GET", "/api/me", "", alice);
    CHECK(me.status == 401);
    CHECK(http(site.port, "GET", "/api/calls", "", alice).status == 401);
    CHECK_THROWS(WsClient(site.port, alice));
    // The socket opened before checks its session every 15 s (read off the
    // I/O thread) and closes once it finds it expired.
    for (int i = 0; i < 400 && !console.closed(); ++i) {
        try {
            console.next(100ms);
        } catch (const std::runtime_error&) {  // the read failed: closed
        }
    }
    CHECK(console.closed());

    auto again = site.token("alice");
    CHECK(again != alice);
    CHECK(http(site.port, "GET", "/api/me", "", again).status == 200);
}
