// The call tracker on hand-built PBX events: what it reports for each shape
// of call, and that odd input changes nothing.
#include <doctest/doctest.h>

#include <algorithm>

#include "call_events.hpp"

using namespace ringside;
using namespace call_test;
using CS = pbx::ChannelState;
using Strings = std::vector<std::string>;

namespace {

/// Feeds events and collects every effect, described.
struct Run {
    CallTracker t;
    Strings all;
    std::vector<Effect> effects;
    Strings feed(const pbx::Event& e) {
        auto out = t.on_event(e);
        auto d = describe_all(out);
        all.insert(all.end(), d.begin(), d.end());
        effects.insert(effects.end(), out.begin(), out.end());
        return d;
    }
};

const std::string L = "1700.1";  // linkedid of the trunk call
const std::string trunk = "SIP/trunk-00000001";

/// An external caller on a trunk, dialling 500, with two phones dialled.
void inbound_ringall(Run& r) {
    r.feed(ev(0, pbx::ChannelCreated{chan(L, L, trunk, "09121234567", CS::ring, "500")}));
    r.feed(ev(1, pbx::ChannelCreated{chan("1700.2", L, "SIP/1001-00000002", "", CS::down)}));
    r.feed(ev(1, pbx::ChannelCreated{chan("1700.3", L, "PJSIP/1002-00000003", "", CS::down)}));
    r.feed(ev(1, pbx::DialBegin{chan(L, L, trunk, "09121234567", CS::ring), chan("1700.2", L, "SIP/1001-00000002"), "SIP/1001"}));
    r.feed(ev(1, pbx::DialBegin{chan(L, L, trunk, "09121234567", CS::ring), chan("1700.3", L, "PJSIP/1002-00000003"), "PJSIP/1002"}));
    r.feed(ev(2, pbx::ChannelUpdated{chan("1700.2", L, "SIP/1001-00000002", "", CS::ringing)}));
}

}  // namespace

TEST_CASE("a trunk call that rings two phones reports each ring once, and the answer retracts the other") {
    Run r;
    inbound_ringall(r);
    CHECK(r.all == Strings{"started main-1700.1", "ringing main-1700.1 1001 from=09121234567",
                           "ringing main-1700.1 1002 from=09121234567"});
    CHECK(r.feed(ev(5, pbx::ChannelUpdated{chan("1700.3", L, "PJSIP/1002-00000003", "", CS::up)})) ==
          Strings{"answered main-1700.1 1002", "stopped main-1700.1 1001 answered_elsewhere"});
    // Asterisk's own wrap-up of the dial says nothing new.
    CHECK(r.feed(ev(5, pbx::DialEnd{L, "1700.3", pbx::DialStatus::answer})).empty());
    CHECK(r.feed(ev(5, pbx::DialEnd{L, "1700.2", pbx::DialStatus::cancel})).empty());
    CHECK(r.feed(ev(5, pbx::Hangup{"1700.2", 16, "Normal"})).empty());
    CHECK(r.t.active_calls() == 1);
    CHECK(r.feed(ev(60, pbx::Hangup{"1700.3", 16, "Normal"})).empty());
    auto last = r.feed(ev(60, pbx::Hangup{L, 16, "Normal"}));
    CHECK(last == Strings{"ended main-1700.1 answered"});
    auto& ended = std::get<effect::Ended>(r.effects.back());
    CHECK(ended.at == at_s(60));
    CHECK(ended.hangup_cause == 16);
    CHECK(ended.call.dialed == "500");
    CHECK(ended.call.started_at == at_s(0));
    CHECK(r.t.active_calls() == 0);
    CHECK(r.t.active_snapshot().empty());
}

TEST_CASE("the caller is the root channel's caller id when the first ring is reported, then stays") {
    Run r;
    r.feed(ev(0, pbx::ChannelCreated{chan(L, L, trunk, "111", CS::ring, "500")}));
    r.feed(ev(0, pbx::ChannelUpdated{chan(L, L, trunk, "09121234567", CS::ring, "500")}));
    // Local channels carry the callee's number as their caller id: never the caller.
    r.feed(ev(0, pbx::ChannelCreated{chan("1700.5", L, "Local/1001@from-queue-00000001;1", "1001")}));
    r.feed(ev(0, pbx::ChannelCreated{chan("1700.6", L, "Local/1001@from-queue-00000001;2", "1001", CS::ring)}));
    r.feed(ev(0, pbx::LocalPair{"1700.5", "1700.6"}));
    r.feed(ev(1, pbx::ChannelCreated{chan("1700.2", L, "SIP/1001-00000002", "1001")}));
    r.feed(ev(1, pbx::DialBegin{chan("1700.6", L, "Local/1001@from-queue-00000001;2", "1001", CS::ring),
                                chan("1700.2", L, "SIP/1001-00000002"), "SIP/1001"}));
    r.feed(ev(2, pbx::ChannelUpdated{chan(L, L, trunk, "222", CS::ring, "500")}));
    REQUIRE(r.effects.size() == 2);
    auto& ringing = std::get<effect::Ringing>(r.effects[1]);
    CHECK(ringing.call.caller_num == "09121234567");
    CHECK(ringing.call.caller_device == pbx::device_extension(trunk));
    r.feed(ev(3, pbx::Hangup{L, 16, ""}));
    r.feed(ev(3, pbx::Hangup{"1700.5", 16, ""}));
    r.feed(ev(3, pbx::Hangup{"1700.6", 16, ""}));
    r.feed(ev(3, pbx::Hangup{"1700.2", 16, ""}));
    REQUIRE(std::holds_alternative<effect::Ended>(r.effects.back()));
    CHECK(std::get<effect::Ended>(r.effects.back()).call.caller_num == "09121234567");
}

TEST_CASE("a caller who hangs up while phones ring ends a missed call and stops each ring as caller_hung_up") {
    Run r;
    inbound_ringall(r);
    r.feed(ev(9, pbx::DialEnd{L, "1700.2", pbx::DialStatus::cancel}));
    r.feed(ev(9, pbx::Hangup{"1700.2", 16, ""}));
    r.feed(ev(9, pbx::Hangup{L, 16, ""}));
    r.feed(ev(9, pbx::Hangup{"1700.3", 16, ""}));
    CHECK(Strings(r.all.begin() + 3, r.all.end()) ==
          Strings{"stopped main-1700.1 1001 caller_hung_up", "stopped main-1700.1 1002 caller_hung_up",
                  "ended main-1700.1 missed"});
}

TEST_CASE("dial results decide busy and failed when nothing answered") {
    SUBCASE("busy") {
        Run r;
        inbound_ringall(r);
        r.feed(ev(3, pbx::DialEnd{L, "1700.2", pbx::DialStatus::busy}));
        r.feed(ev(3, pbx::DialEnd{L, "1700.3", pbx::DialStatus::noanswer}));
        for (auto u : {"1700.2", "1700.3", "1700.1"}) r.feed(ev(4, pbx::Hangup{u, 17, ""}));
        CHECK(Strings(r.all.begin() + 3, r.all.end()) ==
              Strings{"stopped main-1700.1 1001 busy", "stopped main-1700.1 1002 no_answer", "ended main-1700.1 busy"});
    }
    SUBCASE("busy from the hangup cause alone") {
        Run r;
        inbound_ringall(r);
        for (auto u : {"1700.2", "1700.3", "1700.1"}) r.feed(ev(4, pbx::Hangup{u, 17, ""}));
        CHECK(r.all.back() == "ended main-1700.1 busy");
    }
    SUBCASE("failed: the only dial could not reach the phone") {
        Run r;
        r.feed(ev(0, pbx::ChannelCreated{chan(L, L, trunk, "0912", CS::ring)}));
        r.feed(ev(0, pbx::ChannelCreated{chan("1700.2", L, "SIP/1001-00000002")}));
        r.feed(ev(0, pbx::DialEnd{L, "1700.2", pbx::DialStatus::chanunavail}));
        r.feed(ev(0, pbx::Hangup{"1700.2", 20, ""}));
        r.feed(ev(1, pbx::Hangup{L, 20, ""}));
        CHECK(r.all == Strings{"started main-1700.1", "ended main-1700.1 failed"});
    }
}

TEST_CASE("a queue call reports Queued with the queue and ends abandoned when the caller leaves the queue") {
    SUBCASE("caller hangs up while queued") {
        Run r;
        r.feed(ev(0, pbx::ChannelCreated{chan(L, L, trunk, "0912", CS::up, "500")}));
        CHECK(r.feed(ev(1, pbx::QueueJoin{L, "sales", 1})) == Strings{"queued main-1700.1 sales"});
        r.feed(ev(1, pbx::ChannelCreated{chan("1700.2", L, "SIP/1001-00000002")}));
        r.feed(ev(1, pbx::AgentCalled{L, "1700.2", "SIP/1001", "sales"}));
        r.feed(ev(20, pbx::Hangup{L, 16, ""}));
        r.feed(ev(20, pbx::Hangup{"1700.2", 16, ""}));
        CHECK(r.all == Strings{"started main-1700.1", "queued main-1700.1 sales", "ringing main-1700.1 1001 from=0912",
                               "stopped main-1700.1 1001 caller_hung_up", "ended main-1700.1 abandoned"});
        CHECK(std::get<effect::Ended>(r.effects.back()).call.queue == std::optional<std::string>("sales"));
    }
    SUBCASE("QueueAbandon marks it abandoned") {
        Run r;
        r.feed(ev(0, pbx::ChannelCreated{chan(L, L, trunk, "0912", CS::up, "500")}));
        r.feed(ev(5, pbx::QueueAbandon{L, "sales", 5}));
        r.feed(ev(5, pbx::QueueLeave{L, "sales"}));
        r.feed(ev(5, pbx::Hangup{L, 16, ""}));
        CHECK(r.all.back() == "ended main-1700.1 abandoned");
    }
    SUBCASE("a queue call answered by an agent is answered, not abandoned") {
        Run r;
        r.feed(ev(0, pbx::ChannelCreated{chan(L, L, trunk, "0912", CS::up, "500")}));
        r.feed(ev(1, pbx::QueueJoin{L, "sales", 1}));
        r.feed(ev(1, pbx::ChannelCreated{chan("1700.2", L, "SIP/1001-00000002")}));
        r.feed(ev(1, pbx::AgentCalled{L, "1700.2", "SIP/1001", "sales"}));
        r.feed(ev(4, pbx::AgentConnect{L, "1700.2", "SIP/1001", "sales", 3}));
        r.feed(ev(4, pbx::QueueLeave{L, "sales"}));
        r.feed(ev(9, pbx::Hangup{L, 16, ""}));
        r.feed(ev(9, pbx::Hangup{"1700.2", 16, ""}));
        CHECK(Strings(r.all.begin() + 3, r.all.end()) == Strings{"answered main-1700.1 1001", "ended main-1700.1 answered"});
    }
}

TEST_CASE("without Linkedid (Asterisk < 12) dials and Local halves tie the legs into the first channel's call") {
    Run r;
    // The dialled phone appears before the Dial that ties it: it must not start a call of its own.
    r.feed(ev(0, pbx::ChannelCreated{chan("100.1", "", trunk, "0912", CS::down, "500")}));
    r.feed(ev(0, pbx::ChannelUpdated{chan("100.1", "", trunk, "0912", CS::ring, "500")}));
    r.feed(ev(0, pbx::ChannelCreated{chan("100.2", "", "Local/1001@agents-0001;1", "")}));
    r.feed(ev(0, pbx::ChannelCreated{chan("100.3", "", "Local/1001@agents-0001;2", "", CS::ring)}));
    r.feed(ev(0, pbx::LocalPair{"100.2", "100.3"}));
    r.feed(ev(0, pbx::DialBegin{chan("100.1", "", trunk, "0912", CS::ring), chan("100.2", "", "Local/1001@agents-0001;1"), "Local/1001@agents"}));
    r.feed(ev(1, pbx::ChannelCreated{chan("100.4", "", "SIP/1001-00000004", "", CS::down)}));
    r.feed(ev(1, pbx::DialBegin{chan("100.3", "", "Local/1001@agents-0001;2", "0912", CS::ring), chan("100.4", "", "SIP/1001-00000004"), "SIP/1001"}));
    r.feed(ev(3, pbx::ChannelUpdated{chan("100.4", "", "SIP/1001-00000004", "", CS::up)}));
    r.feed(ev(3, pbx::BridgeLink{"100.3", "100.4", true}));
    for (auto u : {"100.4", "100.3", "100.2", "100.1"}) r.feed(ev(9, pbx::Hangup{u, 16, ""}));
    CHECK(r.all == Strings{"started main-100.1", "ringing main-100.1 1001 from=0912", "answered main-100.1 1001",
                           "ended main-100.1 answered"});
}

TEST_CASE("odd input is ignored: unknown ids, a second Newchannel, events before the channel exists") {
    Run r;
    CHECK(r.feed(ev(0, pbx::Hangup{"nope", 16, ""})).empty());
    CHECK(r.feed(ev(0, pbx::DialEnd{"a", "b", pbx::DialStatus::answer})).empty());
    CHECK(r.feed(ev(0, pbx::DialBegin{chan("", "", ""), chan("x", "", "SIP/1001-1"), ""})).empty());
    CHECK(r.feed(ev(0, pbx::ChannelUpdated{chan("y", "y", "SIP/1001-2", "", CS::up)})).empty());
    CHECK(r.feed(ev(0, pbx::QueueJoin{"z", "q", 1})).empty());
    CHECK(r.feed(ev(0, pbx::AgentConnect{"z", "w", "", "q", 0})).empty());
    CHECK(r.feed(ev(0, pbx::LocalPair{"z", "w"})).empty());
    CHECK(r.feed(ev(0, pbx::ChannelRenamed{"z", "SIP/x-1"})).empty());
    CHECK(r.feed(ev(0, pbx::ResyncEnd{})).empty());
    CHECK(r.feed(ev(0, pbx::LinkDown{})).empty());
    CHECK(r.feed(ev(0, pbx::ChannelCreated{chan("", "", "SIP/1001-3")})).empty());
    r.feed(ev(0, pbx::ChannelCreated{chan(L, L, trunk, "0912", CS::ring)}));
    CHECK(r.feed(ev(0, pbx::ChannelCreated{chan(L, L, trunk, "0912", CS::ring)})).empty());
    CHECK(r.t.active_calls() == 1);
    CHECK(r.feed(ev(1, pbx::Hangup{L, 16, ""})) == Strings{"ended main-1700.1 missed"});
    CHECK(r.feed(ev(1, pbx::Hangup{L, 16, ""})).empty());
    CHECK(r.t.active_calls() == 0);
}

TEST_CASE("a call whose first channel is a Local channel starts with its first real channel") {
    Run r;
    CHECK(r.feed(ev(0, pbx::ChannelCreated{chan("9.1", "9.1", "Local/500@ivr-0001;1", "", CS::down)})).empty());
    CHECK(r.feed(ev(0, pbx::ChannelCreated{chan("9.2", "9.1", "Local/500@ivr-0001;2", "", CS::ring)})).empty());
    CHECK(r.feed(ev(0, pbx::ChannelCreated{chan("9.3", "9.1", trunk, "0912", CS::ring)})) == Strings{"started main-9.1"});
    for (auto u : {"9.1", "9.2", "9.3"}) r.feed(ev(1, pbx::Hangup{u, 16, ""}));
    CHECK(r.all.back() == "ended main-9.1 missed");
}

TEST_CASE("a resync keeps a listed call without re-reporting it and ends a call the PBX no longer has") {
    Run r;
    inbound_ringall(r);  // call 1700.1, 1001 and 1002 ringing
    const std::string M = "1800.1";
    r.feed(ev(3, pbx::ChannelCreated{chan(M, M, "SIP/trunk-00000009", "0935", CS::ring)}));
    r.all.clear();
    r.feed(ev(10, pbx::LinkDown{}));
    CHECK(r.all.empty());
    r.feed(ev(20, pbx::ResyncBegin{}));
    // Call 1700.1 is still there; 1002 answered while the link was down; 1001 gone.
    r.feed(ev(20, pbx::ChannelCreated{chan(L, L, trunk, "09121234567", CS::up, "500"), true}));
    r.feed(ev(20, pbx::ChannelCreated{chan("1700.3", L, "PJSIP/1002-00000003", "", CS::up), true}));
    // A call that started while the link was down, its phone ringing.
    r.feed(ev(20, pbx::ChannelCreated{chan("1900.2", "1900.1", "SIP/1003-0000000a", "", CS::ringing), true}));
    r.feed(ev(20, pbx::ChannelCreated{chan("1900.1", "1900.1", "SIP/trunk-0000000b", "0917", CS::ring, "500"), true}));
    // And one already talking to 1004.
    r.feed(ev(20, pbx::ChannelCreated{chan("2000.1", "2000.1", "SIP/trunk-0000000c", "0918", CS::up, "500"), true}));
    r.feed(ev(20, pbx::ChannelCreated{chan("2000.2", "2000.1", "SIP/1004-0000000d", "", CS::up), true}));
    r.feed(ev(21, pbx::ResyncEnd{}));
    REQUIRE(r.all.size() == 7);
    CHECK(Strings(r.all.begin(), r.all.begin() + 2) ==
          Strings{"answered main-1700.1 1002", "stopped main-1700.1 1001 answered_elsewhere"});
    // Rebuilt calls come out in no particular order between them, each one
    // started before its ring or answer; the vanished call ends last, timed at ResyncEnd.
    Strings rebuilt(r.all.begin() + 2, r.all.begin() + 6);
    auto pos = [&](const std::string& s) { return std::find(rebuilt.begin(), rebuilt.end(), s) - rebuilt.begin(); };
    CHECK(pos("started main-1900.1") < pos("ringing main-1900.1 1003 from=0917"));
    CHECK(pos("started main-2000.1") < pos("answered main-2000.1 1004"));
    CHECK(pos("ringing main-1900.1 1003 from=0917") < 4);
    CHECK(pos("answered main-2000.1 1004") < 4);
    CHECK(r.all.back() == "ended main-1800.1 missed");
    CHECK(std::get<effect::Ended>(r.effects.back()).at == at_s(21));
    CHECK(r.t.active_calls() == 3);
    // A second resync listing the same channels reports nothing new.
    r.all.clear();
    r.feed(ev(30, pbx::ResyncBegin{}));
    for (const auto& c : {chan(L, L, trunk, "09121234567", CS::up, "500"), chan("1700.3", L, "PJSIP/1002-00000003", "", CS::up),
                          chan("1900.2", "1900.1", "SIP/1003-0000000a", "", CS::ringing),
                          chan("1900.1", "1900.1", "SIP/trunk-0000000b", "0917", CS::ring, "500"),
                          chan("2000.1", "2000.1", "SIP/trunk-0000000c", "0918", CS::up, "500"),
                          chan("2000.2", "2000.1", "SIP/1004-0000000d", "", CS::up)})
        r.feed(ev(30, pbx::ChannelCreated{c, true}));
    r.feed(ev(31, pbx::ResyncEnd{}));
    CHECK(r.all.empty());
    CHECK(r.t.active_calls() == 3);
}

TEST_CASE("memory stays bounded: many calls leave nothing behind once ended") {
    CallTracker t;
    for (int i = 0; i < 2000; ++i) {
        const std::string id = "5." + std::to_string(i);
        const std::string ph = "5.p" + std::to_string(i);
        t.on_event(ev(i, pbx::ChannelCreated{chan(id, id, "SIP/trunk-" + std::to_string(i), "0912", CS::ring)}));
        t.on_event(ev(i, pbx::ChannelCreated{chan(ph, id, "SIP/1001-" + std::to_string(i))}));
        t.on_event(ev(i, pbx::DialBegin{chan(id, id, "SIP/trunk-" + std::to_string(i), "0912", CS::ring), chan(ph, id, "SIP/1001-" + std::to_string(i)), ""}));
        t.on_event(ev(i, pbx::Hangup{ph, 16, ""}));
        auto out = t.on_event(ev(i, pbx::Hangup{id, 16, ""}));
        REQUIRE(!out.empty());
        REQUIRE(std::holds_alternative<effect::Ended>(out.back()));
    }
    CHECK(t.active_calls() == 0);
    CHECK(t.active_snapshot().empty());
}

TEST_CASE("a live call whose events arrive while a resync is in progress rings and ends as a live call") {
    // Asterisk keeps sending events while it answers CoreShowChannels: a call
    // that starts and ends inside that window is a live call, not a listing.
    Run r;
    r.feed(ev(0, pbx::ResyncBegin{}));
    r.feed(ev(1, pbx::ChannelCreated{chan(L, L, trunk, "09121234567", CS::ring, "500")}));
    r.feed(ev(1, pbx::ChannelCreated{chan("1700.2", L, "SIP/1001-00000002", "", CS::down)}));
    r.feed(ev(1, pbx::DialBegin{chan(L, L, trunk, "09121234567", CS::ring), chan("1700.2", L, "SIP/1001-00000002"), "SIP/1001"}));
    r.feed(ev(2, pbx::DialEnd{L, "1700.2", pbx::DialStatus::cancel}));
    r.feed(ev(2, pbx::Hangup{"1700.2", 16, "Normal Clearing"}));
    r.feed(ev(2, pbx::Hangup{L, 16, "Normal Clearing"}));
    r.feed(ev(3, pbx::ResyncEnd{}));
    CHECK(std::count(r.all.begin(), r.all.end(), "started main-1700.1") == 1);
    CHECK(std::find(r.all.begin(), r.all.end(), "ringing main-1700.1 1001 from=09121234567") != r.all.end());
    CHECK(r.all.back() == "ended main-1700.1 missed");
    CHECK(r.t.active_calls() == 0);
}

TEST_CASE("any event for a channel that hung up is late: it never brings the channel or its call back") {
    // FreeSWITCH's CHANNEL_CALLSTATE DOWN after CHANNEL_HANGUP_COMPLETE, an
    // Asterisk resync listing taken just before a Hangup, a dial reported
    // after its callee hung up: each names a channel that is over.
    struct Row {
        const char* name;
        pbx::Payload late;
    };
    const std::vector<Row> rows = {
        {"a live Newchannel of the caller's channel", pbx::ChannelCreated{chan(L, L, trunk, "09121234567", CS::down)}},
        {"the caller's channel listed by a resync", pbx::ChannelCreated{chan(L, L, trunk, "09121234567", CS::up), true}},
        {"a new channel of the ended call", pbx::ChannelCreated{chan("1700.9", L, "SIP/1003-00000009", "", CS::ringing)}},
        {"a dial to the phone that hung up", pbx::DialBegin{chan(L, L, trunk, "09121234567", CS::ring),
                                                            chan("1700.2", L, "SIP/1001-00000002", "", CS::ringing), "1001"}},
        {"a state change of the caller's channel", pbx::ChannelUpdated{chan(L, L, trunk, "09121234567", CS::down)}},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        Run r;
        inbound_ringall(r);
        r.feed(ev(5, pbx::ChannelUpdated{chan("1700.2", L, "SIP/1001-00000002", "", CS::up)}));
        for (auto u : {"1700.3", "1700.2", "1700.1"}) r.feed(ev(60, pbx::Hangup{u, 16, ""}));
        REQUIRE(r.t.active_calls() == 0);
        const bool listed = std::holds_alternative<pbx::ChannelCreated>(row.late) &&
                            std::get<pbx::ChannelCreated>(row.late).listed;
        if (listed) r.feed(ev(61, pbx::ResyncBegin{}));
        CHECK(r.feed(ev(61, row.late)).empty());
        if (listed) CHECK(r.feed(ev(61, pbx::ResyncEnd{})).empty());
        CHECK(r.t.active_calls() == 0);
        CHECK(r.t.active_snapshot().empty());
        CHECK(std::count(r.all.begin(), r.all.end(), "started main-1700.1") == 1);
    }
}

TEST_CASE("the hung-up channels remembered are bounded: a channel id hung up long ago may come again") {
    CallTracker t;
    auto call = [&](int i) {
        const std::string id = "6." + std::to_string(i % 5000);
        auto a = t.on_event(ev(i, pbx::ChannelCreated{chan(id, id, "SIP/trunk-1", "09121234567", CS::ring)}));
        t.on_event(ev(i, pbx::Hangup{id, 16, ""}));
        return a;
    };
    // 5,000 ids, each hung up once; the first again after all of them is
    // older than the memory (4,096), so it is a new channel once more.
    for (int i = 0; i < 5000; ++i) REQUIRE(call(i).size() == 1);
    CHECK(call(5000).size() == 1);
    CHECK(call(4999).empty());  // hung up just now: late
}
