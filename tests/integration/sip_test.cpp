// The real `ringside serve` binary against sipp (Debian's sip-tester) as the
// real SIP peer over loopback, with the scenarios in tests/integration/sip/:
//  - mode uas: sipp is the PBX forking an INVITE to Ringside beside the
//    agent's phone, then ending the fork (CANCEL, CANCEL "completed
//    elsewhere", BYE on the early dialog), over UDP and TCP;
//  - mode watch: sipp is the PBX's presence server, accepts Ringside's
//    SUBSCRIBE and sends dialog-info NOTIFYs (early, confirmed, terminated).
// Pops are read on real WebSocket clients and records from /api/calls.
// Every sipp run is bounded (-m 1, -timeout) so nothing can hang.
#include <doctest/doctest.h>

#include <csignal>

#include <filesystem>
#include <thread>

#include "harness.hpp"

using namespace ringside::test;
using json = nlohmann::json;

namespace {

const std::filesystem::path scenarios = std::filesystem::path(RINGSIDE_SOURCE_DIR) / "tests" / "integration" / "sip";
const std::string sipp = "/usr/bin/sipp";

/// Ringside with one [[pbx]] of type sip, agents Alice (1001) and Bob (1002),
/// a supervisor, and a known customer Jane Roe at +12025550143.
struct SipSite {
    TempDir dir;
    unsigned short port = free_port();
    unsigned short sip_port = free_port();
    std::filesystem::path config = dir.path / "ringside.toml";
    std::unique_ptr<Process> ringside;
    std::string sup;
    json customer_id;

    explicit SipSite(const std::string& pbx_keys) {
        write_file(config, "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n[database]\npath = \"" +
                               (dir.path / "ringside.db").string() +
                               "\"\n[phone]\ndefault_region = \"US\"\n[log]\nlevel = \"debug\"\n"
                               "[[pbx]]\nid = \"sip\"\ntype = \"sip\"\nlisten = \"127.0.0.1:" +
                               std::to_string(sip_port) + "\"\n" + pbx_keys);
        add_user("alice", "agent", "1001");
        add_user("bob", "agent", "1002");
        add_user("sam", "supervisor", "");
    }
    void add_user(const std::string& name, const std::string& role, const std::string& ext) {
        REQUIRE(ringside::test::add_user(config, dir.path, name, role, ext) == 0);
    }
    void start() {
        REQUIRE_MESSAGE(std::filesystem::exists(sipp), "sipp is missing: scripts/install-deps --test installs sip-tester");
        ringside = serve(config, dir.path, port);
        sup = login(port, "sam", "password-123");
        auto created = http(port, "POST", "/api/customers",
                            json{{"name", "Jane Roe"}, {"phones", {"+12025550143"}}, {"tier", "gold"}}.dump(), sup);
        REQUIRE(created.status == 201);
        customer_id = created.json()["id"];
    }
    /// sipp's argv for one bounded run of a scenario.
    std::vector<std::string> sipp_args(const std::string& scenario, unsigned short local_port,
                                       const std::vector<std::string>& more) const {
        std::vector<std::string> argv{sipp, "-sf", (scenarios / scenario).string(), "-i", "127.0.0.1", "-p",
                                      std::to_string(local_port), "-m", "1", "-timeout", "20s", "-timeout_error",
                                      "-nostdin", "-trace_err", "-trace_msg"};
        argv.insert(argv.end(), more.begin(), more.end());
        return argv;
    }
    /// Runs a scenario as the PBX forking an INVITE for `ext`; returns sipp's exit status.
    int fork_call(const std::string& scenario, const std::string& ext, const std::string& transport) {
        auto argv = sipp_args(scenario, free_port(), {"-s", ext, "-t", transport, "127.0.0.1:" + std::to_string(sip_port)});
        auto r = run(argv, dir.path);
        if (r.status != 0) MESSAGE("sipp " << scenario << " failed: " << r.out.substr(r.out.size() > 3000 ? r.out.size() - 3000 : 0) << r.err);
        return r.status;
    }
    /// The call's record once it is final (ended_at set), as the supervisor sees it.
    json final_record(const std::string& id) {
        auto rec = wait_for_call(
            port, sup, [&](const json& c) { return c["id"] == id && !c["ended_at"].is_null(); }, 10s, "call " + id);
        if (!rec) FAIL("no final record for " << id);
        return *rec;
    }
    ~SipSite() { stop_serve(ringside.get()); }
};

}  // namespace

TEST_CASE("forked INVITEs from sipp pop on the ringing agent and end as the PBX says: cancel, answered elsewhere, BYE") {
    SipSite site("mode = \"uas\"\n");
    site.start();
    REQUIRE(wait_metric(site.port, "ringside_pbx_link_up{pbx=\"sip\",state=\"connected\"} 1"));
    WsClient alice(site.port, login(site.port, "alice", "password-123"));
    WsClient bob(site.port, login(site.port, "bob", "password-123"));

    // (1) The caller hangs up while it rings: a missed call, the pop retracted.
    REQUIRE(site.fork_call("fork_cancel.xml", "1001", "u1") == 0);
    auto ring = alice.next_of("call.ringing");
    REQUIRE(ring);
    const std::string id1 = (*ring)["call"]["id"];
    CHECK(id1.starts_with("sip-"));
    CHECK((*ring)["call"]["from"] == "+12025550143");
    CHECK((*ring)["call"]["direction"] == "inbound");
    CHECK((*ring)["customer"]["name"] == "Jane Roe");
    auto retracted = alice.next_of("call.retracted");
    REQUIRE(retracted);
    CHECK((*retracted)["call"]["id"] == id1);
    CHECK((*retracted)["reason"] == "caller_hung_up");
    auto rec1 = site.final_record(id1);
    CHECK(rec1["status"] == "missed");
    CHECK(rec1["from"] == "+12025550143");
    CHECK(rec1["to"] == "1001");
    CHECK(rec1["customer_id"] == site.customer_id);

    // (2) Over TCP, the agent's own phone answers the parallel ring: the PBX
    // cancels this fork "completed elsewhere"; the call is Alice's, answered.
    REQUIRE(site.fork_call("fork_answered_elsewhere.xml", "1001", "t1") == 0);
    ring = alice.next_of("call.ringing");
    REQUIRE(ring);
    const std::string id2 = (*ring)["call"]["id"];
    CHECK(id2 != id1);
    auto answered = alice.next_of("call.answered");
    REQUIRE(answered);
    CHECK((*answered)["call"]["id"] == id2);
    auto ended = alice.next_of("call.ended");
    REQUIRE(ended);
    CHECK((*ended)["call"]["status"] == "answered");
    auto rec2 = site.final_record(id2);
    CHECK(rec2["status"] == "answered");
    CHECK(rec2["agent"] == "alice");
    CHECK(rec2["extension"] == "1001");

    // (3) A BYE on the early dialog ends Bob's fork; Alice's phone never rang.
    REQUIRE(site.fork_call("fork_bye.xml", "1002", "u1") == 0);
    ring = bob.next_of("call.ringing");
    REQUIRE(ring);
    const std::string id3 = (*ring)["call"]["id"];
    retracted = bob.next_of("call.retracted");
    REQUIRE(retracted);
    CHECK((*retracted)["call"]["id"] == id3);
    CHECK(site.final_record(id3)["status"] == "missed");
    // Nothing about a call for alice (her wrap-up after call 2 is her agent state, not a call).
    while (auto m = alice.next(300ms)) CHECK((*m)["type"] == "agent.state");
    CHECK(wait_metric(site.port, "ringside_pbx_events_total{pbx=\"sip\"} "));
    CHECK(site.ringside->running());
}

TEST_CASE("watch mode: sipp as the presence server gets the SUBSCRIBE, and its dialog NOTIFYs pop, answer and end the call") {
    const auto server_port = free_port();
    SipSite site("mode = \"watch\"\nserver = \"127.0.0.1:" + std::to_string(server_port) +
                 "\"\ntransport = \"udp\"\nextensions = [\"1001\"]\nexpires = 600\n");
    site.start();
    WsClient alice(site.port, login(site.port, "alice", "password-123"));
    // The presence server comes up after Ringside's first SUBSCRIBE went
    // nowhere: a UDP retransmission (RFC 3261 Timer E) reaches it.
    Process presence(site.sipp_args("presence_server.xml", server_port, {}), site.dir.path);

    // Generous: on a loaded machine sipp may start after several of
    // Ringside's retransmissions (4 s apart once backed off).
    auto ring = alice.next_of("call.ringing", 45s);
    if (!ring) {
        presence.signal(SIGTERM);
        presence.wait(5s);
        FAIL("no call.ringing; sipp said:\n" << presence.out() << presence.err() << "\nringside said:\n"
                                               << site.ringside->err());
    }
    const std::string id = (*ring)["call"]["id"];
    CHECK((*ring)["call"]["from"] == "+12025550143");
    CHECK((*ring)["call"]["from_name"] == "Jane Roe");
    CHECK((*ring)["customer"]["name"] == "Jane Roe");
    REQUIRE(alice.next_of("call.answered"));
    auto ended = alice.next_of("call.ended");
    REQUIRE(ended);
    CHECK((*ended)["call"]["status"] == "answered");

    auto status = presence.wait(25s);
    REQUIRE_MESSAGE(status, "sipp did not finish");
    CHECK_MESSAGE(*status == 0, "sipp (presence server) failed: " << presence.out() << presence.err());
    CHECK(wait_metric(site.port, "ringside_pbx_link_up{pbx=\"sip\",state=\"connected\"} 1"));

    auto rec = site.final_record(id);
    CHECK(rec["status"] == "answered");
    CHECK(rec["agent"] == "alice");
    CHECK(rec["from"] == "+12025550143");
    CHECK(rec["customer_id"] == site.customer_id);
    CHECK(rec["talk_seconds"].get<double>() >= 1.0);
}
