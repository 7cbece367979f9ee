// The customer lookup answered later (a networked database): the engine goes
// on with other calls meanwhile, and each call's messages keep their order.
#include <doctest/doctest.h>

#include "ami_calls.hpp"
#include "call_events.hpp"
#include "call_service_env.hpp"
#include "ringside/ami/mapper.hpp"

using namespace ringside;
using namespace call_test;
using CS = pbx::ChannelState;
using Strings = std::vector<std::string>;

namespace {

/// The engine with lookups the test answers, agents alice (1001), bob
/// (1002), carol (1003), and Sara Ahmadi's file at +989121234567.
struct Deferred {
    TempDir dir;
    SqliteStore store{dir.path() / "ringside.db"};
    RecordingSink sink;
    PhoneNormalizer phones{"IR"};
    DeferredLookup lookup{store};
    CallService svc{store, sink, phones, CallServiceOptions{}, lookup};
    std::int64_t sara = 0;
    Deferred() {
        for (auto [name, ext] : {std::pair{"alice", "1001"}, {"bob", "1002"}, {"carol", "1003"}})
            store.create_user(make_user(name, Role::agent, ext), "$argon2id$v=19$test-only");
        Customer c;
        c.name = "Sara Ahmadi";
        c.phones = {sara_number};
        sara = store.create_customer(c);
    }
    void feed(int sec, pbx::Payload p) { svc.on_pbx_event(ev(sec, std::move(p))); }
    /// Asterisk's channel name for call `l` ("1700.1") on `device`: SIP/<device>-0000<4 digits of l>.
    static std::string channel(const std::string& device, const std::string& l) {
        return "SIP/" + device + "-0000" + l.substr(0, 4);
    }
    /// A trunk call from `caller` (linkedid `l`) ringing `ext`'s phone at t=sec+1.
    void ring(const std::string& l, const std::string& caller, const std::string& ext, int sec) {
        const std::string trunk = channel("trunk", l);
        const std::string phone = channel(ext, l);
        feed(sec, pbx::ChannelCreated{chan(l, l, trunk, caller, CS::ring, "500")});
        feed(sec + 1, pbx::ChannelCreated{chan(l + "1", l, phone)});
        feed(sec + 1, pbx::DialBegin{chan(l, l, trunk, caller, CS::ring), chan(l + "1", l, phone), "SIP/" + ext});
    }
    void answer(const std::string& l, const std::string& ext, int sec) {
        feed(sec, pbx::ChannelUpdated{chan(l + "1", l, channel(ext, l), "", CS::up)});
    }
    void hang_up(const std::string& l, int sec) {
        feed(sec, pbx::Hangup{l + "1", 16, ""});
        feed(sec, pbx::Hangup{l, 16, ""});
    }
};

}  // namespace

TEST_CASE("while one caller's lookup is out, another call pops; the first pops when its answer comes") {
    Deferred d;
    d.ring("1700.1", "09121234567", "1001", 0);  // Sara: her lookup stays out
    d.ring("1800.1", "+442079460000", "1002", 0);  // a stranger
    CHECK(d.lookup.waiting() == 2);
    CHECK(d.sink.lines().empty());  // no pop goes out before its caller's card

    d.lookup.answer("+442079460000");
    CHECK(d.sink.lines() == Strings{"bob call.ringing"});
    CHECK(d.sink.sent[0].msg["customer"].is_null());

    d.lookup.answer(sara_number);
    CHECK(d.sink.lines() == Strings{"bob call.ringing", "alice call.ringing"});
    const auto& pop = d.sink.sent[1].msg;
    CHECK(pop["call"]["id"] == "main-1700.1");
    CHECK(pop["customer"]["id"] == d.sara);
    CHECK(pop["customer"]["name"] == "Sara Ahmadi");
    CHECK(d.svc.stats().lookups == 2);
    CHECK(d.svc.stats().lookup_hits == 1);
    CHECK(d.store.find_call(CallId("main-1700.1"))->customer_id == d.sara);
}

TEST_CASE("a call's ring, answer and end that came while its lookup was out reach the agent in their order") {
    Deferred d;
    d.ring("1700.1", "09121234567", "1001", 0);
    d.answer("1700.1", "1001", 4);
    d.hang_up("1700.1", 64);
    // Meanwhile another call goes all the way through: a caller id that is no
    // phone number has nothing to look up.
    d.ring("1800.1", "Reception", "1002", 10);
    d.hang_up("1800.1", 12);
    CHECK(d.sink.lines() == Strings{"bob call.ringing", "bob call.retracted caller_hung_up"});
    REQUIRE(d.lookup.waiting() == 1);

    d.lookup.answer(sara_number);
    CHECK(d.sink.lines() == Strings{"bob call.ringing", "bob call.retracted caller_hung_up", "alice call.ringing",
                                    "alice call.answered", "alice call.ended"});
    auto rec = d.store.find_call(CallId("main-1700.1"));
    REQUIRE(rec);
    CHECK(rec->status == CallStatus::answered);
    CHECK(rec->agent == AgentId("alice"));
    CHECK(rec->customer_id == d.sara);
    CHECK(rec->talk_seconds == 60);
    // The history entry is Sara's: the end waited for her card.
    auto ctx = d.store.customer_context(d.sara);
    REQUIRE(ctx);
    REQUIRE(ctx->recent_interactions.size() == 1);
    CHECK(ctx->recent_interactions[0].call_id == CallId("main-1700.1"));
    CHECK(d.svc.stats().active_calls == 0);
}

TEST_CASE("a caller who hangs up before the lookup answers is retracted from the phone it rang, and logged as missed") {
    Deferred d;
    d.ring("1700.1", "09121234567", "1001", 0);
    d.hang_up("1700.1", 3);
    d.lookup.answer_all();
    CHECK(d.sink.lines() == Strings{"alice call.ringing", "alice call.retracted caller_hung_up"});
    auto rec = d.store.find_call(CallId("main-1700.1"));
    REQUIRE(rec);
    CHECK(rec->status == CallStatus::missed);
    CHECK(rec->customer_id == d.sara);
}

namespace {

/// A recorded call with phone A (201) made an external caller at a real
/// number, so its call has a customer to look up.
std::vector<pbx::Event> with_external_caller(const std::string& file) {
    auto msgs = cacofonisk(file);
    for (auto& m : msgs)
        for (auto& f : m.fields)
            if ((f.key == "CallerIDNum" || f.key == "ConnectedLineNum") && f.value == "201") f.value = "0612345678";
    ami::EventMapper mapper(PbxId("main"));
    std::vector<pbx::Event> out;
    for (std::size_t i = 0; i < msgs.size(); ++i)
        for (auto& e : mapper.map(msgs[i], at_s(static_cast<int>(i)))) out.push_back(std::move(e));
    return out;
}

struct Outcome {
    std::vector<std::string> sent;
    std::vector<std::string> calls;  // "id status agent customer legs talk"
};

/// Plays the events into an engine whose lookups answer inline, or (late)
/// only after the next event has been fed.
Outcome play(const std::vector<pbx::Event>& events, bool late) {
    TempDir dir;
    SqliteStore store(dir.path() / "ringside.db");
    RecordingSink sink;
    PhoneNormalizer phones("NL");
    DeferredLookup deferred(store);
    InlineLookup now(store);
    CallService svc(store, sink, phones, CallServiceOptions{},
                    late ? static_cast<CustomerLookup&>(deferred) : static_cast<CustomerLookup&>(now));
    for (auto [name, ext] : {std::pair{"alice", "150010002"}, {"bob", "150010003"}})
        store.create_user(make_user(name, Role::agent, ext), "$argon2id$v=19$test-only");
    Customer c;
    c.name = "Sara Ahmadi";
    c.phones = {"+31612345678", "+31150010001"};  // A as rewritten here; the queue recording's caller
    store.create_customer(c);
    for (const auto& ev : events) {
        const auto before = deferred.waiting();
        svc.on_pbx_event(ev);
        // What was out before this event is answered now: one event late.
        for (std::size_t i = 0; i < before; ++i) deferred.answer_all();
    }
    deferred.answer_all();
    Outcome o;
    for (const auto& s : sink.sent) o.sent.push_back(s.to + " " + s.msg.dump());
    for (const auto& r : store.list_calls(CallFilter{})) {
        auto full = store.find_call(r.id);
        o.calls.push_back(r.id.value() + " " + std::string(to_string(full->status)) + " " +
                          (full->agent ? full->agent->value() : "-") + " " +
                          (full->customer_id ? std::to_string(*full->customer_id) : "-") + " " +
                          std::to_string(full->legs.size()) + " " + std::to_string(full->talk_seconds));
    }
    CHECK(svc.stats().active_calls == 0);
    CHECK(svc.stats().lookup_hits >= 1);
    return o;
}

}  // namespace

TEST_CASE("recorded calls give the same messages and records whether lookups answer at once or an event late") {
    for (const char* file : {"simple/ab_success_a_hangup.json", "simple/ab_reject.json", "simple/ab_a_cancel.json",
                             "queue/queue_a_cancel.json", "xfer_blind/xfer_blind_abacbc.json",
                             "xfer_attended/xfer_abbcac.json"}) {
        const std::string name = file;
        CAPTURE(name);
        const auto events = with_external_caller(file);
        const auto at_once = play(events, false);
        const auto late = play(events, true);
        CHECK(!at_once.sent.empty());
        CHECK(late.sent == at_once.sent);
        CHECK(late.calls == at_once.calls);
    }
}
