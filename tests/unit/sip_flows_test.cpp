// How calls flow past Ringside's SIP UAS (mode "uas": a proxy forks each
// agent's INVITE to Ringside too), table-driven like the AMI and ESL flows:
// SIP bytes into the real UAS, its events into the call service on a real
// SQLite file. For each: who got a pop, who got it withdrawn, who is logged,
// the final status and each leg's talk time (always 0 here: Ringside's fork
// never sees the conversation; `watch` mode does).
#include <doctest/doctest.h>

#include <functional>

#include "call_service_env.hpp"
#include "ringside/sip/parser.hpp"
#include "ringside/sip/uas.hpp"

using namespace ringside;
using namespace ringside::sip;
using namespace call_test;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

namespace {

std::string request(const std::string& method, const std::string& ext, const std::string& branch,
                    const std::string& extra = "") {
    return method + " sip:" + ext + "@10.0.0.9 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=" + branch + "\r\n"
           "Max-Forwards: 70\r\n"
           "From: \"Sara\" <sip:09121234567@10.0.0.1>;tag=caller1\r\n"
           "To: <sip:" + ext + "@10.0.0.1>\r\n"
           "Call-ID: flow-1@10.0.0.1\r\n"
           "CSeq: 101 " + method + "\r\n" +
           (method == "INVITE" ? "Contact: <sip:09121234567@10.0.0.1>\r\n" : "") + extra +
           "Content-Length: 0\r\n\r\n";
}
const std::string elsewhere = "Reason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n";

struct Flow {
    Env& env;
    Uas uas{PbxId{"pbx"}, UasConfig{.max_ring = 60s, .linger = 32s, .seed = 7}};
    std::chrono::steady_clock::time_point now{};
    Timestamp wall{};

    void feed(const std::string& bytes) {
        auto out = uas.on_item(parse_datagram(bytes), 1, "10.0.0.9:5060", "UDP", now, wall);
        for (const auto& ev : out.events) env.svc.on_pbx_event(ev);
    }
    void wait(std::chrono::seconds s) {
        now += s;
        wall += s;
        for (const auto& ev : uas.tick(now, wall).events) env.svc.on_pbx_event(ev);
    }
    void invite(const std::string& ext, const std::string& branch, const std::string& extra = "") {
        feed(request("INVITE", ext, branch, extra));
    }
    void cancel(const std::string& ext, const std::string& branch, const std::string& extra = "") {
        feed(request("CANCEL", ext, branch, extra));
    }
};

struct Case {
    std::string name;
    std::function<void(Flow&)> play;
    Strings sent;
    CallStatus status;
    std::optional<std::string> agent;
    Strings legs;  // agents, in the order their forks rang
};

const std::vector<Case> cases = {
    {"one fork, the agent's own phone answers (CANCEL: completed elsewhere)",
     [](Flow& f) {
         f.invite("1001", "z9hG4bK-f1");
         f.wait(4s);
         f.cancel("1001", "z9hG4bK-f1", elsewhere);
     },
     {"alice call.ringing", "alice call.answered", "alice call.ended"}, CallStatus::answered, "alice", {"alice"}},
    {"one fork, the caller cancels",
     [](Flow& f) {
         f.invite("1001", "z9hG4bK-f1");
         f.wait(6s);
         f.cancel("1001", "z9hG4bK-f1");
     },
     {"alice call.ringing", "alice call.retracted caller_hung_up"}, CallStatus::missed, std::nullopt, {"alice"}},
    {"ring group forks: bob's phone answers, every fork is cancelled as completed elsewhere",
     [](Flow& f) {
         f.invite("1001", "z9hG4bK-f1");
         f.invite("1002", "z9hG4bK-f2");
         f.wait(5s);
         f.cancel("1002", "z9hG4bK-f2", elsewhere);
         f.cancel("1001", "z9hG4bK-f1", elsewhere);
     },
     {"alice call.ringing", "bob call.ringing", "bob call.answered", "alice call.retracted answered_elsewhere",
      "bob call.ended"},
     CallStatus::answered, "bob", {"alice", "bob"}},
    {"ring group forks: the caller gives up",
     [](Flow& f) {
         f.invite("1001", "z9hG4bK-f1");
         f.invite("1002", "z9hG4bK-f2");
         f.wait(8s);
         f.cancel("1001", "z9hG4bK-f1");
         f.cancel("1002", "z9hG4bK-f2");
     },
     {"alice call.ringing", "bob call.ringing", "alice call.retracted caller_hung_up",
      "bob call.retracted caller_hung_up"},
     CallStatus::missed, std::nullopt, {"alice", "bob"}},
    {"alice's phone answers 302: the proxy forks to bob with Diversion, bob answers",
     [](Flow& f) {
         f.invite("1001", "z9hG4bK-f1");
         f.wait(3s);
         f.invite("1002", "z9hG4bK-f2", "Diversion: <sip:1001@10.0.0.1>;reason=unconditional;counter=1\r\n");
         f.wait(4s);
         f.cancel("1001", "z9hG4bK-f1", elsewhere);
         f.cancel("1002", "z9hG4bK-f2", elsewhere);
     },
     {"alice call.ringing", "alice call.retracted caller_hung_up", "bob call.ringing", "bob call.answered",
      "bob call.ended"},
     CallStatus::answered, "bob", {"alice", "bob"}},
    {"302 told by History-Info (cause=302), the caller hangs up while bob rings",
     [](Flow& f) {
         f.invite("1001", "z9hG4bK-f1");
         f.wait(3s);
         f.invite("1002", "z9hG4bK-f2",
                  "History-Info: <sip:1001@10.0.0.1>;index=1, <sip:1002@10.0.0.1?Reason=SIP%3Bcause%3D302>;index=1.1\r\n");
         f.wait(4s);
         f.cancel("1001", "z9hG4bK-f1");
         f.cancel("1002", "z9hG4bK-f2");
     },
     {"alice call.ringing", "alice call.retracted caller_hung_up", "bob call.ringing",
      "bob call.retracted caller_hung_up"},
     CallStatus::missed, std::nullopt, {"alice", "bob"}},
    {"nobody answers: the fork rings past max_ring and gets 480",
     [](Flow& f) {
         f.invite("1001", "z9hG4bK-f1");
         f.wait(61s);
     },
     {"alice call.ringing", "alice call.retracted caller_hung_up"}, CallStatus::missed, std::nullopt, {"alice"}},
};

}  // namespace

TEST_CASE("SIP UAS flows: pops, withdrawals, the logged agent, status and legs") {
    for (const auto& c : cases) {
        CAPTURE(c.name);
        TwoAgents t;
        auto& e = t.env;
        Flow f{e};
        c.play(f);

        check_sent(e.sink, c.sent);
        check_pops(e.sink, t.customer);
        const auto rec = only_call(e);
        CHECK(rec.status == c.status);
        CHECK(rec.agent == agent_id(c.agent));
        CHECK(rec.customer_id == t.customer);
        std::vector<LegTalk> legs;  // Ringside's fork never sees the talk
        for (const auto& a : c.legs) legs.push_back({a, 0});
        check_legs(rec, legs);
    }
}
