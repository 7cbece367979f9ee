// Call scripts: the AMI events the simulator sends for one call, checked
// without sockets against what Asterisk 13+ sends (see call_script.hpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ringside/ami/reader.hpp"
#include "ringside/sim/call_script.hpp"
#include "ringside/sim/channel_table.hpp"
#include "ringside/sim/traffic.hpp"

using namespace ringside;
using namespace ringside::sim;
using namespace std::chrono_literals;

namespace {

CallPlan plan_to(std::vector<std::string> exts, Outcome outcome) {
    CallPlan p;
    p.epoch_seconds = 1732370400;
    p.first_id = 12;
    p.first_channel_seq = 0x3c;
    p.caller_number = "09121234567";
    p.caller_name = "Sara";
    p.extensions = std::move(exts);
    p.outcome = outcome;
    p.ring_time = 4000ms;
    p.talk_time = 20000ms;
    p.start = Timestamp(std::chrono::milliseconds(1732370400123LL));
    return p;
}

std::size_t count(const CallScript& s, std::string_view event) {
    return static_cast<std::size_t>(std::count_if(s.events.begin(), s.events.end(),
                                                  [&](const TimedEvent& e) { return e.message.event() == event; }));
}

std::vector<const ami::Message*> all(const CallScript& s, std::string_view event) {
    std::vector<const ami::Message*> out;
    for (const auto& e : s.events)
        if (e.message.event() == event) out.push_back(&e.message);
    return out;
}

std::size_t index_of(const CallScript& s, std::string_view event, std::size_t from = 0) {
    for (std::size_t i = from; i < s.events.size(); ++i)
        if (s.events[i].message.event() == event) return i;
    return s.events.size();
}

// Invariants every script keeps, whatever the outcome.
void check_well_formed(const CallScript& s) {
    REQUIRE_FALSE(s.events.empty());
    std::set<std::string> open;
    std::chrono::milliseconds last{0};
    for (const auto& e : s.events) {
        const auto& m = e.message;
        CHECK(m.fields.at(0).key == "Event");
        CHECK(m.fields.at(1).key == "Privilege");
        CHECK(m.fields.at(2).key == "Timestamp");
        CHECK(e.offset >= last);
        last = e.offset;
        if (m.has("Uniqueid")) CHECK(m.get("Linkedid") == s.linkedid);
        if (m.has("DestUniqueid")) CHECK(m.get("DestLinkedid") == s.linkedid);
        if (m.event() == "Newchannel") CHECK(open.insert(std::string(m.get("Uniqueid"))).second);
        if (m.event() == "Hangup") CHECK(open.erase(std::string(m.get("Uniqueid"))) == 1);
        if (m.has("Uniqueid") && m.event() != "Newchannel" && m.event() != "Hangup")
            CHECK(open.count(std::string(m.get("Uniqueid"))) == 1);
        if (m.has("ChannelState"))
            CHECK(m.get("ChannelStateDesc") == channel_state_desc(std::stoi(std::string(m.get("ChannelState")))));
    }
    CHECK(open.empty());  // every channel that was created is hung up
    CHECK(s.events.back().message.event() == "Hangup");
}

}  // namespace

TEST_CASE("an answered direct call has Asterisk's event sequence, one Linkedid and a Normal Clearing hangup") {
    const auto s = script_call(plan_to({"1001"}, Outcome::answered));
    check_well_formed(s);
    CHECK(s.linkedid == "1732370400.12");
    CHECK(s.events.size() >= 28);

    const auto& first = s.events.front().message;
    CHECK(first.event() == "Newchannel");
    CHECK(first.get("Channel") == "SIP/trunk-provider-0000003c");
    CHECK(first.get("ChannelState") == "0");
    CHECK(first.get("CallerIDNum") == "09121234567");
    CHECK(first.get("Uniqueid") == "1732370400.12");
    CHECK(first.get("Timestamp") == "1732370400.123000");

    // Order of the milestones.
    std::size_t i = index_of(s, "Newstate");
    i = index_of(s, "DialBegin", i);
    const auto ringing = index_of(s, "Newstate", i);
    CHECK(s.events[ringing].message.get("ChannelStateDesc") == "Ringing");
    const auto dial_end = index_of(s, "DialEnd", ringing);
    const auto create = index_of(s, "BridgeCreate", dial_end);
    const auto enter = index_of(s, "BridgeEnter", create);
    const auto leave = index_of(s, "BridgeLeave", enter);
    const auto destroy = index_of(s, "BridgeDestroy", leave);
    CHECK(destroy < s.events.size());
    CHECK(s.events[dial_end].message.get("DialStatus") == "ANSWER");
    CHECK(s.events[dial_end].offset - s.events[ringing].offset <= 4000ms);
    CHECK(count(s, "BridgeEnter") == 2);
    CHECK(count(s, "BridgeLeave") == 2);

    const auto begin = all(s, "DialBegin").at(0);
    CHECK(begin->get("DestChannel") == "SIP/1001-0000003d");
    CHECK(begin->get("DestCallerIDNum") == "1001");
    CHECK(begin->get("DestConnectedLineNum") == "09121234567");
    CHECK(begin->get("DestConnectedLineName") == "Sara");
    CHECK(begin->get("DestUniqueid") == "1732370400.13");

    for (const auto* h : all(s, "Hangup")) {
        CHECK(h->get("Cause") == "16");
        CHECK(h->get("Cause-txt") == "Normal Clearing");
    }
    // Talk time: from the bridge to the caller's hangup request.
    CHECK(s.events[index_of(s, "HangupRequest")].offset - s.events[enter].offset == 20000ms);
}

TEST_CASE("a caller who hangs up while it rings gives DialEnd CANCEL and no bridge") {
    const auto s = script_call(plan_to({"1001"}, Outcome::caller_cancels));
    check_well_formed(s);
    CHECK(all(s, "DialEnd").at(0)->get("DialStatus") == "CANCEL");
    CHECK(count(s, "BridgeCreate") == 0);
    CHECK(count(s, "HangupRequest") == 1);
    CHECK(s.events.back().offset >= 4000ms);
}

TEST_CASE("a busy extension gives DialEnd BUSY and cause 17 User busy without ringing") {
    const auto s = script_call(plan_to({"1001"}, Outcome::busy));
    check_well_formed(s);
    CHECK(all(s, "DialEnd").at(0)->get("DialStatus") == "BUSY");
    for (const auto* n : all(s, "Newstate")) CHECK(n->get("ChannelStateDesc") != "Ringing");
    for (const auto* h : all(s, "Hangup")) {
        CHECK(h->get("Cause") == "17");
        CHECK(h->get("Cause-txt") == "User busy");
    }
}

TEST_CASE("an unanswered call gives DialEnd NOANSWER and ends the caller with cause 19") {
    const auto s = script_call(plan_to({"1001"}, Outcome::no_answer));
    check_well_formed(s);
    CHECK(all(s, "DialEnd").at(0)->get("DialStatus") == "NOANSWER");
    CHECK(s.events.back().message.get("Cause") == "19");
    CHECK(s.events.back().message.get("Cause-txt") == "User alerting, no answer");
}

TEST_CASE("a ring group rings every member through Local channels and cancels the others on answer") {
    auto p = plan_to({"1001", "1002", "1003"}, Outcome::answered);
    p.answered_by = 1;
    const auto s = script_call(p);
    check_well_formed(s);
    CHECK(count(s, "LocalBridge") == 3);
    CHECK(count(s, "Newchannel") == 1 + 3 * 3);
    std::map<std::string, std::string> status_by_dest;
    for (const auto* d : all(s, "DialEnd")) status_by_dest[std::string(d->get("DestChannel"))] = d->get("DialStatus");
    CHECK(status_by_dest["SIP/1002-00000040"] == "ANSWER");
    CHECK(status_by_dest["SIP/1001-0000003e"] == "CANCEL");
    CHECK(status_by_dest["SIP/1003-00000042"] == "CANCEL");
    CHECK(status_by_dest["Local/1002@from-internal-0000003f;1"] == "ANSWER");
    for (const auto* h : all(s, "Hangup"))
        if (h->get("Channel") == "SIP/1001-0000003e") CHECK(h->get("Cause") == "26");
    // Every leg rings the phone with the original caller as connected line.
    for (const auto* b : all(s, "DialBegin")) CHECK(b->get("DestLinkedid") == s.linkedid);
    CHECK(count(s, "BridgeCreate") == 2);
}

TEST_CASE("a queue call reports join, agent called, connect, leave and complete") {
    auto p = plan_to({"1001", "1002"}, Outcome::answered);
    p.queue = "support";
    const auto s = script_call(p);
    check_well_formed(s);
    CHECK(s.events.size() >= 30);
    CHECK(count(s, "QueueCallerJoin") == 1);
    CHECK(count(s, "AgentCalled") == 2);
    CHECK(count(s, "AgentConnect") == 1);
    CHECK(count(s, "QueueCallerLeave") == 1);
    CHECK(count(s, "AgentComplete") == 1);
    CHECK(index_of(s, "QueueCallerJoin") < index_of(s, "AgentCalled"));
    CHECK(index_of(s, "AgentCalled") < index_of(s, "AgentConnect"));
    CHECK(index_of(s, "AgentConnect") < index_of(s, "AgentComplete"));
    const auto* called = all(s, "AgentCalled").at(0);
    CHECK(called->get("Privilege") == "agent,all");
    CHECK(called->get("Queue") == "support");
    CHECK(called->get("Channel") == "SIP/trunk-provider-0000003c");
    CHECK(called->get("DestChannel") == "Local/1001@from-queue-0000003d;1");
    CHECK(called->get("Interface") == "Local/1001@from-queue/n");
    CHECK(all(s, "AgentConnect").at(0)->get("MemberName") == "1001");
    CHECK(all(s, "AgentComplete").at(0)->get("Reason") == "caller");
}

TEST_CASE("a caller who gives up in the queue is a QueueCallerAbandon") {
    auto p = plan_to({"1001", "1002"}, Outcome::caller_cancels);
    p.queue = "support";
    const auto s = script_call(p);
    check_well_formed(s);
    CHECK(count(s, "QueueCallerAbandon") == 1);
    CHECK(count(s, "QueueCallerLeave") == 0);
    CHECK(all(s, "QueueCallerAbandon").at(0)->get("HoldTime") == "4");
}

TEST_CASE("members who do not answer a queue call are AgentRingNoAnswer") {
    auto p = plan_to({"1001", "1002"}, Outcome::no_answer);
    p.queue = "support";
    const auto s = script_call(p);
    check_well_formed(s);
    CHECK(count(s, "AgentRingNoAnswer") == 2);
    CHECK(count(s, "QueueCallerLeave") == 1);
}

TEST_CASE("a script is the same for the same plan and reports the ids it used") {
    auto p = plan_to({"1001", "1002"}, Outcome::answered);
    p.queue = "support";
    const auto a = script_call(p);
    const auto b = script_call(p);
    REQUIRE(a.events.size() == b.events.size());
    for (std::size_t i = 0; i < a.events.size(); ++i) {
        CHECK(a.events[i].offset == b.events[i].offset);
        CHECK(a.events[i].message.serialize() == b.events[i].message.serialize());
    }
    CHECK(a.ids_used == 1 + 3 * 2);
    CHECK(a.channel_seqs_used == 1 + 2 * 2);
    CHECK(script_call(plan_to({}, Outcome::answered)).events.empty());
}

TEST_CASE("the bytes of a script parse back into the same messages with ami::Reader, split anywhere") {
    for (auto outcome : {Outcome::answered, Outcome::caller_cancels, Outcome::busy, Outcome::no_answer}) {
        CAPTURE(to_string(outcome));
        auto p = plan_to({"1001", "1002"}, outcome);
        p.queue = "support";
        const auto s = script_call(p);
        std::string wire;
        for (const auto& e : s.events) wire += e.message.serialize();
        CHECK(wire.find("\r\n\r\n") != std::string::npos);
        CHECK(wire.find('\n') == wire.find("\r\n") + 1);  // CRLF line ends
        for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, wire.size()}) {
            ami::Reader r;
            std::vector<ami::Message> got;
            for (std::size_t at = 0; at < wire.size(); at += chunk) {
                r.put(std::string_view(wire).substr(at, chunk));
                while (auto item = r.next())
                    if (auto* m = std::get_if<ami::Message>(&*item)) got.push_back(*m);
            }
            REQUIRE(got.size() == s.events.size());
            for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i].serialize() == s.events[i].message.serialize());
        }
    }
}

TEST_CASE("the channel table lists a call's channels while it is up and none after the hangups") {
    auto p = plan_to({"1001"}, Outcome::answered);
    const auto s = script_call(p);
    ChannelTable t;
    const auto enter = index_of(s, "BridgeEnter");
    for (std::size_t i = 0; i <= enter + 1; ++i) t.apply(s.events[i].message, p.start + s.events[i].offset);
    CHECK(t.size() == 2);
    const auto list = t.core_show_channels("abc", p.start + 65000ms);
    REQUIRE(list.size() == 2);
    CHECK(list[0].get("Event") == "CoreShowChannel");
    CHECK(list[0].fields.at(1).key == "ActionID");
    CHECK(list[0].get("Channel") == "SIP/trunk-provider-0000003c");
    CHECK(list[0].get("ChannelStateDesc") == "Up");
    CHECK(list[0].get("Linkedid") == s.linkedid);
    CHECK(list[0].get("Duration") == "00:01:05");
    CHECK(list[0].get("BridgeId") == all(s, "BridgeCreate").at(0)->get("BridgeUniqueid"));
    CHECK(list[1].get("Channel") == "SIP/1001-0000003d");
    for (std::size_t i = enter + 2; i < s.events.size(); ++i) t.apply(s.events[i].message, p.start + s.events[i].offset);
    CHECK(t.size() == 0);
}

TEST_CASE("a phone is free for demo calls only when no channel of it is up and its wrap-up time has passed") {
    auto p = plan_to({"1001", "1002"}, Outcome::answered);
    p.answered_by = 0;
    const auto s = script_call(p);
    ChannelTable t;
    const auto at = [&](std::size_t i) { return p.start + s.events[i].offset; };
    CHECK(t.extension_free("1001", p.start, 10s));
    const auto enter = index_of(s, "BridgeEnter");
    for (std::size_t i = 0; i <= enter; ++i) t.apply(s.events[i].message, at(i));
    CHECK_FALSE(t.extension_free("1001", at(enter), 0s));  // talking
    CHECK(t.extension_free("1003", at(enter), 10s));       // never rang
    Timestamp freed{};  // when 1001's phone hung up
    for (std::size_t i = enter + 1; i < s.events.size(); ++i) {
        const auto& m = s.events[i].message;
        t.apply(m, at(i));
        if (m.event() == "Hangup" && m.get("Channel").starts_with("SIP/1001-")) freed = at(i);
    }
    REQUIRE(freed != Timestamp{});
    const auto end = at(s.events.size() - 1);
    CHECK(t.size() == 0);
    CHECK_FALSE(t.extension_free("1001", freed, 10s));         // wrap-up
    CHECK_FALSE(t.extension_free("1001", freed + 9999ms, 10s));
    CHECK(t.extension_free("1001", freed + 10s, 10s));
    CHECK(t.extension_free("1002", end + 10s, 10s));
}

TEST_CASE("traffic plans follow the seed and the outcome weights") {
    TrafficMix mix;
    mix.answered = 1;
    mix.caller_cancels = 1;
    mix.busy = 0;
    mix.no_answer = 0;
    TrafficGenerator a(mix, 42), b(mix, 42);
    const std::vector<std::string> exts{"1001", "1002", "1003"};
    std::map<Outcome, int> seen;
    for (int i = 0; i < 400; ++i) {
        auto pa = a.next(exts);
        auto pb = b.next(exts);
        REQUIRE(pa);
        REQUIRE(pb);
        CHECK(pa->caller_number == pb->caller_number);
        CHECK(pa->extensions == pb->extensions);
        CHECK(pa->ring_time == pb->ring_time);
        CHECK(pa->ring_time >= mix.ring_min);
        CHECK(pa->ring_time <= mix.ring_max);
        ++seen[pa->outcome];
    }
    CHECK(seen[Outcome::busy] == 0);
    CHECK(seen[Outcome::no_answer] == 0);
    CHECK(seen[Outcome::answered] > 120);
    CHECK(seen[Outcome::caller_cancels] > 120);
    CHECK_FALSE(a.next({}).has_value());
}

TEST_CASE("traffic sends its queue share to whole queues and transfers only answered direct calls elsewhere") {
    TrafficMix mix;
    mix.queues = {{"sales", {"1001", "1002", "1003"}}, {"support", {"1004", "1005"}}};
    mix.queue_percent = 30;
    mix.transfer_percent = 50;
    TrafficGenerator gen(mix, 7);
    const std::vector<std::string> exts{"1001", "1002", "1003", "1004", "1005", "1006"};
    int queued = 0, transferred = 0;
    for (int i = 0; i < 1000; ++i) {
        auto p = gen.next(exts);
        REQUIRE(p);
        if (p->queue) {
            ++queued;
            CHECK(p->extensions == (*p->queue == "sales" ? mix.queues[0].members : mix.queues[1].members));
            CHECK(p->answered_by < p->extensions.size());
            CHECK_FALSE(p->transfer_to);
        } else {
            CHECK(p->extensions.size() == 1);
        }
        if (p->transfer_to) {
            ++transferred;
            CHECK(p->outcome == Outcome::answered);
            CHECK(*p->transfer_to != p->extensions.front());
            CHECK(std::find(exts.begin(), exts.end(), *p->transfer_to) != exts.end());
            // the target's leg plays out in the script: it rings and answers
            auto s = script_call(*p);
            int target_dials = 0;
            for (const auto& te : s.events)
                if (te.message.event() == "DialBegin" &&
                    te.message.get("DestChannel").rfind("SIP/" + *p->transfer_to + "-", 0) == 0)
                    ++target_dials;
            CHECK(target_dials == 1);
        }
    }
    CHECK(queued > 240);
    CHECK(queued < 360);
    CHECK(transferred > 200);  // half of ~0.7 * 0.75 of the calls
    CHECK(transferred < 330);
}
