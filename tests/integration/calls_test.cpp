// The real `ringside serve` binary driven by a simulated Asterisk over real
// AMI, with real WebSocket clients and a real SQLite file: pops, retractions
// and call records as agents see them.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <map>

#include "staffed.hpp"

using namespace ringside;
using namespace ringside::test;
using json = nlohmann::json;

TEST_CASE("a known caller pops on the ringing agent only, before answer, and is logged answered") {
    Staffed s;
    WsClient alice(s.site.port, s.alice_token);
    WsClient bob(s.site.port, s.bob_token);
    // The caller's number in national format with spaces: must reach the same E.164.
    auto id = s.site.call("0912 123 4567", {"1001"}, sim::Outcome::answered, 1500ms, 1200ms);

    auto ring = alice.next_of("call.ringing");
    REQUIRE(ring);
    CHECK((*ring)["call"]["id"] == id);
    CHECK((*ring)["call"]["from"] == "+989121234567");
    CHECK((*ring)["customer"]["name"] == "Sara Ahmadi");
    CHECK((*ring)["customer"]["tier"] == "gold");
    REQUIRE((*ring)["open_issues"].size() == 1);
    CHECK((*ring)["open_issues"][0]["title"] == "Refund not received");
    CHECK((*ring)["seq"].get<std::int64_t>() >= 1);

    auto answered = alice.next_of("call.answered");
    REQUIRE(answered);
    CHECK((*answered)["seq"].get<std::int64_t>() > (*ring)["seq"].get<std::int64_t>());
    auto ended = alice.next_of("call.ended");
    REQUIRE(ended);
    CHECK((*ended)["call"]["status"] == "answered");
    CHECK((*ended)["call"]["agent"] == "alice");

    // Never a broadcast: Bob's phone did not ring.
    CHECK_FALSE(bob.next(300ms));

    auto rec = s.site.wait_call(s.sup, id, [](const json& c) { return c["status"] == "answered" && !c["ended_at"].is_null(); });
    REQUIRE(rec);
    CHECK((*rec)["agent"] == "alice");
    CHECK((*rec)["extension"] == "1001");
    CHECK((*rec)["customer_id"] == s.sara);
    CHECK((*rec)["from_raw"] == "0912 123 4567");
    CHECK((*rec)["direction"] == "inbound");
    CHECK((*rec)["wait_seconds"].get<int>() >= 1);
    CHECK((*rec)["talk_seconds"].get<int>() >= 1);

    // The call is in Sara's history, and Alice sees it among her own calls.
    auto cust = http(s.site.port, "GET", "/api/customers/" + std::to_string(s.sara), "", s.alice_token);
    REQUIRE(cust.status == 200);
    REQUIRE_FALSE(cust.json()["recent_interactions"].empty());
    CHECK(cust.json()["recent_interactions"][0]["channel"] == "call");
    auto mine = http(s.site.port, "GET", "/api/calls", "", s.alice_token).json();
    REQUIRE(mine["calls"].size() == 1);
    auto bobs = http(s.site.port, "GET", "/api/calls", "", s.bob_token).json();
    CHECK(bobs["calls"].empty());
}

TEST_CASE("in a ring group the first to answer keeps the pop and the other is retracted") {
    Staffed s;
    WsClient alice(s.site.port, s.alice_token);
    WsClient bob(s.site.port, s.bob_token);
    auto id = s.site.call("+989121234567", {"1001", "1002"}, sim::Outcome::answered, 1200ms, 800ms, 1);

    REQUIRE(alice.next_of("call.ringing"));
    REQUIRE(bob.next_of("call.ringing"));
    auto retracted = alice.next_of("call.retracted");
    REQUIRE(retracted);
    CHECK((*retracted)["call"]["id"] == id);
    CHECK((*retracted)["reason"] == "answered_elsewhere");
    REQUIRE(bob.next_of("call.answered"));
    REQUIRE(bob.next_of("call.ended"));
    auto rec = s.site.wait_ended(s.sup, id);
    REQUIRE(rec);
    CHECK((*rec)["agent"] == "bob");
}

TEST_CASE("an unknown caller pops with no customer, and hanging up before answer is logged missed") {
    Staffed s;
    WsClient alice(s.site.port, s.alice_token);
    auto id = s.site.call("+31201234567", {"1001"}, sim::Outcome::caller_cancels, 1200ms);
    auto ring = alice.next_of("call.ringing");
    REQUIRE(ring);
    CHECK((*ring)["customer"].is_null());
    CHECK((*ring)["call"]["from"] == "+31201234567");
    auto retracted = alice.next_of("call.retracted");
    REQUIRE(retracted);
    CHECK((*retracted)["reason"] == "caller_hung_up");
    auto rec = s.site.wait_call(s.sup, id, [](const json& c) { return c["status"] != "ringing"; });
    REQUIRE(rec);
    CHECK((*rec)["status"] == "missed");
    CHECK((*rec)["agent"].is_null());
    CHECK((*rec)["talk_seconds"] == 0);
}

TEST_CASE("a busy agent phone is logged busy") {
    Staffed s;
    auto id = s.site.call("+989121234567", {"1002"}, sim::Outcome::busy, 500ms);
    auto rec = s.site.wait_call(s.sup, id, [](const json& c) { return c["status"] != "ringing"; });
    REQUIRE(rec);
    CHECK((*rec)["status"] == "busy");
}

TEST_CASE("a browser that reconnects resumes exactly the pops it missed") {
    Staffed s;
    std::int64_t last_seq = 0;
    {
        WsClient alice(s.site.port, s.alice_token);
        s.site.call("+989121234567", {"1001"}, sim::Outcome::answered, 300ms, 300ms);
        auto ended = alice.next_of("call.ended");
        REQUIRE(ended);
        last_seq = (*ended)["seq"];
        alice.close();
    }
    // While the browser is away, a call rings, is answered and ends.
    auto id = s.site.call("+989121234567", {"1001"}, sim::Outcome::answered, 300ms, 300ms);
    REQUIRE(s.site.wait_ended(s.sup, id));
    WsClient again(s.site.port, s.alice_token);
    again.send({{"type", "resume"}, {"after_seq", last_seq}});
    std::vector<std::string> types;
    std::int64_t prev = last_seq;
    while (auto m = again.next(1500ms)) {
        CHECK((*m)["seq"].get<std::int64_t>() == prev + 1);
        prev = (*m)["seq"];
        // Her agent state (wrap-up after each answered call) is in the same numbered stream.
        if ((*m)["type"] != "agent.state") types.push_back((*m)["type"]);
    }
    CHECK(types == std::vector<std::string>{"call.ringing", "call.answered", "call.ended"});
}

TEST_CASE("an agent saves a disposition and notes with a card number, stored masked") {
    Staffed s;
    WsClient alice(s.site.port, s.alice_token);
    auto id = s.site.call("+989121234567", {"1001"}, sim::Outcome::answered, 300ms, 300ms);
    REQUIRE(alice.next_of("call.ended"));
    auto r = http(s.site.port, "POST", "/api/calls/" + id + "/disposition",
                  json{{"disposition", "resolved"}, {"notes", "refund to card 4111 1111 1111 1111 done"}}.dump(),
                  s.alice_token);
    CHECK(r.status == 200);
    auto forbidden = http(s.site.port, "POST", "/api/calls/" + id + "/disposition",
                          json{{"disposition", "x"}, {"notes", ""}}.dump(), s.bob_token);
    CHECK(forbidden.status == 403);
    auto rec = s.site.wait_call(s.sup, id, [](const json& c) { return c["disposition"] == "resolved"; });
    REQUIRE(rec);
    auto notes = (*rec)["notes"].get<std::string>();
    CHECK(notes.find("4111 1111 1111 1111") == std::string::npos);
    CHECK(notes.find("1111") != std::string::npos);

    // A second device that never saw that save: 409 naming what is there, nothing overwritten.
    auto late = http(s.site.port, "POST", "/api/calls/" + id + "/disposition",
                     json{{"disposition", "callback"}, {"notes", ""}, {"previous", ""}}.dump(), s.alice_token);
    CHECK(late.status == 409);
    CHECK(late.json()["message"].get<std::string>().find("resolved") != std::string::npos);
    auto changed = http(s.site.port, "POST", "/api/calls/" + id + "/disposition",
                        json{{"disposition", "callback"}, {"notes", "n"}, {"previous", "resolved"}}.dump(),
                        s.alice_token);
    CHECK(changed.status == 200);
    CHECK(changed.json()["call"]["disposition"] == "callback");
}

TEST_CASE("the call log exports as CSV with the same rows as /api/calls") {
    Staffed s;
    auto a = s.site.call("+989121234567", {"1001"}, sim::Outcome::answered, 300ms, 300ms);
    auto b = s.site.call("+31201234567", {"1002"}, sim::Outcome::caller_cancels, 300ms);
    REQUIRE(s.site.wait_ended(s.sup, a));
    REQUIRE(s.site.wait_ended(s.sup, b));
    auto csv = http(s.site.port, "GET", "/api/calls.csv", "", s.sup);
    REQUIRE(csv.status == 200);
    CHECK(csv.headers["content-type"].find("text/csv") == 0);
    CHECK(csv.body.find(a) != std::string::npos);
    CHECK(csv.body.find(b) != std::string::npos);
    CHECK(http(s.site.port, "GET", "/api/calls.csv", "", s.alice_token).status == 403);
}

TEST_CASE("the call timeline, the call log and the CSV export say who hung up first") {
    Staffed s;
    // The simulated Asterisk sends HangupRequest on the trunk when the caller
    // hangs up; a busy phone and a ring that runs out end without one.
    auto talked = s.site.call("+989121234567", {"1001"}, sim::Outcome::answered, 300ms, 300ms);
    auto busy = s.site.call("+31201234567", {"1002"}, sim::Outcome::busy, 300ms);
    auto unanswered = s.site.call("+31201234568", {"1001"}, sim::Outcome::no_answer, 300ms);
    for (const auto& id : {talked, busy, unanswered})
        REQUIRE(s.site.wait_ended(s.sup, id));

    const auto ended_event = [&](const std::string& id) {
        auto r = http(s.site.port, "GET", "/api/calls/" + id, "", s.sup);
        REQUIRE(r.status == 200);
        const auto tl = r.json()["timeline"];
        REQUIRE(!tl.empty());
        REQUIRE(tl.back()["event"] == "ended");
        return tl.back();
    };
    auto e = ended_event(talked);
    CHECK(e["by"] == "caller");
    CHECK(e["by_agent"].is_null());
    e = ended_event(busy);
    CHECK(e["by"] == "agent");
    CHECK(e["by_extension"] == "1002");
    CHECK(e["by_agent"] == "bob");
    e = ended_event(unanswered);
    CHECK(e["by"] == "system");

    auto list = http(s.site.port, "GET", "/api/calls", "", s.sup).json()["calls"];
    std::map<std::string, std::string> side;
    for (const auto& c : list) side[c["id"]] = c["hangup_by"].dump() + "/" + c["hangup_extension"].dump();
    CHECK(side[talked] == R"("caller"/null)");
    CHECK(side[busy] == R"("agent"/"1002")");
    CHECK(side[unanswered] == R"("system"/null)");

    // CSV: the two columns come last; the ones before keep their places.
    auto csv = http(s.site.port, "GET", "/api/calls.csv", "", s.sup);
    REQUIRE(csv.status == 200);
    CHECK(csv.body.starts_with("id,pbx,direction,from,from_raw,to,customer_id,agent,extension,queue,status,started_at,"
                               "answered_at,ended_at,wait_seconds,talk_seconds,disposition,notes,from_name,hangup_by,"
                               "hangup_extension\r\n"));
    const auto row_of = [&](const std::string& id) {
        const auto at = csv.body.find("\r\n" + id + ",");
        REQUIRE(at != std::string::npos);
        return csv.body.substr(at + 2, csv.body.find("\r\n", at + 2) - at - 2);
    };
    CHECK(row_of(talked).ends_with(",caller,"));
    CHECK(row_of(busy).ends_with(",agent,1002"));
    CHECK(row_of(unanswered).ends_with(",system,"));
}
