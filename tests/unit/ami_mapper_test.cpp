#include <doctest/doctest.h>

#include "ami_fixtures.hpp"
#include "ringside/ami/mapper.hpp"
#include "ringside/core/call_tracker.hpp"

using namespace ringside;
using namespace ringside::ami;

namespace {

const Timestamp received{std::chrono::milliseconds{1'700'000'000'000}};

std::vector<pbx::Event> map_bytes(std::string_view bytes) {
    EventMapper mapper{PbxId{"main"}};
    std::vector<pbx::Event> out;
    for (const auto& m : ami_test::read_messages(bytes)) {
        auto evs = mapper.map(m, received);
        out.insert(out.end(), evs.begin(), evs.end());
    }
    return out;
}

template <class T>
std::vector<T> all_of(const std::vector<pbx::Event>& evs) {
    std::vector<T> out;
    for (const auto& e : evs)
        if (auto* p = std::get_if<T>(&e.payload)) out.push_back(*p);
    return out;
}

/// Every Newchannel, DialBegin, DialEnd and Hangup of the capture comes out
/// with the ids Asterisk gave it.
void check_ids_match_the_capture(const std::string& bytes) {
    auto msgs = ami_test::read_messages(bytes);
    auto evs = map_bytes(bytes);
    auto created = all_of<pbx::ChannelCreated>(evs);
    auto begins = all_of<pbx::DialBegin>(evs);
    auto ends = all_of<pbx::DialEnd>(evs);
    auto hangups = all_of<pbx::Hangup>(evs);
    std::size_t nc = 0, db = 0, de = 0, hu = 0;
    for (const auto& m : msgs) {
        if (m.event() == "Newchannel") {
            REQUIRE(nc < created.size());
            CHECK(created[nc].ch.uniqueid == m.get("Uniqueid"));
            CHECK(created[nc].ch.linkedid == m.get("Linkedid"));
            CHECK(created[nc].ch.channel == m.get("Channel"));
            ++nc;
        } else if (m.event() == "DialBegin") {
            REQUIRE(db < begins.size());
            CHECK(begins[db].caller.uniqueid == m.get("Uniqueid"));
            CHECK(begins[db].dest.uniqueid == m.get("DestUniqueid"));
            CHECK(begins[db].dest.linkedid == m.get("DestLinkedid"));
            CHECK(begins[db].dest.channel == m.get("DestChannel"));
            CHECK(begins[db].dialstring == m.get("DialString"));
            ++db;
        } else if (m.event() == "DialEnd") {
            REQUIRE(de < ends.size());
            CHECK(ends[de].caller_uniqueid == m.get("Uniqueid"));
            CHECK(ends[de].dest_uniqueid == m.get("DestUniqueid"));
            ++de;
        } else if (m.event() == "Hangup") {
            REQUIRE(hu < hangups.size());
            CHECK(hangups[hu].uniqueid == m.get("Uniqueid"));
            ++hu;
        }
    }
    CHECK(nc == created.size());
    CHECK(db == begins.size());
    CHECK(de == ends.size());
    CHECK(hu == hangups.size());
    CHECK(nc > 0);
}

}  // namespace

TEST_CASE("every recorded Asterisk 12+ call maps to events carrying the capture's ids") {
    for (const char* f : {"cacofonisk/simple/ab_success_a_hangup.json", "cacofonisk/simple/ab_a_cancel.json",
                          "cacofonisk/simple/ab_reject.json", "cacofonisk/queue/queue_a_cancel.json",
                          "cacofonisk/xfer_attended/xfer_abbcac.json", "cacofonisk/xfer_blind/xfer_blind_abacbc.json"}) {
        CAPTURE(std::string(f));
        check_ids_match_the_capture(ami_test::cacofonisk_wire(f));
    }
    check_ids_match_the_capture(ami_test::fixture("goami2/call_chan_sip_dial_bridge.DERIVED.ami"));
}

TEST_CASE("A calls B and hangs up: answered dial, bridge, normal clearing") {
    auto evs = map_bytes(ami_test::cacofonisk_wire("cacofonisk/simple/ab_success_a_hangup.json"));
    auto created = all_of<pbx::ChannelCreated>(evs);
    REQUIRE(created.size() == 4);
    CHECK(created[0].ch.uniqueid == "195176c06ab8-1529936170.42");
    CHECK(created[0].ch.caller_num == "150010001");
    CHECK(created[0].ch.connected_num == "");  // "<unknown>"
    CHECK(created[0].ch.state == pbx::ChannelState::down);
    CHECK(created[1].ch.caller_num == "");
    auto ends = all_of<pbx::DialEnd>(evs);
    REQUIRE(ends.size() == 2);
    CHECK(ends[0].dest_uniqueid == "195176c06ab8-1529936170.50");
    CHECK(ends[0].status == pbx::DialStatus::answer);
    auto pairs = all_of<pbx::LocalPair>(evs);
    REQUIRE(pairs.size() == 1);
    CHECK(pairs[0].uniqueid1 == "195176c06ab8-1529936170.45");
    CHECK(pairs[0].uniqueid2 == "195176c06ab8-1529936170.47");
    CHECK(all_of<pbx::BridgeEnter>(evs).size() == 5);
    CHECK(all_of<pbx::BridgeLeave>(evs).size() == 5);
    auto hangups = all_of<pbx::Hangup>(evs);
    REQUIRE(hangups.size() == 4);
    for (const auto& h : hangups) {
        CHECK(h.cause == 16);
        CHECK(h.cause_txt == "Normal Clearing");
    }
    auto updates = all_of<pbx::ChannelUpdated>(evs);
    bool ringing_b = false;
    for (const auto& u : updates)
        if (u.ch.uniqueid == "195176c06ab8-1529936170.50" && u.ch.state == pbx::ChannelState::ringing) ringing_b = true;
    CHECK(ringing_b);
    for (const auto& e : evs) {
        CHECK(e.pbx == PbxId{"main"});
        CHECK(e.at == received);  // these captures carry no Timestamp header
    }
}

TEST_CASE("the caller cancels before answer: DialEnd CANCEL") {
    auto ends = all_of<pbx::DialEnd>(map_bytes(ami_test::cacofonisk_wire("cacofonisk/simple/ab_a_cancel.json")));
    REQUIRE(ends.size() == 2);
    CHECK(ends[0].caller_uniqueid == "195176c06ab8-1529936141.21");
    CHECK(ends[0].status == pbx::DialStatus::cancel);
    CHECK(ends[1].dest_uniqueid == "195176c06ab8-1529936141.29");
    CHECK(ends[1].status == pbx::DialStatus::cancel);
}

TEST_CASE("B rejects: DialEnd BUSY and cause 17") {
    auto evs = map_bytes(ami_test::cacofonisk_wire("cacofonisk/simple/ab_reject.json"));
    auto ends = all_of<pbx::DialEnd>(evs);
    REQUIRE(ends.size() == 2);
    CHECK(ends[0].dest_uniqueid == "195176c06ab8-1529936241.106");
    CHECK(ends[0].status == pbx::DialStatus::busy);
    CHECK(all_of<pbx::Hangup>(evs)[0].cause == 17);
}

TEST_CASE("a caller abandons the queue: QueueAbandon with hold time") {
    auto evs = map_bytes(ami_test::cacofonisk_wire("cacofonisk/queue/queue_a_cancel.json"));
    auto ab = all_of<pbx::QueueAbandon>(evs);
    REQUIRE(ab.size() == 1);
    CHECK(ab[0].uniqueid == "40a7a1f2a669-1585318545.326");
    CHECK(ab[0].queue == "670100-540100");
    CHECK(ab[0].hold_seconds == 11);
    auto begins = all_of<pbx::DialBegin>(evs);
    REQUIRE(begins.size() == 2);
    CHECK(begins[0].caller.caller_num == "+31150010001");
    CHECK(begins[0].caller.linkedid == "40a7a1f2a669-1585318545.326");
    CHECK(begins[1].dest.channel == "SIP/150010002-0000001a");
}

TEST_CASE("a blind transfer names the transferer, the caller moved and the extension") {
    auto ts = all_of<pbx::Transfer>(map_bytes(ami_test::cacofonisk_wire("cacofonisk/xfer_blind/xfer_blind_abacbc.json")));
    REQUIRE(ts.size() == 1);
    CHECK_FALSE(ts[0].attended);
    CHECK(ts[0].transferer_uniqueid == "07b796be1962-1529998985.130");
    CHECK(ts[0].transferee_uniqueid == "07b796be1962-1529998985.138");
    CHECK(ts[0].target_exten == "203");
}

TEST_CASE("an attended transfer without Transferee headers is completed from the bridges") {
    auto ts = all_of<pbx::Transfer>(map_bytes(ami_test::cacofonisk_wire("cacofonisk/xfer_attended/xfer_abbcac.json")));
    REQUIRE(ts.size() == 1);
    CHECK(ts[0].attended);
    CHECK(ts[0].transferer_uniqueid == "195176c06ab8-1529941338.671");  // B, on the call with A
    CHECK(ts[0].transferee_uniqueid == "195176c06ab8-1529941338.663");  // A, the caller
    CHECK(ts[0].target_uniqueid == "195176c06ab8-1529941343.698");      // C, consulted
}

TEST_CASE("an attended transfer that names its parties is taken as written") {
    EventMapper mapper{PbxId{"main"}};
    Message m;
    m.fields = {{"Event", "AttendedTransfer"},
                {"OrigTransfererUniqueid", "1.2"},
                {"SecondTransfererUniqueid", "1.5"},
                {"TransfereeUniqueid", "1.1"},
                {"TransferTargetUniqueid", "1.6"},
                {"Result", "Success"}};
    auto evs = mapper.map(m, received);
    REQUIRE(evs.size() == 1);
    auto& t = std::get<pbx::Transfer>(evs[0].payload);
    CHECK(t.transferer_uniqueid == "1.2");
    CHECK(t.transferee_uniqueid == "1.1");
    CHECK(t.target_uniqueid == "1.6");
}

TEST_CASE("a blonde transfer (DestType App, no target, no second bridge) names the consultation channel as the target") {
    // Asterisk 13 while the consultation call still dials: the transferee
    // takes the consultation channel's place in Dial.
    EventMapper mapper{PbxId{"main"}};
    Message m;
    m.fields = {{"Event", "AttendedTransfer"},         {"Result", "Success"},
                {"OrigTransfererUniqueid", "1.2"},     {"OrigBridgeUniqueid", "b1"},
                {"SecondTransfererUniqueid", "1.3"},   {"TransfereeUniqueid", "1.1"},
                {"IsExternal", "No"},                  {"DestType", "App"},
                {"DestApp", "Dial"}};
    auto evs = mapper.map(m, received);
    REQUIRE(evs.size() == 1);
    auto& t = std::get<pbx::Transfer>(evs[0].payload);
    CHECK(t.attended);
    CHECK(t.transferer_uniqueid == "1.2");
    CHECK(t.transferee_uniqueid == "1.1");
    CHECK(t.target_uniqueid == "1.3");
    CHECK(t.dial_moved);

    // The agent placed the consultation call first: it is the original
    // transferer (no bridge), the call in the bridge the second one.
    m.fields = {{"Event", "AttendedTransfer"},       {"Result", "Success"},
                {"OrigTransfererUniqueid", "1.3"},   {"SecondTransfererUniqueid", "1.2"},
                {"SecondBridgeUniqueid", "b1"},      {"TransfereeUniqueid", "1.1"},
                {"DestType", "App"},                 {"DestApp", "Dial"}};
    evs = mapper.map(m, received);
    REQUIRE(evs.size() == 1);
    CHECK(std::get<pbx::Transfer>(evs[0].payload).target_uniqueid == "1.3");
    CHECK(std::get<pbx::Transfer>(evs[0].payload).transferee_uniqueid == "1.1");
    CHECK(std::get<pbx::Transfer>(evs[0].payload).dial_moved);

    // Into a bridge: the target is the one named, no dials move.
    m.fields = {{"Event", "AttendedTransfer"}, {"Result", "Success"}, {"OrigTransfererUniqueid", "1.2"},
                {"SecondTransfererUniqueid", "1.3"}, {"TransfereeUniqueid", "1.1"},
                {"TransferTargetUniqueid", "1.4"}, {"DestType", "Bridge"}, {"DestBridgeUniqueid", "b1"}};
    evs = mapper.map(m, received);
    REQUIRE(evs.size() == 1);
    CHECK(std::get<pbx::Transfer>(evs[0].payload).target_uniqueid == "1.4");
    CHECK(!std::get<pbx::Transfer>(evs[0].payload).dial_moved);
}

TEST_CASE("the goami2 chan_sip call maps dial, answer and hang-up, DialEnd included") {
    auto evs = map_bytes(ami_test::fixture("goami2/call_chan_sip_dial_bridge.DERIVED.ami"));
    auto begins = all_of<pbx::DialBegin>(evs);
    REQUIRE(begins.size() == 1);
    CHECK(begins[0].caller.uniqueid == "1598887681.60");
    CHECK(begins[0].dest.uniqueid == "1598887681.61");
    CHECK(begins[0].caller.caller_name == "Bud Heller");
    auto ends = all_of<pbx::DialEnd>(evs);
    REQUIRE(ends.size() == 1);
    CHECK(ends[0].status == pbx::DialStatus::answer);
    CHECK(ends[0].dest_uniqueid == "1598887681.61");
    CHECK(all_of<pbx::BridgeEnter>(evs).size() == 2);
}

TEST_CASE("pre-12 Dial, Bridge and Masquerade events map by uniqueid, without Linkedid") {
    auto evs = map_bytes(ami_test::fixture("panoramisk/originate_with_events.yaml"));
    auto created = all_of<pbx::ChannelCreated>(evs);
    REQUIRE(!created.empty());
    CHECK(created[0].ch.uniqueid == "1414510600.0");
    CHECK(created[0].ch.linkedid == "");
    CHECK(created[0].ch.channel == "Local/259@default-00000000;1");

    auto begins = all_of<pbx::DialBegin>(evs);
    REQUIRE(begins.size() == 2);
    CHECK(begins[0].caller.uniqueid == "1414510600.1");
    CHECK(begins[0].caller.channel == "Local/259@default-00000000;2");
    CHECK(begins[0].dest.uniqueid == "1414510601.2");
    CHECK(begins[0].dest.channel == "SIP/ddddd-00000000");
    CHECK(begins[0].dialstring == "ddddd");
    CHECK(begins[0].caller.caller_num == "");  // <unknown>
    CHECK(begins[1].caller.uniqueid == "1414510600.0");
    CHECK(begins[1].dest.uniqueid == "1414510609.3");

    auto ends = all_of<pbx::DialEnd>(evs);
    REQUIRE(ends.size() == 2);
    CHECK(ends[0].caller_uniqueid == "1414510600.1");
    CHECK(ends[0].dest_uniqueid == "1414510601.2");  // remembered from the Begin
    CHECK(ends[0].status == pbx::DialStatus::answer);
    CHECK(ends[1].dest_uniqueid == "1414510609.3");

    auto links = all_of<pbx::BridgeLink>(evs);
    REQUIRE(links.size() == 6);
    CHECK(links[0].uniqueid1 == "1414510600.1");
    CHECK(links[0].uniqueid2 == "1414510601.2");
    CHECK(links[0].linked);
    bool some_unlink = false;
    for (const auto& l : links) some_unlink = some_unlink || !l.linked;
    CHECK(some_unlink);

    auto renames = all_of<pbx::ChannelRenamed>(evs);
    bool local_became_sip = false;
    for (const auto& r : renames)
        if (r.uniqueid == "1414510600.0" && r.new_channel == "SIP/ddddd-00000000") local_became_sip = true;
    CHECK(local_became_sip);
    CHECK(all_of<pbx::LocalPair>(evs).size() == 1);
    CHECK(all_of<pbx::Hangup>(evs).size() == 4);
}

TEST_CASE("the Timestamp header sets the event time, with milliseconds") {
    EventMapper mapper{PbxId{"main"}};
    Message m;
    m.fields = {{"Event", "Hangup"}, {"Timestamp", "1409169929.412068"}, {"Uniqueid", "1.1"}, {"Cause", "16"}};
    auto evs = mapper.map(m, received);
    REQUIRE(evs.size() == 1);
    CHECK(evs[0].at == Timestamp{std::chrono::milliseconds{1409169929412}});
}

TEST_CASE("responses and events of no interest map to nothing") {
    EventMapper mapper{PbxId{"main"}};
    Message resp;
    resp.fields = {{"Response", "Success"}, {"Message", "Authentication accepted"}};
    CHECK(mapper.map(resp, received).empty());
    Message varset;
    varset.fields = {{"Event", "VarSet"}, {"Uniqueid", "1.1"}};
    CHECK(mapper.map(varset, received).empty());
}

TEST_CASE("CoreShowChannel lists a channel as ChannelCreated with its state") {
    EventMapper mapper{PbxId{"main"}};
    Message m;
    m.fields = {{"Event", "CoreShowChannel"},  {"Channel", "SIP/1001-0000001a"}, {"ChannelState", "5"},
                {"CallerIDNum", "09121234567"}, {"Uniqueid", "1732370400.12"},   {"Linkedid", "1732370400.10"}};
    auto evs = mapper.map(m, received);
    REQUIRE(evs.size() == 1);
    auto& c = std::get<pbx::ChannelCreated>(evs[0].payload);
    CHECK(c.ch.state == pbx::ChannelState::ringing);
    CHECK(c.ch.linkedid == "1732370400.10");
}

TEST_CASE("a device channel name gives the agent's extension; plumbing channels give none") {
    CHECK(pbx::device_extension("SIP/1001-0000001a") == Extension{"1001"});
    CHECK(pbx::device_extension("PJSIP/1001-00000002") == Extension{"1001"});
    CHECK(pbx::device_extension("SIP/150010002-00000026") == Extension{"150010002"});
    CHECK(pbx::device_extension("SIP/9170-12-0000003c") == Extension{"9170-12"});
    CHECK(pbx::device_extension("IAX2/1001-123") == Extension{"1001"});
    CHECK(pbx::device_extension("DAHDI/1-1") == Extension{"1"});
    CHECK(pbx::device_extension("SIP/ddddd-00000000") == Extension{"ddddd"});
    CHECK_FALSE(pbx::device_extension("Local/200@ctx-00000002;1"));
    CHECK_FALSE(pbx::device_extension("Bridge/0x7f00"));
    CHECK_FALSE(pbx::device_extension("Message/ast_msg_queue"));
    CHECK_FALSE(pbx::device_extension("Announcer/ARI_MOH-00000001;1"));
    CHECK_FALSE(pbx::device_extension("Local/259@default-00000000;1<ZOMBIE>"));
    CHECK_FALSE(pbx::device_extension("SIP/ddddd-00000000<MASQ>"));
    CHECK_FALSE(pbx::device_extension("garbage"));
    CHECK_FALSE(pbx::device_extension(""));
    CHECK(pbx::is_local_channel("Local/200@ctx-00000002;1"));
    CHECK_FALSE(pbx::is_local_channel("SIP/1001-0000001a"));
}

namespace {

/// An Asterisk 13 channel event of the trunk's channel, with extra headers.
std::string trunk_event(const std::string& event, const std::string& caller, const std::string& extra = "") {
    return "Event: " + event +
           "\r\nPrivilege: call,all\r\nChannel: SIP/trunk-00000001\r\nChannelState: 4\r\nChannelStateDesc: Ring\r\n"
           "CallerIDNum: " +
           caller +
           "\r\nCallerIDName: <unknown>\r\nConnectedLineNum: <unknown>\r\nConnectedLineName: <unknown>\r\n"
           "Language: en\r\nAccountCode: \r\nContext: from-trunk\r\nExten: 500\r\nPriority: 1\r\n"
           "Uniqueid: 1700000000.1\r\nLinkedid: 1700000000.1\r\n" +
           extra + "\r\n";
}

}  // namespace

TEST_CASE("a caller id presentation of Prohibited or Unavailable marks the caller withheld; Allowed does not") {
    struct Row {
        std::string pres;
        std::optional<bool> withheld;
    };
    for (const auto& row : std::vector<Row>{{"0 (Presentation Allowed, Not Screened)", false},
                                            {"1 (Presentation Allowed, Passed Screen)", false},
                                            {"32 (Presentation Prohibited, Not Screened)", true},
                                            {"35 (Presentation Prohibited, Network Number)", true},
                                            {"67 (Number Unavailable)", true},
                                            {"prohib_not_screened", true},
                                            {"allowed_passed_screen", false},
                                            {"unavailable", true}}) {
        CAPTURE(row.pres);
        auto evs = map_bytes(trunk_event("NewCallerid", "+31261234567", "CID-CallingPres: " + row.pres + "\r\n"));
        auto updated = all_of<pbx::ChannelUpdated>(evs);
        REQUIRE(updated.size() == 1);
        CHECK(updated[0].ch.caller_withheld == row.withheld);
    }
    // Newchannel and Newstate do not say: the presentation is left unset.
    auto evs = map_bytes(trunk_event("Newchannel", "+31261234567") + trunk_event("Newstate", "+31261234567"));
    for (const auto& c : all_of<pbx::ChannelCreated>(evs)) CHECK(!c.ch.caller_withheld);
    for (const auto& u : all_of<pbx::ChannelUpdated>(evs)) CHECK(!u.ch.caller_withheld);
}

TEST_CASE("through the tracker a Prohibited NewCallerid makes the call's caller withheld, and a Newstate keeps it") {
    EventMapper mapper{PbxId{"main"}};
    CallTracker tracker;
    std::vector<Effect> effects;
    const std::string wire =
        trunk_event("Newchannel", "+31261234567") +
        trunk_event("NewCallerid", "+31261234567", "CID-CallingPres: 32 (Presentation Prohibited, Not Screened)\r\n") +
        trunk_event("Newstate", "+31261234567") +
        "Event: Newchannel\r\nChannel: SIP/1001-00000002\r\nChannelState: 0\r\nChannelStateDesc: Down\r\n"
        "CallerIDNum: 1001\r\nCallerIDName: <unknown>\r\nExten: 500\r\nContext: from-trunk\r\n"
        "Uniqueid: 1700000000.2\r\nLinkedid: 1700000000.1\r\n\r\n"
        "Event: DialBegin\r\nChannel: SIP/trunk-00000001\r\nChannelState: 4\r\nCallerIDNum: +31261234567\r\n"
        "Uniqueid: 1700000000.1\r\nLinkedid: 1700000000.1\r\nDestChannel: SIP/1001-00000002\r\nDestChannelState: 0\r\n"
        "DestCallerIDNum: 1001\r\nDestUniqueid: 1700000000.2\r\nDestLinkedid: 1700000000.1\r\nDialString: 1001\r\n\r\n";
    for (const auto& m : ami_test::read_messages(wire))
        for (const auto& e : mapper.map(m, received))
            for (auto& f : tracker.on_event(e)) effects.push_back(std::move(f));
    bool rang = false;
    for (const auto& f : effects)
        if (auto* r = std::get_if<effect::Ringing>(&f)) {
            rang = true;
            CHECK(r->call.caller_withheld);
        }
    CHECK(rang);
}
