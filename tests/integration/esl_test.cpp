// The real `ringside serve` binary against an ESL server in this test,
// speaking real FreeSWITCH Event Socket bytes over loopback: auth request,
// the channel listing, the events of one call that rings 1001 and is
// answered. The agent at 1001 gets the pop on a real WebSocket and the call
// is in /api/calls as answered.
#include <doctest/doctest.h>

#include <sys/socket.h>


#include <atomic>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "../unit/esl_fixtures.hpp"
#include "esl_peer.hpp"
#include "harness.hpp"

using namespace ringside::test;
using json = nlohmann::json;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

/// Ringside configured with one freeswitch-esl PBX "fs", an agent Alice at
/// 1001, a supervisor, and a known customer.
struct EslSite {
    TempDir dir;
    unsigned short port = free_port();
    std::filesystem::path config = dir.path / "ringside.toml";
    std::unique_ptr<Process> ringside;

    void write_config(unsigned short esl_port, const std::string& password) {
        write_file(config, "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n[database]\npath = \"" +
                               (dir.path / "ringside.db").string() +
                               "\"\n[phone]\ndefault_region = \"US\"\n[log]\nlevel = \"debug\"\n"
                               "[[pbx]]\nid = \"fs\"\ntype = \"freeswitch-esl\"\nhost = \"127.0.0.1\"\nport = " +
                               std::to_string(esl_port) + "\npassword = \"" + password + "\"\n");
    }
    void add_user(const std::string& name, const std::string& role, const std::string& ext) {
        REQUIRE(ringside::test::add_user(config, dir.path, name, role, ext) == 0);
    }
    void start() {
        ringside = serve(config, dir.path, port);
    }
    ~EslSite() { stop_serve(ringside.get()); }
};

long long now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

TEST_CASE("a FreeSWITCH call to user/1001 pops on the agent at 1001 and is logged answered") {
    EslServer fs("ClueCon");
    EslSite site;
    site.write_config(fs.port(), "ClueCon");
    site.add_user("alice", "agent", "1001");
    site.add_user("bob", "agent", "1002");
    site.add_user("sam", "supervisor", "");
    site.start();
    const auto sup = login(site.port, "sam", "password-123");
    auto created = http(site.port, "POST", "/api/customers",
                        json{{"name", "Jane Roe"}, {"phones", {"+12025550143"}}, {"tier", "gold"}}.dump(), sup);
    REQUIRE(created.status == 201);
    REQUIRE(fs.wait_ready());
    REQUIRE(wait_metric(site.port, "ringside_pbx_link_up{pbx=\"fs\",state=\"connected\"} 1"));
    auto cmds = fs.commands();
    REQUIRE(cmds.size() >= 3);
    CHECK(cmds[0] == "auth ClueCon");
    CHECK(cmds[1].starts_with("event plain CHANNEL_CREATE"));
    CHECK(cmds[2] == "api show channels as json");

    WsClient alice(site.port, login(site.port, "alice", "password-123"));
    WsClient bob(site.port, login(site.port, "bob", "password-123"));
    const std::string a = "5f0d3a9e-8d7c-4c1e-9a51-1f2e3d4c5b6a", b = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    auto call = esl_fixtures::scripted_call(a, b, "+12025550143", "Jane Roe", "1001", true, now_us());

    fs.send(call.ring);
    auto ring = alice.next_of("call.ringing");
    REQUIRE(ring);
    CHECK((*ring)["call"]["id"] == "fs-" + a);
    CHECK((*ring)["call"]["from"] == "+12025550143");
    CHECK((*ring)["customer"]["name"] == "Jane Roe");

    std::this_thread::sleep_for(1100ms);  // the phone rings a moment
    fs.send(call.answer);
    REQUIRE(alice.next_of("call.answered"));
    std::this_thread::sleep_for(1100ms);  // talk
    fs.send(call.hangup);
    auto ended = alice.next_of("call.ended");
    REQUIRE(ended);
    CHECK((*ended)["call"]["status"] == "answered");
    CHECK_FALSE(bob.next(300ms));  // Bob's phone never rang

    auto rec = wait_for_call(site.port, sup, [&](const json& c) {
        return c["id"] == "fs-" + a && c["status"] == "answered" && !c["ended_at"].is_null();
    });
    REQUIRE(rec);
    CHECK((*rec)["agent"] == "alice");
    CHECK((*rec)["extension"] == "1001");
    CHECK((*rec)["pbx"] == "fs");
    CHECK((*rec)["customer_id"] == created.json()["id"]);
}

TEST_CASE("a wrong event socket password shows as a refused login in /metrics, not a crash loop") {
    EslServer fs("ClueCon");
    EslSite site;
    site.write_config(fs.port(), "not-the-password");
    site.start();
    REQUIRE(wait_metric(site.port, "ringside_pbx_link_up{pbx=\"fs\",state=\"login_refused\"} 0"));
    CHECK(fs.refused.load() >= 1);
    CHECK(site.ringside->running());
}

TEST_CASE("after FreeSWITCH's disconnect notice Ringside logs in again and lists the channels afresh") {
    EslServer fs("ClueCon");
    EslSite site;
    site.write_config(fs.port(), "ClueCon");
    site.start();
    REQUIRE(fs.wait_ready());
    REQUIRE(wait_metric(site.port, "ringside_pbx_link_up{pbx=\"fs\",state=\"connected\"} 1"));
    fs.send("Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
            "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n");
    REQUIRE(wait_metric(site.port, "ringside_pbx_reconnects_total{pbx=\"fs\"} 1"));
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    int listings = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        listings = 0;
        for (const auto& c : fs.commands()) listings += c == "api show channels as json";
        if (listings >= 2) break;
        std::this_thread::sleep_for(50ms);
    }
    CHECK(listings == 2);
    CHECK(wait_metric(site.port, "ringside_pbx_link_up{pbx=\"fs\",state=\"connected\"} 1"));
    CHECK(site.ringside->err().find("FreeSWITCH ended the event socket session: Disconnected, goodbye.") !=
          std::string::npos);
}
