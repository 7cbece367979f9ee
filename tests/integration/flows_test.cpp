// Calls as they really flow, end to end: the real `ringside serve` binary, a
// simulated Asterisk over real AMI, real WebSocket clients, a real SQLite
// file. Click-to-dial through POST /api/calls/dial and AMI Originate; an AMI
// link lost while a phone rings, and while a call is picked up; a restart
// while a phone rings; a blonde transfer to a ring group in the bytes a real
// Asterisk 13 sends. Pops come back where phones still ring; every call is
// logged once and finished.
#include <doctest/doctest.h>

#include "../unit/ami_blonde.hpp"
#include "staffed.hpp"

using namespace ringside;
using namespace ringside::test;
using json = nlohmann::json;

namespace {

HttpResponse dial(Site& site, const std::string& token, const json& body) {
    return http(site.port, "POST", "/api/calls/dial", body.dump(), token);
}

/// The customer Sara Ahmadi calls alice's extension, who answers.
sim::CallPlan sara_calls_alice() {
    sim::CallPlan p;
    p.caller_number = "+989121234567";
    p.extensions = {"1001"};
    p.outcome = sim::Outcome::answered;
    return p;
}

/// The call.* messages a user gets, in order, until `last` (or nothing more comes).
std::vector<std::string> call_messages(WsClient& ws, const std::string& last, std::vector<json>* kept = nullptr) {
    std::vector<std::string> types;
    while (auto m = ws.next(10s)) {
        const auto type = (*m).value("type", "");
        if (!type.starts_with("call.")) continue;
        types.push_back(type == "call.retracted" ? type + " " + (*m)["reason"].get<std::string>() : type);
        if (kept) kept->push_back(*m);
        if (type == last) break;
    }
    return types;
}

}  // namespace

TEST_CASE("click-to-dial rings the agent's own phone, calls the customer, and logs an outbound call to them") {
    Staffed s;
    Site& site = s.site;
    const auto& sup = s.sup;
    const auto& alice_token = s.alice_token;
    const auto customer = s.sara;
    WsClient alice(site.port, alice_token);

    // Who may dial what: each refusal names the problem and dials nothing.
    auto r = dial(site, alice_token, {{"number", "09121234567"}, {"extension", "1002"}});
    CHECK(r.status == 403);
    r = dial(site, alice_token, {{"number", "not a number"}});
    CHECK(r.status == 400);
    CHECK(r.json()["message"].get<std::string>().find("'number'") != std::string::npos);
    r = dial(site, alice_token, json::object());
    CHECK(r.status == 400);
    CHECK(r.json()["message"].get<std::string>().find("'number'") != std::string::npos);
    r = dial(site, alice_token, {{"number", "09121234567"}, {"channel", "SIP/9999"}});
    CHECK(r.status == 400);
    CHECK(r.json()["message"].get<std::string>().find("channel") != std::string::npos);
    r = dial(site, alice_token, {{"number", "09121234567"}, {"customer_id", 999999}});
    CHECK(r.status == 404);
    r = dial(site, alice_token, {{"number", "09121234567"}, {"pbx", "elsewhere"}});
    CHECK(r.status == 400);
    r = dial(site, sup, {{"number", "09121234567"}});  // a supervisor without a phone must name one
    CHECK(r.status == 400);
    CHECK(r.json()["message"].get<std::string>().find("'extension'") != std::string::npos);
    CHECK(http(site.port, "POST", "/api/calls/dial", json{{"number", "09121234567"}}.dump()).status == 401);

    r = dial(site, alice_token, {{"number", "0912 123 4567"}, {"customer_id", customer}});
    REQUIRE(r.status == 202);
    CHECK(r.json()["number"] == "+989121234567");
    CHECK(r.json()["extension"] == "1001");
    // Her phone answered: the PBX goes on to call the number.
    auto outcome = alice.next_of("dial.result");
    REQUIRE(outcome);
    CHECK((*outcome)["ok"] == true);
    CHECK((*outcome)["number"] == "+989121234567");
    CHECK((*outcome)["customer_id"] == customer);

    auto rec = wait_for_call(site.port, sup, [](const json& c) { return c["direction"] == "outbound" && !c["ended_at"].is_null(); });
    REQUIRE(rec);
    CHECK((*rec)["status"] == "answered");
    CHECK((*rec)["agent"] == "alice");
    CHECK((*rec)["extension"] == "1001");
    CHECK((*rec)["to"] == "+989121234567");
    CHECK((*rec)["customer_id"] == customer);
    // It is alice's call, and the customer's history shows it once.
    auto mine = site.calls(alice_token);
    CHECK(count_id(mine, (*rec)["id"].get<std::string>()) == 1);
    auto ctx = http(site.port, "GET", "/api/customers/" + std::to_string(customer), "", alice_token).json();
    REQUIRE(ctx["recent_interactions"].size() == 1);
    CHECK(ctx["recent_interactions"][0]["direction"] == "outbound");

    // A supervisor may dial from any phone by naming it.
    r = dial(site, sup, {{"number", "+989121234567"}, {"extension", "1002"}});
    CHECK(r.status == 202);
    CHECK(site.calls(sup).size() >= 1);
}

TEST_CASE("the AMI link lost while a phone rings: the pop stands, the answer seen by the resync is logged once") {
    Staffed s;
    Site& site = s.site;
    WsClient alice(site.port, s.alice_token);
    // Answered 2 s in, while Ringside cannot reach the PBX; still talking when it is back.
    const auto id = site.call("+989121234567", {"1001"}, sim::Outcome::answered, 2s, 6s);
    auto ring = alice.next_of("call.ringing");
    REQUIRE(ring);
    CHECK((*ring)["call"]["id"] == id);
    site.pbx->drop_clients(2500ms);

    auto answered = alice.next_of("call.answered", 15s);
    REQUIRE(answered);
    CHECK((*answered)["call"]["id"] == id);
    CHECK((*answered)["agent"] == "alice");
    const auto& sup = s.sup;
    auto rec = site.wait_ended(sup, id, 15s);
    REQUIRE(rec);
    CHECK((*rec)["status"] == "answered");
    CHECK((*rec)["agent"] == "alice");
    CHECK(count_id(site.calls(sup), id) == 1);
    CHECK(http(site.port, "GET", "/metrics").body.find("ringside_pbx_reconnects_total{pbx=\"main\"} 0") == std::string::npos);
    // No second pop for the same ring after the reconnect.
    while (auto m = alice.next(300ms)) CHECK((*m)["type"] != "call.ringing");
}

TEST_CASE("the AMI link lost while a call is picked up: the picker is logged with the call, the rung phone withdrawn") {
    Staffed s;
    Site& site = s.site;
    const auto& sup = s.sup;
    const auto customer = s.sara;
    WsClient alice(site.port, s.alice_token);
    WsClient bob(site.port, s.bob_token);
    auto p = sara_calls_alice();
    p.picked_up_by = "1002";  // bob dials *8 after 1.5 s
    p.ring_time = 1500ms;
    p.talk_time = 6s;
    const auto id = "main-" + site.pbx->place_call(p);
    REQUIRE(alice.next_of("call.ringing"));
    site.pbx->drop_clients(2500ms);  // the pickup happens while Ringside is away

    // After the reconnect the listing shows bob's phone on the call: bob gets it, alice's pop is withdrawn.
    auto withdrawn = alice.next_of("call.retracted", 15s);
    REQUIRE(withdrawn);
    CHECK((*withdrawn)["call"]["id"] == id);
    CHECK((*withdrawn)["reason"] == "answered_elsewhere");
    // bob, seen only in the listing, gets the card with the customer, then the answer.
    auto card = bob.next_of("call.ringing", 5s);
    REQUIRE(card);
    CHECK((*card)["call"]["id"] == id);
    CHECK((*card)["call"]["from"] == "+989121234567");
    CHECK((*card)["customer"]["id"] == customer);
    auto taken = bob.next_of("call.answered", 5s);
    REQUIRE(taken);
    CHECK((*taken)["agent"] == "bob");
    auto rec = site.wait_ended(sup, id, 15s);
    REQUIRE(rec);
    CHECK((*rec)["status"] == "answered");
    CHECK((*rec)["agent"] == "bob");
    CHECK((*rec)["extension"] == "1002");
    // One record: neither bob's *8 call nor a second copy of the caller's.
    auto calls = site.calls(sup);
    CHECK(calls.size() == 1);
    CHECK(count_id(calls, id) == 1);
}

TEST_CASE("a restart while a phone rings: the new process pops the ringing agent again and finishes the one record") {
    Staffed s;
    Site& site = s.site;
    const auto& sup = s.sup;
    const auto customer = s.sara;
    std::optional<WsClient> before(std::in_place, site.port, s.alice_token);
    const auto id = site.call("09121234567", {"1001"}, sim::Outcome::answered, 5s, 1s);
    auto first = before->next_of("call.ringing");
    REQUIRE(first);
    CHECK((*first)["call"]["id"] == id);
    before.reset();

    CHECK(site.stop_ringside() == 0);
    site.start_ringside();
    WsClient after(site.port, site.token("alice"));
    after.send({{"type", "resume"}, {"after_seq", 0}});
    auto again = after.next_of("call.ringing", 10s);
    REQUIRE(again);
    CHECK((*again)["call"]["id"] == id);
    CHECK((*again)["call"]["from"] == "+989121234567");
    CHECK((*again)["customer"]["id"] == customer);
    auto answered = after.next_of("call.answered", 10s);
    REQUIRE(answered);
    CHECK((*answered)["call"]["id"] == id);

    auto rec = site.wait_ended(sup, id, 15s);
    REQUIRE(rec);
    CHECK((*rec)["status"] == "answered");
    CHECK((*rec)["agent"] == "alice");
    CHECK((*rec)["customer_id"] == customer);
    CHECK((*rec)["wait_seconds"].get<int>() >= 4);  // from the first run's start, not the restart
    CHECK(count_id(site.calls(sup), id) == 1);
    auto ctx = http(site.port, "GET", "/api/customers/" + std::to_string(customer), "", sup).json();
    CHECK(ctx["recent_interactions"].size() == 1);
}

TEST_CASE("the AMI link lost during a transfer: the target is popped once, the record is one call with both legs") {
    for (const bool attended : {false, true}) {
        CAPTURE(attended);
        Staffed s;
        Site& site = s.site;
        const auto& sup = s.sup;
        const auto customer = s.sara;
        WsClient alice(site.port, s.alice_token);
        WsClient bob(site.port, s.bob_token);
        auto p = sara_calls_alice();
        p.ring_time = 1s;
        p.talk_time = 2s;  // alice transfers 2 s after answering: while Ringside is away
        p.transfer_to = "1002";
        p.transfer_attended = attended;
        p.consult_time = 4s;  // attended: the join comes after the link is back
        p.transfer_talk_time = 4s;
        const auto id = "main-" + site.pbx->place_call(p);
        REQUIRE(alice.next_of("call.answered", 10s));
        site.pbx->drop_clients(2500ms);

        auto pop = bob.next_of("call.ringing", 15s);
        REQUIRE(pop);
        CHECK((*pop)["call"]["id"] == id);
        CHECK((*pop)["call"]["from"] == "+989121234567");
        CHECK((*pop)["customer"]["id"] == customer);
        auto rec = site.wait_ended(sup, id, 20s);
        REQUIRE(rec);
        CHECK((*rec)["status"] == "answered");
        CHECK((*rec)["agent"] == "bob");
        CHECK((*rec)["customer_id"] == customer);
        auto detail = http(site.port, "GET", "/api/calls/" + id, "", sup).json()["call"];
        REQUIRE(detail["legs"].size() == 2);
        CHECK(detail["legs"][0]["agent"] == "alice");
        CHECK(detail["legs"][0]["talk_seconds"].get<int>() >= 2);
        CHECK(detail["legs"][1]["agent"] == "bob");
        // bob's answer may fall in the outage: his talk time counts from when the resync saw it.
        CHECK(detail["legs"][1]["talk_seconds"].get<int>() >= 2);
        // One call: neither the consultation call nor a second copy of the customer's.
        auto calls = site.calls(sup);
        CHECK(calls.size() == 1);
        CHECK(count_id(calls, id) == 1);
        // bob's card came once.
        while (auto m = bob.next(300ms)) CHECK((*m)["type"] != "call.ringing");
    }
}

TEST_CASE("a blonde transfer to a ring group in Asterisk 13's AMI bytes: the group pops with the customer, "
          "the colleague who did not answer is withdrawn, one record with the agent who took it") {
    // The PBX sends the call's bytes right after Ringside's login, stamped as
    // an Asterisk with timestampevents=yes would; the customer is imported
    // before the service starts, so the call's first ring finds them.
    SiteOptions o;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    o.replay = ami_blonde::wire(
        ami_blonde::blonde_transfer({{"1002", "1003"}, ami_blonde::Ending::answered, "1003"}), now);
    Site site(o);
    REQUIRE(site.add_user("alice", "agent", "1001") == 0);
    REQUIRE(site.add_user("bob", "agent", "1002") == 0);
    REQUIRE(site.add_user("carol", "agent", "1003") == 0);
    REQUIRE(site.add_user("sam", "supervisor", "") == 0);
    write_file(site.dir.path / "customers.csv", "name,phones,email,tier,tags\nSara Ahmadi,+989121234567,,gold,vip\n");
    auto imported = run({ringside_binary().string(), "import", "customers", (site.dir.path / "customers.csv").string(),
                         "--config", site.config.string()},
                        site.dir.path);
    REQUIRE(imported.status == 0);
    site.start_pbx();
    site.start_ringside();
    const auto sup = site.token("sam");
    const std::string id = "main-" + ami_blonde::customer_linkedid;
    auto rec = site.wait_ended(sup, id, 20s);
    REQUIRE(rec);
    auto found = http(site.port, "GET", "/api/customers?phone=%2B989121234567", "", sup).json()["customers"];
    REQUIRE(found.size() == 1);
    const auto customer = found[0]["id"].get<std::int64_t>();

    // The pops were sent while nobody was connected: each agent gets theirs on resume, in order.
    auto messages = [&](const std::string& user, const std::string& last, std::vector<json>* kept = nullptr) {
        WsClient ws(site.port, site.token(user));
        ws.send({{"type", "resume"}, {"after_seq", 0}});
        return call_messages(ws, last, kept);
    };
    std::vector<json> carol_msgs, bob_msgs;
    CHECK(messages("carol", "call.ended", &carol_msgs) ==
          std::vector<std::string>{"call.ringing", "call.answered", "call.ended"});
    CHECK(messages("bob", "call.retracted", &bob_msgs) ==
          std::vector<std::string>{"call.ringing", "call.retracted answered_elsewhere"});
    CHECK(messages("alice", "call.answered") == std::vector<std::string>{"call.ringing", "call.answered"});
    for (const auto* msgs : {&carol_msgs, &bob_msgs}) {
        REQUIRE(!msgs->empty());
        const auto& pop = msgs->front();  // the customer's card, from the transfer
        CHECK(pop["call"]["id"] == id);
        CHECK(pop["call"]["from"] == "+989121234567");
        CHECK(pop["call"]["direction"] == "inbound");
        CHECK(pop["customer"]["id"] == customer);
        CHECK(pop["transferred_by"] == "alice");
        for (const auto& m : *msgs) CHECK(m["call"]["id"] == id);
    }

    CHECK((*rec)["status"] == "answered");
    CHECK((*rec)["direction"] == "inbound");
    CHECK((*rec)["agent"] == "carol");
    CHECK((*rec)["customer_id"] == customer);
    CHECK((*rec)["from"] == "+989121234567");
    auto detail = http(site.port, "GET", "/api/calls/" + id, "", sup).json()["call"];
    REQUIRE(detail["legs"].size() == 3);
    CHECK(detail["legs"][0]["agent"] == "alice");
    CHECK(detail["legs"][0]["talk_seconds"] == 7);  // the PBX's Timestamps: answered at 5 s, hung up at 12 s
    CHECK(detail["legs"][1]["agent"] == "bob");
    CHECK(detail["legs"][1]["talk_seconds"] == 0);
    CHECK(detail["legs"][2]["agent"] == "carol");
    CHECK(detail["legs"][2]["talk_seconds"] == 25);
    CHECK(detail["legs"][2]["transferred_by"] == "alice");
    // One call: the consultation call is folded in, not logged as an internal call of its own.
    auto calls = site.calls(sup);
    CHECK(calls.size() == 1);
    CHECK(count_id(calls, id) == 1);
    CHECK(count_id(calls, "main-" + ami_blonde::consultation_linkedid) == 0);
    CHECK(count_id(site.calls(site.token("carol")), id) == 1);  // she took it: it is in her calls
}
