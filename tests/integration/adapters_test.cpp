// The same three calls told by four kinds of PBX at once, to one real
// `ringside serve`: Asterisk (the simulated Asterisk over real AMI), FreeSWITCH
// (the in-test event socket peer, real ESL bytes), a hosted PBX (signed
// webhook POSTs over real HTTP, signed with the openssl command line as the
// docs show) and a SIP PBX (sipp, Debian's sip-tester, as the real peer
// forking INVITEs to Ringside's SIP adapter in mode "uas"). Agents get the
// same pops and the calls the same records; only the PBX id in the call id
// differs. Two broken PBXs are configured too (one unreachable, one refusing
// the login): they stall nobody.
//
// A new adapter joins by adding a Driver.
#include <doctest/doctest.h>

#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <functional>

#include "../unit/esl_fixtures.hpp"
#include "esl_peer.hpp"
#include "harness.hpp"
#include "site.hpp"

using namespace ringside::test;
using json = nlohmann::json;

namespace {

/// One of the recorded calls: who calls which extension, and whether it is answered.
struct Scenario {
    std::string name;
    std::string caller;   // as the PBX presents it
    std::string ext;
    bool answered;
};

const std::vector<Scenario> scenarios = {
    {"a known customer's call answered at 1001", "09121234567", "1001", true},
    {"an unknown caller who hangs up while 1001 rings", "09350000000", "1001", false},
    {"a known customer's call answered at 1002", "09121234567", "1002", true},
};

/// Tells one call through one kind of PBX. start() makes it ring and returns
/// Ringside's call id; finish() answers (or not) and ends it.
class Driver {
public:
    virtual ~Driver() = default;
    virtual std::string pbx() const = 0;
    virtual std::string start(const Scenario& s, int n) = 0;
    virtual void finish(const Scenario& s, int n) = 0;
};

class AmiDriver final : public Driver {
public:
    explicit AmiDriver(Site& site) : site_(site) {}
    std::string pbx() const override { return "main"; }
    std::string start(const Scenario& s, int) override {
        return site_.call(s.caller, {s.ext}, s.answered ? ringside::sim::Outcome::answered : ringside::sim::Outcome::caller_cancels,
                          900ms, 400ms);
    }
    void finish(const Scenario&, int) override {}  // the simulated Asterisk plays the rest on its own

private:
    Site& site_;
};

class EslDriver final : public Driver {
public:
    explicit EslDriver(EslServer& fs) : fs_(fs) {}
    std::string pbx() const override { return "fs"; }
    std::string start(const Scenario& s, int n) override {
        const std::string a = "5f0d3a9e-8d7c-4c1e-9a51-00000000000" + std::to_string(n);
        const std::string b = "7a1b2c3d-4e5f-4a6b-8c7d-00000000000" + std::to_string(n);
        const auto t0 = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
        call_ = esl_fixtures::scripted_call(a, b, s.caller, "", s.ext, s.answered, t0);
        fs_.send(call_.ring);
        return "fs-" + a;
    }
    void finish(const Scenario& s, int) override {
        std::this_thread::sleep_for(300ms);
        if (s.answered) {
            fs_.send(call_.answer);
            std::this_thread::sleep_for(300ms);
        }
        fs_.send(call_.hangup);
    }

private:
    EslServer& fs_;
    esl_fixtures::ScriptedCall call_;
};

class WebhookDriver final : public Driver {
public:
    WebhookDriver(Site& site, std::string secret) : site_(site), secret_(std::move(secret)) {}
    std::string pbx() const override { return "cloud"; }
    std::string start(const Scenario& s, int n) override {
        call_ = "c-" + std::to_string(n);
        post({{"id", call_ + "-ring"}, {"type", "call.ringing"}, {"call_id", call_}, {"from", s.caller},
              {"extensions", {s.ext}}});
        return "cloud-" + call_;
    }
    void finish(const Scenario& s, int) override {
        std::this_thread::sleep_for(300ms);
        if (s.answered) {
            post({{"id", call_ + "-answer"}, {"type", "call.answered"}, {"call_id", call_}, {"extension", s.ext}});
            std::this_thread::sleep_for(300ms);
        }
        post({{"id", call_ + "-end"}, {"type", "call.ended"}, {"call_id", call_},
              {"cause", s.answered ? "normal" : "cancelled"}});
    }

    /// Signs like docs/interface.md: openssl dgst -sha256 -hmac over "<ts>.<body>".
    HttpResponse post(const json& event, const std::string& ts_override = "") {
        const std::string body = event.dump();
        const auto ts = ts_override.empty()
                            ? std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                 std::chrono::system_clock::now().time_since_epoch()).count())
                            : ts_override;
        auto r = run({"/usr/bin/openssl", "dgst", "-sha256", "-hmac", secret_, "-r"}, site_.dir.path, ts + "." + body);
        REQUIRE(r.status == 0);
        const auto sig = r.out.substr(0, 64);
        auto res = http(site_.port, "POST", "/hooks/cloud", body, "",
                        {{"Content-Type", "application/json"}, {"X-Ringside-Timestamp", ts}, {"X-Ringside-Signature", sig}});
        last_ = res;
        return res;
    }
    HttpResponse last_;

private:
    Site& site_;
    std::string secret_;
    std::string call_;
};

/// sipp as the PBX forking each call's INVITE to Ringside beside the agent's
/// phone (mode "uas", scenarios in tests/integration/sip/adapters_*.xml). An
/// answered call is a CANCEL with "Reason: SIP;cause=200" (answered on the
/// extension's own phone), the caller hanging up a plain CANCEL. A forked
/// branch never sees the conversation, so SIP's records have talk time 0
/// where the other PBXs report the real one; record_view leaves talk time
/// out for all of them. The caller goes in P-Asserted-Identity as the PBX
/// presents it; the Call-ID is ours, so we know Ringside's call id.
class SipDriver final : public Driver {
public:
    SipDriver(Site& site, unsigned short sip_port) : site_(site), sip_port_(sip_port) {}
    std::string pbx() const override { return "sip"; }
    std::string start(const Scenario& s, int n) override {
        const std::string cid = "adapters-" + std::to_string(n) + "-" + std::to_string(::getpid());
        const auto scenario = std::filesystem::path(RINGSIDE_SOURCE_DIR) / "tests" / "integration" / "sip" /
                              (s.answered ? "adapters_answered.xml" : "adapters_caller_cancels.xml");
        // Bounded: one call (-m 1), 20 s at most (-timeout), a failure if so.
        sipp_ = std::make_unique<Process>(
            std::vector<std::string>{"/usr/bin/sipp", "-sf", scenario.string(), "-i", "127.0.0.1", "-p",
                                     std::to_string(free_port()), "-m", "1", "-timeout", "20s", "-timeout_error",
                                     "-nostdin", "-s", s.ext, "-key", "caller", s.caller, "-cid_str", cid, "-t",
                                     "u1", "127.0.0.1:" + std::to_string(sip_port_)},
            site_.dir.path);
        return "sip-" + cid;  // call_key(Call-ID): the cid has only safe characters
    }
    void finish(const Scenario&, int) override {  // sipp rings 1 s, then CANCELs on its own
        auto status = sipp_->wait(25s);
        if (!status) {
            sipp_->signal(SIGKILL);
            sipp_->wait(5s);
        }
        const bool ok = status && *status == 0;
        CHECK_MESSAGE(ok, "sipp failed: " << sipp_->out() << sipp_->err());
        sipp_.reset();
    }

private:
    Site& site_;
    unsigned short sip_port_;
    std::unique_ptr<Process> sipp_;
};

/// What an agent saw and what was stored, without what must differ (ids, times).
json pop_view(const json& m) {
    json v = {{"from", m["call"]["from"]}, {"from_raw", m["call"]["from_raw"]}, {"direction", m["call"]["direction"]},
              {"customer", m["customer"].is_null() ? json(nullptr) : m["customer"]["name"]},
              {"open_issues", m.value("open_issues", json::array()).size()}};
    return v;
}
json record_view(const json& c) {
    return {{"direction", c["direction"]}, {"from", c["from"]},         {"from_raw", c["from_raw"]},
            {"customer_id", c["customer_id"]}, {"agent", c["agent"]}, {"extension", c["extension"]},
            {"status", c["status"]}};
}

}  // namespace

TEST_CASE("the same three calls through AMI, ESL, webhook and SIP give the same pops and records, "
          "while an unreachable PBX and one refusing the login stall nobody") {
    EslServer fs("ClueCon");
    const std::string hook_secret = "webhook-secret-0123456789";
    const unsigned short dead_port = free_port();  // nothing listens here
    const unsigned short sip_port = free_port();
    REQUIRE_MESSAGE(std::filesystem::exists("/usr/bin/sipp"), "sipp is missing: scripts/install-deps --test installs sip-tester");
    SiteOptions o;
    o.region = "IR";
    Site site(o);
    site.start_pbx();
    site.opts.extra_config =
        "[[pbx]]\nid = \"fs\"\ntype = \"freeswitch-esl\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(fs.port()) +
        "\npassword = \"ClueCon\"\n"
        "[[pbx]]\nid = \"cloud\"\ntype = \"webhook\"\npath = \"/hooks/cloud\"\nsecret = \"" + hook_secret + "\"\n"
        "[[pbx]]\nid = \"dead\"\ntype = \"asterisk-ami\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(dead_port) +
        "\nusername = \"ringside\"\nsecret = \"s3cret\"\n"
        "[[pbx]]\nid = \"refused\"\ntype = \"asterisk-ami\"\nhost = \"127.0.0.1\"\nport = " +
        std::to_string(site.pbx->port()) + "\nusername = \"ringside\"\nsecret = \"wrong\"\n"
        "[[pbx]]\nid = \"sip\"\ntype = \"sip\"\nmode = \"uas\"\nlisten = \"127.0.0.1:" + std::to_string(sip_port) + "\"\n";
    REQUIRE(site.add_user("alice", "agent", "1001") == 0);
    REQUIRE(site.add_user("bob", "agent", "1002") == 0);
    REQUIRE(site.add_user("sam", "supervisor", "") == 0);
    REQUIRE(site.add_user("root", "admin", "") == 0);
    site.start_ringside();
    REQUIRE(site.wait_pbx_linked());
    REQUIRE(fs.wait_ready());
    const auto sup = site.token("sam");
    const auto admin = site.token("root");
    const auto customer = site.add_customer(sup, "Sara Ahmadi", "+989121234567", "Refund not received");

    // The broken PBXs show why in plain words on the admin API, and the good ones are connected.
    {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        json byid;
        while (std::chrono::steady_clock::now() < deadline) {
            byid = json::object();
            const json all = http(site.port, "GET", "/api/admin/pbx", "", admin).json();
            for (const auto& c : all["connections"]) byid[c["id"].get<std::string>()] = c;
            if (byid["refused"]["state"] == "login_refused" && byid["dead"]["reconnects"].get<int>() >= 1 &&
                byid["fs"]["state"] == "connected" && byid["sip"]["state"] == "connected")
                break;
            std::this_thread::sleep_for(100ms);
        }
        INFO(byid.dump(2));
        CHECK(byid["main"]["state"] == "connected");
        CHECK(byid["fs"]["state"] == "connected");
        CHECK(byid["cloud"]["state"] == "connected");
        CHECK(byid["sip"]["state"] == "connected");
        CHECK(byid["refused"]["state"] == "login_refused");
        CHECK(byid["dead"]["state"] != "connected");
        CHECK(byid["dead"]["last_error"].get<std::string>().find("cannot reach AMI at 127.0.0.1:" +
                                                                 std::to_string(dead_port)) != std::string::npos);
        CHECK(byid.dump().find("wrong") == std::string::npos);  // no secret in the answer
        CHECK(byid.dump().find(hook_secret) == std::string::npos);
    }

    WsClient alice(site.port, site.token("alice"));
    WsClient bob(site.port, site.token("bob"));
    AmiDriver ami(site);
    EslDriver esl(fs);
    WebhookDriver hook(site, hook_secret);
    SipDriver sip(site, sip_port);
    std::vector<Driver*> drivers = {&ami, &esl, &hook, &sip};

    // results[scenario][driver] = {pop, record}
    std::vector<std::vector<std::pair<json, json>>> results(scenarios.size());
    int n = 0;
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
        const auto& s = scenarios[i];
        for (auto* d : drivers) {
            CAPTURE(s.name);
            CAPTURE(d->pbx());
            WsClient& agent = s.ext == "1001" ? alice : bob;
            const auto id = d->start(s, ++n);
            CHECK(id.starts_with(d->pbx() + "-"));
            std::optional<json> pop;
            while ((pop = agent.next_of("call.ringing")) && (*pop)["call"]["id"] != id) {
            }
            REQUIRE(pop);
            CHECK((*pop)["call"]["pbx"] == d->pbx());
            d->finish(s, n);
            auto rec = site.wait_ended(sup, id);
            REQUIRE(rec);
            results[i].push_back({pop_view(*pop), record_view(*rec)});
        }
    }
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
        CAPTURE(scenarios[i].name);
        for (std::size_t d = 1; d < drivers.size(); ++d) {
            CAPTURE(drivers[d]->pbx());
            CHECK(results[i][d].first.dump() == results[i][0].first.dump());
            CHECK(results[i][d].second.dump() == results[i][0].second.dump());
        }
    }
    // And what they all agree on is right.
    CHECK(results[0][0].first["customer"] == "Sara Ahmadi");
    CHECK(results[0][0].first["from"] == "+989121234567");
    CHECK(results[0][0].second["status"] == "answered");
    CHECK(results[0][0].second["agent"] == "alice");
    CHECK(results[0][0].second["customer_id"] == customer);
    CHECK(results[1][0].first["customer"].is_null());
    CHECK(results[1][0].second["status"] == "missed");
    CHECK(results[2][0].second["agent"] == "bob");

    // A retried webhook changes nothing; a replayed one from long ago is refused.
    auto retry = hook.post({{"id", "c-3-end"}, {"type", "call.ended"}, {"call_id", "c-3"}});
    CHECK(retry.status == 200);
    CHECK(retry.body.find("duplicate") != std::string::npos);
    auto stale = hook.post({{"id", "old-1"}, {"type", "call.ended"}, {"call_id", "c-3"}}, "1000000000");
    CHECK(stale.status == 401);
    CHECK(stale.json()["error"] == "stale_timestamp");
    auto forged = http(site.port, "POST", "/hooks/cloud", R"({"id":"x","type":"call.ended","call_id":"c"})", "",
                       {{"X-Ringside-Timestamp", "1790000000"}, {"X-Ringside-Signature", std::string(64, '0')}});
    CHECK(forged.status == 401);
    CHECK(forged.json()["error"] == "bad_signature");
    auto bad = hook.post({{"id", "b-1"}, {"type", "call.rang"}, {"call_id", "c"}});
    CHECK(bad.status == 400);
    CHECK(bad.json()["message"].get<std::string>().find("field 'type'") != std::string::npos);
    auto big = http(site.port, "POST", "/hooks/cloud", std::string(70 * 1024, ' '), "",
                    {{"X-Ringside-Timestamp", "1"}, {"X-Ringside-Signature", "00"}});
    CHECK(big.status == 413);

    // Non-admins cannot see connections.
    CHECK(http(site.port, "GET", "/api/admin/pbx", "", sup).status == 403);
}
