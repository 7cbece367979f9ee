// The webhook receiver without sockets: signatures, the replay window, event
// ids seen before, bad JSON, oversize bodies, and what the mapped events make
// of a call in the real call tracker.
#include <doctest/doctest.h>

#include <cctype>
#include <string>

#include "ringside/core/call_tracker.hpp"
#include "ringside/webhook/receiver.hpp"

using namespace ringside;
using namespace ringside::webhook;

namespace {

const Timestamp now = Timestamp(std::chrono::seconds(1'790'000'000));
const std::string ts = "1790000000";

ReceiverConfig config() {
    ReceiverConfig c;
    c.pbx = PbxId("cloud");
    c.secret = "whsec-test";
    c.limits.max_body = 4096;
    return c;
}

Outcome post(Receiver& r, const std::string& body, const std::string& timestamp = ts, Timestamp at = now) {
    return r.receive(timestamp, sign("whsec-test", timestamp, body), body, at);
}

std::string ringing(const std::string& id = "e1") {
    return R"({"id":")" + id + R"(","type":"call.ringing","call_id":"c1","from":"09121234567","extensions":["1001","1002"]})";
}

/// Runs a body sequence through a fresh receiver and a call tracker; returns the effects.
std::vector<Effect> through_tracker(const std::vector<std::string>& bodies) {
    Receiver r(config());
    CallTracker t;
    std::vector<Effect> all;
    for (const auto& b : bodies) {
        auto o = post(r, b);
        REQUIRE_MESSAGE(o.verdict == Verdict::accepted, o.message);
        for (const auto& ev : o.events)
            for (auto& eff : t.on_event(ev)) all.push_back(std::move(eff));
    }
    return all;
}

template <class T>
std::vector<T> only(const std::vector<Effect>& v) {
    std::vector<T> out;
    for (const auto& e : v)
        if (auto* p = std::get_if<T>(&e)) out.push_back(*p);
    return out;
}

}  // namespace

TEST_CASE("a correctly signed event is accepted and maps to pbx events") {
    Receiver r(config());
    auto o = post(r, ringing());
    CHECK(o.verdict == Verdict::accepted);
    CHECK(http_status(o.verdict) == 200);
    CHECK_FALSE(o.events.empty());
}

TEST_CASE("the signature may carry a sha256= prefix and upper-case hex") {
    Receiver r(config());
    auto sig = sign("whsec-test", ts, ringing());
    for (auto& c : sig) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(r.receive(ts, "sha256=" + sig, ringing(), now).verdict == Verdict::accepted);
}

TEST_CASE("a signature made with another secret, another body or another timestamp is refused with 401") {
    Receiver r(config());
    CHECK(r.receive(ts, sign("other", ts, ringing()), ringing(), now).verdict == Verdict::bad_signature);
    CHECK(r.receive(ts, sign("whsec-test", ts, ringing("e9")), ringing(), now).verdict == Verdict::bad_signature);
    CHECK(r.receive(ts, sign("whsec-test", "1790000001", ringing()), ringing(), now).verdict == Verdict::bad_signature);
    CHECK(r.receive(ts, "zz", ringing(), now).verdict == Verdict::bad_signature);
    auto o = r.receive(ts, std::string(64, 'g'), ringing(), now);
    CHECK(o.verdict == Verdict::bad_signature);
    CHECK(http_status(o.verdict) == 401);
    CHECK(o.message.find("X-Ringside-Signature") != std::string::npos);
    CHECK(o.events.empty());
}

TEST_CASE("a missing signature or timestamp header is named") {
    Receiver r(config());
    auto o = r.receive("", sign("whsec-test", ts, ringing()), ringing(), now);
    CHECK(o.verdict == Verdict::missing_signature);
    CHECK(o.message.find("X-Ringside-Timestamp") != std::string::npos);
    o = r.receive(ts, "", ringing(), now);
    CHECK(o.verdict == Verdict::missing_signature);
    CHECK(o.message.find("X-Ringside-Signature") != std::string::npos);
}

TEST_CASE("a timestamp that is not whole seconds is a 400") {
    Receiver r(config());
    for (std::string bad : {"17900000.5", "-5", "abc", "2026-11-23T14:00:00Z", "99999999999999999999"}) {
        auto o = r.receive(bad, sign("whsec-test", bad, ringing()), ringing(), now);
        CHECK(o.verdict == Verdict::bad_timestamp);
        CHECK(http_status(o.verdict) == 400);
    }
}

TEST_CASE("a replay from outside the window is refused even with a good signature") {
    Receiver r(config());
    auto old = std::to_string(1'790'000'000 - 301);
    auto o = post(r, ringing(), old);
    CHECK(o.verdict == Verdict::stale_timestamp);
    CHECK(http_status(o.verdict) == 401);
    auto ahead = std::to_string(1'790'000'000 + 301);
    CHECK(post(r, ringing(), ahead).verdict == Verdict::stale_timestamp);
    CHECK(post(r, ringing(), std::to_string(1'790'000'000 - 299)).verdict == Verdict::accepted);
}

TEST_CASE("a retry with the same event id is accepted again and has no effect") {
    Receiver r(config());
    CHECK(post(r, ringing()).verdict == Verdict::accepted);
    auto again = post(r, ringing(), "1790000003", now + std::chrono::seconds(3));
    CHECK(again.verdict == Verdict::duplicate);
    CHECK(http_status(again.verdict) == 200);
    CHECK(again.events.empty());
}

TEST_CASE("event ids are forgotten only after the window has passed twice") {
    Receiver r(config());
    CHECK(post(r, ringing("a")).verdict == Verdict::accepted);
    const auto later = now + std::chrono::seconds(599);
    CHECK(post(r, ringing("a"), std::to_string(1'790'000'599), later).verdict == Verdict::duplicate);
}

TEST_CASE("bad JSON and bodies that are not events are 400s naming the problem") {
    Receiver r(config());
    auto o = post(r, "{\"id\":");
    CHECK(o.verdict == Verdict::invalid_event);
    CHECK(o.message == "the body is not valid JSON");
    CHECK(post(r, "[1,2]").message == "the body must be a JSON object");
    CHECK(post(r, R"({"id":"x","type":"call.rang","call_id":"c"})").message.find("field 'type'") != std::string::npos);
    CHECK(post(r, R"({"id":"x","type":"call.ringing","call_id":"c"})").message.find("field 'extensions'") !=
          std::string::npos);
    CHECK(post(r, R"({"id":"x","type":"call.ringing","call_id":"c","extensions":["10 01"]})").message.find(
              "extensions[0]") != std::string::npos);
    CHECK(post(r, R"({"id":"x","type":"call.answered","call_id":"c/../x","extension":"1"})").message.find(
              "field 'call_id'") != std::string::npos);
    CHECK(post(r, R"({"id":"x","type":"call.ended","call_id":"c","cause":"exploded"})").message.find("field 'cause'") !=
          std::string::npos);
    CHECK(post(r, R"({"id":"x","type":"call.ended","call_id":"c","at":"yesterday"})").message.find("field 'at'") !=
          std::string::npos);
    CHECK(post(r, R"({"id":"x","type":"call.ended","call_id":"c","colour":"red"})").message == "unknown field 'colour'");
    CHECK(post(r, std::string(100, '[') + std::string(100, ']')).verdict == Verdict::invalid_event);
}

TEST_CASE("a body over the size limit is a 413 before any other check") {
    Receiver r(config());
    std::string big(5000, ' ');
    auto o = r.receive("", "", big, now);
    CHECK(o.verdict == Verdict::too_large);
    CHECK(http_status(o.verdict) == 413);
}

TEST_CASE("an answered call rings both extensions, the other stops as answered elsewhere, and ends answered") {
    auto effects = through_tracker({
        ringing(),
        R"({"id":"e2","type":"call.answered","call_id":"c1","extension":"1002"})",
        R"({"id":"e3","type":"call.ended","call_id":"c1","cause":"normal"})",
    });
    auto rings = only<effect::Ringing>(effects);
    REQUIRE(rings.size() == 2);
    CHECK(rings[0].ext.value() == "1001");
    CHECK(rings[0].call.id.value() == "cloud-c1");
    CHECK(rings[0].call.caller_num == "09121234567");
    auto answered = only<effect::Answered>(effects);
    REQUIRE(answered.size() == 1);
    CHECK(answered[0].ext.value() == "1002");
    auto stopped = only<effect::StoppedRinging>(effects);
    REQUIRE(stopped.size() == 1);
    CHECK(stopped[0].ext.value() == "1001");
    CHECK(stopped[0].reason == StopReason::answered_elsewhere);
    auto ended = only<effect::Ended>(effects);
    REQUIRE(ended.size() == 1);
    CHECK(ended[0].outcome == CallStatus::answered);
}

TEST_CASE("a caller who hangs up while it rings ends missed; busy ends busy") {
    auto missed = only<effect::Ended>(through_tracker({
        ringing(), R"({"id":"e2","type":"call.ended","call_id":"c1","cause":"cancelled"})"}));
    REQUIRE(missed.size() == 1);
    CHECK(missed[0].outcome == CallStatus::missed);
    auto busy = only<effect::Ended>(through_tracker({
        ringing(), R"({"id":"e2","type":"call.ended","call_id":"c1","cause":"busy"})"}));
    REQUIRE(busy.size() == 1);
    CHECK(busy[0].outcome == CallStatus::busy);
}

TEST_CASE("a blind transfer rings the target naming the agent who transferred") {
    auto effects = through_tracker({
        R"({"id":"e1","type":"call.ringing","call_id":"c1","from":"+15551234567","extensions":["1001"]})",
        R"({"id":"e2","type":"call.answered","call_id":"c1","extension":"1001"})",
        R"({"id":"e3","type":"call.transferred","call_id":"c1","extension":"1001","target":"1002"})",
        R"({"id":"e4","type":"call.answered","call_id":"c1","extension":"1002"})",
        R"({"id":"e5","type":"call.ended","call_id":"c1"})",
    });
    auto rings = only<effect::Ringing>(effects);
    REQUIRE(rings.size() == 2);
    CHECK(rings[1].ext.value() == "1002");
    REQUIRE(rings[1].transferred_by);
    CHECK(rings[1].transferred_by->value() == "1001");
    CHECK(rings[1].call.caller_num == "+15551234567");
    auto ended = only<effect::Ended>(effects);
    REQUIRE(ended.size() == 1);
    CHECK(ended[0].outcome == CallStatus::answered);
    CHECK(ended[0].legs.size() == 2);
}

TEST_CASE("events for a call never rung, or after it ended, change nothing") {
    Receiver r(config());
    auto o = post(r, R"({"id":"x1","type":"call.answered","call_id":"nope","extension":"1001"})");
    CHECK(o.verdict == Verdict::accepted);
    CHECK(o.events.empty());
}

TEST_CASE("the parser survives every prefix of a valid body") {
    const std::string body =
        R"({"id":"e1","type":"call.ringing","call_id":"c1","at":"2026-11-23T14:00:00.123Z","from":"0912","extensions":["1001"]})";
    for (std::size_t i = 0; i < body.size(); ++i) {
        auto r = parse_event(body.substr(0, i));
        CHECK(std::holds_alternative<ParseError>(r));
    }
    auto ok = parse_event(body);
    REQUIRE(std::holds_alternative<Event>(ok));
    CHECK(std::get<Event>(ok).at.has_value());
}

// ---------------------------------------------------------------- hang-up side (issue 4)

TEST_CASE("call.ended's optional hangup_by says who hung up; without it an answered call's side is unknown") {
    const auto side = [](const std::string& end_fields) {
        auto ended = only<effect::Ended>(through_tracker({
            ringing(),
            R"({"id":"e2","type":"call.answered","call_id":"c1","extension":"1002"})",
            R"({"id":"e3","type":"call.ended","call_id":"c1")" + end_fields + "}",
        }));
        REQUIRE(ended.size() == 1);
        return std::pair{ended[0].hangup_by, ended[0].hangup_ext.value_or(Extension("")).value()};
    };
    CHECK(side(R"(,"hangup_by":"caller")") == std::pair{std::optional(HangupBy::caller), std::string()});
    CHECK(side(R"(,"hangup_by":"system")") == std::pair{std::optional(HangupBy::system), std::string()});
    // "agent" without an extension: the phone that answered.
    CHECK(side(R"(,"hangup_by":"agent")") == std::pair{std::optional(HangupBy::agent), std::string("1002")});
    CHECK(side(R"(,"hangup_by":"agent","extension":"1002")") ==
          std::pair{std::optional(HangupBy::agent), std::string("1002")});
    CHECK(side("").first == std::nullopt);
    // A caller who cancels hangs up first by the format's own definition.
    auto cancelled = only<effect::Ended>(through_tracker({
        ringing(), R"({"id":"e2","type":"call.ended","call_id":"c1","cause":"cancelled"})"}));
    REQUIRE(cancelled.size() == 1);
    CHECK(cancelled[0].hangup_by == HangupBy::caller);
}

TEST_CASE("a hangup_by that is not caller, agent or system is a 400 naming the field") {
    auto r = parse_event(R"({"id":"e3","type":"call.ended","call_id":"c1","hangup_by":"customer"})");
    auto* err = std::get_if<ringside::webhook::ParseError>(&r);
    REQUIRE(err);
    CHECK(err->field == "hangup_by");
    CHECK(err->message.find("caller, agent, system") != std::string::npos);
}

namespace {

/// call.ringing for c1 with extensions first..first+count-1 ("2000", "2001", ...).
std::string ringing_many(const std::string& id, int first, int count) {
    std::string exts;
    for (int i = 0; i < count; ++i) exts += (i ? ",\"" : "\"") + std::to_string(first + i) + "\"";
    return R"({"id":")" + id + R"(","type":"call.ringing","call_id":"c1","from":"09121234567","extensions":[)" + exts +
           "]}";
}

}  // namespace

TEST_CASE("an answer from a 65th phone after 64 rang is taken: the call ends answered by it, no throw") {
    // Regression: ring() refused the 65th leg at its cap, then legs.at() threw
    // std::out_of_range; the HTTP layer answered 500 with the event id
    // already marked seen, so the answer was lost for good.
    std::vector<std::string> bodies = {ringing_many("r1", 2000, 32), ringing_many("r2", 2032, 32)};
    bodies.push_back(R"({"id":"a1","type":"call.answered","call_id":"c1","extension":"3000"})");
    bodies.push_back(R"({"id":"z1","type":"call.ended","call_id":"c1","cause":"normal"})");
    std::vector<Effect> effects;
    REQUIRE_NOTHROW(effects = through_tracker(bodies));
    auto rings = only<effect::Ringing>(effects);
    REQUIRE(rings.size() == 65);  // the 64, then the answering phone rings and answers at once
    CHECK(rings.back().ext.value() == "3000");
    auto answered = only<effect::Answered>(effects);
    REQUIRE(answered.size() == 1);
    CHECK(answered[0].ext.value() == "3000");
    CHECK(only<effect::StoppedRinging>(effects).size() == 64);  // answered elsewhere
    auto ended = only<effect::Ended>(effects);
    REQUIRE(ended.size() == 1);
    CHECK(ended[0].outcome == CallStatus::answered);
    CHECK(ended[0].legs.size() == 65);
}

TEST_CASE("rings beyond 64 phones are refused; answers and transfer targets beyond them are bounded too") {
    Receiver r(config());
    REQUIRE(post(r, ringing_many("r1", 2000, 32)).verdict == Verdict::accepted);
    REQUIRE(post(r, ringing_many("r2", 2032, 32)).verdict == Verdict::accepted);
    CHECK(post(r, ringing_many("r3", 2064, 32)).events.empty());  // the 65th..96th do not ring
    // A sender gone wrong transferring to ever new phones cannot grow a call without bound.
    std::size_t taken = 0;
    for (int i = 0; i < 200; ++i) {
        auto o = post(r, R"({"id":"t)" + std::to_string(i) + R"(","type":"call.transferred","call_id":"c1","extension":"9)" +
                             std::to_string(i) + R"(","target":"8)" + std::to_string(i) + R"("})");
        REQUIRE(o.verdict == Verdict::accepted);
        for (const auto& e : o.events) taken += std::holds_alternative<pbx::ChannelCreated>(e.payload);
    }
    CHECK(taken == 64);  // up to 128 legs in all
    auto o = post(r, R"({"id":"a1","type":"call.answered","call_id":"c1","extension":"7777"})");
    CHECK(o.verdict == Verdict::accepted);
    CHECK(o.events.empty());  // refused cleanly, never a throw
}

TEST_CASE("a late call.ringing for a call that ended is not a new call") {
    auto effects = through_tracker({
        ringing("e1"),
        R"({"id":"e2","type":"call.ended","call_id":"c1","cause":"cancelled"})",
        ringing("e3"),
    });
    CHECK(only<effect::CallStarted>(effects).size() == 1);
    CHECK(only<effect::Ended>(effects).size() == 1);
}

TEST_CASE("anonymous: true on call.ringing marks the caller withheld; it must be a boolean") {
    Receiver r(config());
    auto o = post(r, R"({"id":"e1","type":"call.ringing","call_id":"c1","from":"+31261234567","anonymous":true,"extensions":["1001"]})");
    REQUIRE(o.verdict == Verdict::accepted);
    const auto& root = std::get<pbx::ChannelCreated>(o.events.at(0).payload).ch;
    CHECK(root.caller_withheld == true);
    auto plain = post(r, R"({"id":"e2","type":"call.ringing","call_id":"c2","from":"anonymous","extensions":["1001"]})");
    CHECK(!std::get<pbx::ChannelCreated>(plain.events.at(0).payload).ch.caller_withheld);
    auto bad = post(r, R"({"id":"e3","type":"call.ringing","call_id":"c3","anonymous":"yes","extensions":["1001"]})");
    CHECK(bad.verdict == Verdict::invalid_event);
    CHECK(bad.message.find("anonymous") != std::string::npos);
}
