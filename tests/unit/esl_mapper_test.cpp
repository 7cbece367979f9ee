// ESL events into pbx::Events, and through the real call tracker: a b-leg to
// user/1001 rings extension 1001 and the call ends answered.
#include <doctest/doctest.h>

#include <variant>

#include "esl_fixtures.hpp"
#include "ringside/core/call_tracker.hpp"
#include "ringside/core/recent_ids.hpp"
#include "ringside/esl/mapper.hpp"
#include "ringside/esl/reader.hpp"

using namespace ringside;
using namespace ringside::esl;

namespace {

std::vector<Event> events_of(const std::string& wire) {
    Reader r;
    r.put(wire);
    std::vector<Event> v;
    while (auto item = r.next())
        if (auto* m = std::get_if<Message>(&*item); m && m->event) v.push_back(*m->event);
    return v;
}

std::vector<pbx::Event> map_all(EventMapper& m, const std::string& wire) {
    std::vector<pbx::Event> out;
    for (const auto& e : events_of(wire))
        for (auto& p : m.map(e, Timestamp{})) out.push_back(std::move(p));
    return out;
}

const Timestamp t0{};

}  // namespace

TEST_CASE("FreeSWITCH channel names name the phone by its SIP user") {
    CHECK(pbx::device_extension("sofia/internal/1001@10.0.0.1") == Extension{"1001"});
    CHECK(pbx::device_extension("sofia/internal/sip:1001@10.0.0.5:5060") == Extension{"1001"});
    CHECK(pbx::device_extension("sofia/internal/1001@pbx.example.com;fs_nat=yes") == Extension{"1001"});
    CHECK(pbx::device_extension("sofia/internal_et/8000@sipdomain.de") == Extension{"8000"});
    CHECK(pbx::device_extension("SOFIA/internal/1002") == Extension{"1002"});
    CHECK(!pbx::device_extension("sofia/gateway/carrier/+15551234"));
    CHECK(!pbx::device_extension("sofia/internal/"));
    CHECK(!pbx::device_extension("sofia/internal"));
    CHECK(!pbx::device_extension("loopback/1001-a"));
    // Asterisk names are unchanged.
    CHECK(pbx::device_extension("SIP/1001-0000001a") == Extension{"1001"});
}

TEST_CASE("Hangup-Cause names become Q.850 numbers") {
    CHECK(q850_cause("NORMAL_CLEARING") == 16);
    CHECK(q850_cause("USER_BUSY") == 17);
    CHECK(q850_cause("NO_ANSWER") == 19);
    CHECK(q850_cause("CALL_REJECTED") == 21);
    CHECK(q850_cause("ORIGINATOR_CANCEL") == 16);
    CHECK(q850_cause("LOSE_RACE") == 26);
    CHECK(q850_cause("SOMETHING_NEW") == 0);
}

TEST_CASE("a b-leg dialled by the a-leg is linked by Channel-Call-UUID and reported as a dial") {
    EventMapper m(PbxId{"fs"});
    auto call = esl_fixtures::scripted_call("a-1", "b-1", "+15551234567", "Jane Roe", "1001", true);
    auto ring = map_all(m, call.ring);
    REQUIRE(ring.size() == 6);
    const auto& a = std::get<pbx::ChannelCreated>(ring[0].payload).ch;
    CHECK(a.uniqueid == "a-1");
    CHECK(a.linkedid == "a-1");
    CHECK(a.caller_num == "+15551234567");
    CHECK(a.caller_name == "Jane Roe");
    CHECK(a.channel == "sofia/external/+15551234567@198.51.100.7");
    CHECK(std::get<pbx::ChannelUpdated>(ring[1].payload).ch.state == pbx::ChannelState::ring);
    const auto& b = std::get<pbx::ChannelCreated>(ring[2].payload).ch;
    CHECK(b.linkedid == "a-1");
    const auto& dial = std::get<pbx::DialBegin>(ring[3].payload);
    CHECK(dial.caller.uniqueid == "a-1");
    CHECK(dial.caller.caller_num == "+15551234567");
    CHECK(dial.dest.uniqueid == "b-1");
    CHECK(dial.dialstring == "1001");
    CHECK(std::get<pbx::ChannelUpdated>(ring[4].payload).ch.state == pbx::ChannelState::ringing);
    CHECK(ring[0].at == Timestamp(std::chrono::milliseconds(1700000000020LL)));

    auto answer = map_all(m, call.answer);
    REQUIRE(answer.size() == 4);
    CHECK(std::get<pbx::ChannelUpdated>(answer[0].payload).ch.state == pbx::ChannelState::up);
    const auto& link = std::get<pbx::BridgeLink>(answer[3].payload);
    CHECK(link.uniqueid1 == "a-1");
    CHECK(link.uniqueid2 == "b-1");
    CHECK(link.linked);

    auto hangup = map_all(m, call.hangup);
    REQUIRE(hangup.size() == 5);
    const auto& h = std::get<pbx::Hangup>(hangup[0].payload);
    CHECK(h.uniqueid == "b-1");
    CHECK(h.cause == 16);
    CHECK(h.cause_txt == "NORMAL_CLEARING");
    CHECK(!std::get<pbx::BridgeLink>(hangup[1].payload).linked);
    CHECK(m.tracked_channels() == 0);
}

TEST_CASE("through the call tracker the b-leg to user/1001 rings 1001 with the caller, then answers") {
    EventMapper m(PbxId{"fs"});
    CallTracker tracker;
    auto call = esl_fixtures::scripted_call("a-2", "b-2", "+15551234567", "Jane Roe", "1001", true);
    std::vector<Effect> effects;
    for (auto& e : map_all(m, call.ring + call.answer + call.hangup))
        for (auto& f : tracker.on_event(e)) effects.push_back(std::move(f));
    std::vector<std::string> kinds;
    for (const auto& f : effects) {
        if (auto* s = std::get_if<effect::CallStarted>(&f)) {
            kinds.push_back("started");
            CHECK(s->call.id == CallId("fs-a-2"));
        } else if (auto* r = std::get_if<effect::Ringing>(&f)) {
            kinds.push_back("ringing " + r->ext.value());
            CHECK(r->call.caller_num == "+15551234567");
            CHECK(r->call.caller_name == "Jane Roe");
        } else if (auto* a = std::get_if<effect::Answered>(&f)) {
            kinds.push_back("answered " + a->ext.value());
        } else if (auto* e = std::get_if<effect::Ended>(&f)) {
            kinds.push_back(std::string("ended ") + std::string(to_string(e->outcome)));
            CHECK(e->hangup_cause == 16);
        }
    }
    CHECK(kinds == std::vector<std::string>{"started", "ringing 1001", "answered 1001", "ended answered"});
    CHECK(tracker.active_calls() == 0);
}

TEST_CASE("a caller who hangs up while 1001 rings gives a missed call and a stopped ring") {
    EventMapper m(PbxId{"fs"});
    CallTracker tracker;
    auto call = esl_fixtures::scripted_call("a-3", "b-3", "+15551234567", "", "1001", false);
    std::vector<std::string> kinds;
    for (auto& e : map_all(m, call.ring + call.hangup))
        for (auto& f : tracker.on_event(e)) {
            if (std::holds_alternative<effect::Ringing>(f)) kinds.push_back("ringing");
            if (auto* s = std::get_if<effect::StoppedRinging>(&f))
                kinds.push_back(s->reason == StopReason::caller_hung_up ? "stopped: caller hung up" : "stopped: other");
            if (auto* e2 = std::get_if<effect::Ended>(&f)) kinds.push_back(std::string(to_string(e2->outcome)));
        }
    CHECK(kinds == std::vector<std::string>{"ringing", "stopped: caller hung up", "missed"});
}

TEST_CASE("webitel's CHANNEL_BRIDGE and CHANNEL_UNBRIDGE examples link and unlink their two legs") {
    EventMapper m(PbxId{"fs"});
    for (const auto& e : esl_fixtures::rst_events()) {
        if (e.name != "CHANNEL_BRIDGE" && e.name != "CHANNEL_UNBRIDGE" && e.name != "CHANNEL_CREATE") continue;
        auto out = map_all(m, esl_fixtures::wire_event(e.headers));
        REQUIRE(!out.empty());
        if (e.name == "CHANNEL_CREATE") {
            const auto& ch = std::get<pbx::ChannelCreated>(out[0].payload).ch;
            CHECK(ch.uniqueid == "61c4a5a3-ce44-4e65-b390-943dccdfe77f");
            CHECK(ch.channel == "sofia/internal/9999@demo.webitel.com:5070");
            CHECK(pbx::device_extension(ch.channel) == Extension{"9999"});
            continue;
        }
        std::string a, b;
        for (const auto& [k, v] : e.headers) {
            if (k == "Bridge-A-Unique-ID") a = v;
            if (k == "Bridge-B-Unique-ID") b = v;
        }
        REQUIRE(!a.empty());
        const auto& link = std::get<pbx::BridgeLink>(out[0].payload);
        CHECK(link.uniqueid1 == a);
        CHECK(link.uniqueid2 == b);
        CHECK(link.linked == (e.name == "CHANNEL_BRIDGE"));
    }
}

TEST_CASE("events Ringside has no use for map to nothing") {
    EventMapper m(PbxId{"fs"});
    const auto bytes = esl_fixtures::read("neventsocket/issue_20_log.txt");
    for (const auto& e : events_of(bytes)) {
        if (e.name().starts_with("CHANNEL_") && e.name() != "CHANNEL_EXECUTE" &&
            e.name() != "CHANNEL_EXECUTE_COMPLETE")
            continue;
        CHECK(m.map(e, t0).empty());
    }
}

TEST_CASE("a show channels listing rebuilds channels as listed, legs tied by call_uuid") {
    EventMapper m(PbxId{"fs"});
    const std::string json = R"({"row_count":2,"rows":[
      {"uuid":"a-9","direction":"inbound","name":"sofia/external/+15551234567@198.51.100.7","state":"CS_EXCHANGE_MEDIA",
       "cid_name":"Jane Roe","cid_num":"+15551234567","dest":"5000","callstate":"ACTIVE","call_uuid":"a-9","context":"public"},
      {"uuid":"b-9","direction":"outbound","name":"sofia/internal/1001@10.0.0.21:5060","state":"CS_EXCHANGE_MEDIA",
       "cid_name":"Jane Roe","cid_num":"+15551234567","dest":"1001","callstate":"ACTIVE","call_uuid":"a-9"}]})";
    auto out = m.map_channel_list(json, t0);
    REQUIRE(out.size() == 2);
    const auto& b = std::get<pbx::ChannelCreated>(out[1].payload);
    CHECK(b.listed);
    CHECK(b.ch.linkedid == "a-9");
    CHECK(b.ch.state == pbx::ChannelState::up);
    CHECK(m.map_channel_list(R"({"row_count":0})", t0).empty());
    std::string error;
    CHECK(m.map_channel_list("-ERR no reply\n", t0, &error).empty());
    CHECK(error == "FreeSWITCH channel list is not JSON");
    CHECK(m.map_channel_list(R"({"rows":[1,"x",{"uuid":5}]})", t0).empty());
}

TEST_CASE("after a reconnect a listed call ringing 1001 rings it again and its live answer is an answer") {
    EventMapper m(PbxId{"fs"});
    CallTracker tracker;
    std::vector<std::string> kinds;
    auto feed = [&](const pbx::Event& e) {
        for (auto& f : tracker.on_event(e)) {
            if (auto* r = std::get_if<effect::Ringing>(&f)) {
                kinds.push_back("ringing " + r->ext.value());
                CHECK(r->call.caller_num == "+15551234567");
            }
            if (auto* a = std::get_if<effect::Answered>(&f)) kinds.push_back("answered " + a->ext.value());
            if (auto* e2 = std::get_if<effect::Ended>(&f)) kinds.push_back(std::string(to_string(e2->outcome)));
        }
    };
    feed(pbx::Event{PbxId{"fs"}, t0, pbx::ResyncBegin{}});
    const std::string json = R"({"row_count":2,"rows":[
      {"uuid":"b-5","direction":"outbound","name":"sofia/internal/sip:1001@10.0.0.21:5060","callstate":"RINGING",
       "cid_name":"Jane Roe","cid_num":"+15551234567","dest":"1001","call_uuid":"a-5"},
      {"uuid":"a-5","direction":"inbound","name":"sofia/external/+15551234567@198.51.100.7","callstate":"RINGING",
       "cid_name":"Jane Roe","cid_num":"+15551234567","dest":"5000","call_uuid":"a-5"}]})";
    for (const auto& e : m.map_channel_list(json, t0)) feed(e);
    feed(pbx::Event{PbxId{"fs"}, t0, pbx::ResyncEnd{}});
    auto call = esl_fixtures::scripted_call("a-5", "b-5", "+15551234567", "Jane Roe", "1001", true);
    for (const auto& e : map_all(m, call.answer + call.hangup)) feed(e);
    CHECK(kinds == std::vector<std::string>{"ringing 1001", "answered 1001", "answered"});
}

// ---------------------------------------------------------------- hang-up side (issue 4)

namespace {

/// One leg's CHANNEL_HANGUP with FreeSWITCH's sip_hangup_disposition.
std::string hangup_of(const std::string& uid, const std::string& disposition, long long at_us) {
    return esl_fixtures::wire_event({{"Event-Name", "CHANNEL_HANGUP"},
                                     {"Event-Date-Timestamp", std::to_string(at_us)},
                                     {"Unique-ID", uid},
                                     {"Channel-Call-State", "HANGUP"},
                                     {"Hangup-Cause", "NORMAL_CLEARING"},
                                     {"variable_sip_hangup_disposition", disposition}});
}

struct SideCase {
    const char* name;
    bool answered;
    std::vector<std::pair<std::string, std::string>> hangups;  // leg ("a" caller, "b" 1001), disposition; in order
    std::optional<HangupBy> side;
    std::string ext;
};

}  // namespace

TEST_CASE("hang-up side over ESL: which leg FreeSWITCH received the BYE or CANCEL from first") {
    const std::vector<SideCase> cases = {
        {"the agent's phone sends BYE", true, {{"b", "recv_bye"}, {"a", "send_bye"}}, HangupBy::agent, "1001"},
        {"the caller sends BYE", true, {{"a", "recv_bye"}, {"b", "send_bye"}}, HangupBy::caller, ""},
        {"FreeSWITCH hangs up both (uuid_kill, limits)", true, {{"a", "send_bye"}, {"b", "send_bye"}},
         HangupBy::system, ""},
        {"the caller cancels while 1001 rings", false, {{"a", "recv_cancel"}, {"b", "send_cancel"}}, HangupBy::caller,
         ""},
        {"no disposition: the agent's leg going first says it", true, {{"b", ""}, {"a", ""}}, HangupBy::agent, "1001"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        EventMapper m(PbxId{"fs"});
        CallTracker tracker;
        auto call = esl_fixtures::scripted_call("a-9", "b-9", "+15551234567", "", "1001", c.answered);
        std::string hangups;
        long long t = 1700000100000000LL;
        for (const auto& [leg, disp] : c.hangups) hangups += hangup_of(leg == "a" ? "a-9" : "b-9", disp, t += 1000);
        std::vector<effect::Ended> ends;
        int requests = 0;
        for (auto& e : map_all(m, call.ring + call.answer + hangups)) {
            if (auto* r = std::get_if<pbx::HangupRequest>(&e.payload)) {
                ++requests;
                CHECK(r->by_pbx == (c.hangups[static_cast<std::size_t>(requests - 1)].second.rfind("send_", 0) == 0));
            }
            for (auto& f : tracker.on_event(e))
                if (auto* x = std::get_if<effect::Ended>(&f)) ends.push_back(*x);
        }
        REQUIRE(ends.size() == 1);
        CHECK(ends[0].hangup_by == c.side);
        CHECK(ends[0].hangup_ext.value_or(Extension("")).value() == c.ext);
    }
}

TEST_CASE("Caller-Privacy-Hide-Number true marks the caller withheld, false says it is shown") {
    for (const auto& [value, withheld] : {std::pair{"true", true}, std::pair{"false", false}}) {
        CAPTURE(value);
        EventMapper m(PbxId{"fs"});
        for (auto e : esl_fixtures::rst_events()) {
            if (e.name != "CHANNEL_CREATE") continue;
            for (auto& [k, v] : e.headers)
                if (k == "Caller-Privacy-Hide-Number") v = value;
            auto out = map_all(m, esl_fixtures::wire_event(e.headers));
            REQUIRE(!out.empty());
            CHECK(std::get<pbx::ChannelCreated>(out[0].payload).ch.caller_withheld == withheld);
        }
    }
    // An event without the header does not say.
    auto call = esl_fixtures::scripted_call("a-p", "b-p", "+15551234567", "", "1001", false);
    EventMapper m(PbxId{"fs"});
    auto ring = map_all(m, call.ring);
    CHECK(!std::get<pbx::ChannelCreated>(ring[0].payload).ch.caller_withheld);
}

TEST_CASE("a leg's whole end as FreeSWITCH sends it (hangup, hangup complete, callstate DOWN, destroy) ends it once") {
    // Per leg: CHANNEL_CREATE, CHANNEL_CALLSTATE changes, CHANNEL_HANGUP,
    // CHANNEL_HANGUP_COMPLETE, then CHANNEL_CALLSTATE HANGUP -> DOWN in
    // CS_DESTROY and CHANNEL_DESTROY (esl_fixtures::scripted_call).
    for (bool answered : {true, false}) {
        CAPTURE(answered);
        EventMapper m(PbxId{"fs"});
        CallTracker tracker;
        auto call = esl_fixtures::scripted_call("a-d", "b-d", "+15551234567", "", "1001", answered);
        REQUIRE(call.hangup.find("CS_DESTROY") != std::string::npos);
        REQUIRE(call.hangup.find("CHANNEL_DESTROY") != std::string::npos);
        int started = 0, ended = 0;
        for (auto& e : map_all(m, call.ring + call.answer))
            for (auto& f : tracker.on_event(e)) started += std::holds_alternative<effect::CallStarted>(f);
        auto late = map_all(m, call.hangup);
        for (const auto& e : late) {
            CHECK(!std::holds_alternative<pbx::ChannelCreated>(e.payload));
            CHECK(!std::holds_alternative<pbx::ChannelUpdated>(e.payload));
        }
        for (auto& e : late)
            for (auto& f : tracker.on_event(e)) {
                started += std::holds_alternative<effect::CallStarted>(f);
                ended += std::holds_alternative<effect::Ended>(f);
            }
        CHECK(started == 1);
        CHECK(ended == 1);
        CHECK(tracker.active_calls() == 0);
        CHECK(m.tracked_channels() == 0);
        // Still late after a reconnect, and in a channel listing taken just before the hangup.
        m.reset();
        for (const auto& e : map_all(m, call.hangup)) CHECK(!std::holds_alternative<pbx::ChannelCreated>(e.payload));
        const std::string listing = R"({"row_count":1,"rows":[{"uuid":"a-d","direction":"inbound",)"
                                    R"("name":"sofia/external/+15551234567@198.51.100.7","cid_num":"+15551234567",)"
                                    R"("dest":"5000","callstate":"ACTIVE","call_uuid":"a-d"}]})";
        CHECK(m.map_channel_list(listing, t0).empty());
    }
}

TEST_CASE("the hung-up legs the mapper remembers are bounded: the oldest are forgotten first") {
    RecentIds ids(3);
    for (auto id : {"a", "b", "c", "d"}) ids.add(id);
    CHECK(ids.size() == 3);
    CHECK(!ids.contains("a"));
    CHECK(ids.contains("b"));
    CHECK(ids.contains("d"));
    ids.add("d");  // once only
    CHECK(ids.size() == 3);
    CHECK(!ids.contains(""));
}
