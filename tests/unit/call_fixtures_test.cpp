// Recorded Asterisk calls (cacofonisk, goami2) through the real path of the
// bytes minus the socket: AMI messages -> ami::EventMapper -> CallService,
// with a real SQLite file. Captures have no `Timestamp:` header, so each
// message is "received" one second after the one before it.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>

#include "ami_blonde.hpp"
#include "ami_calls.hpp"
#include "call_events.hpp"
#include "call_service_env.hpp"
#include "ringside/ami/mapper.hpp"
#include "ringside/ami/reader.hpp"

using namespace ringside;
using namespace call_test;
using Strings = std::vector<std::string>;

namespace {

/// Raw wire bytes through the AMI reader.
std::vector<ami::Message> wire(const std::string& rel) {
    ami::Reader r;
    r.put(read_fixture(rel));
    std::vector<ami::Message> out;
    while (auto item = r.next())
        if (auto* m = std::get_if<ami::Message>(&*item)) out.push_back(std::move(*m));
    return out;
}

std::vector<pbx::Event> mapped(const std::vector<ami::Message>& msgs) {
    ami::EventMapper mapper(PbxId("main"));
    std::vector<pbx::Event> out;
    for (std::size_t i = 0; i < msgs.size(); ++i)
        for (auto& e : mapper.map(msgs[i], at_s(static_cast<int>(i)))) out.push_back(std::move(e));
    return out;
}

/// A = 150010001 (carol), B = 150010002 (alice), C = 150010003 (bob): the
/// cacofonisk phones. Without carol, A's phone is nobody's: A plays the
/// external caller (a customer) and its calls are inbound.
void add_cacofonisk_agents(Env& e, bool with_carol = true) {
    if (with_carol) e.add_user(make_user("carol", Role::agent, "150010001"));
    e.add_user(make_user("alice", Role::agent, "150010002"));
    e.add_user(make_user("bob", Role::agent, "150010003"));
}

struct ExpectedLeg {
    std::string agent;
    std::int64_t talk_seconds;
    std::optional<std::string> transferred_by = std::nullopt;
};

struct ExpectedCall {
    std::string id;
    CallStatus status;
    Direction direction;
    std::string from;
    std::optional<std::string> agent;
    std::int64_t wait_seconds;
    std::int64_t talk_seconds;
    std::vector<ExpectedLeg> legs;
    std::optional<std::string> queue = std::nullopt;
    // Who hung up first: "caller", "system" or "agent:<extension>", read
    // from the order of the capture's Hangup events (see each scenario).
    std::string hangup = "";
};

struct Scenario {
    std::string name;
    std::string file;
    bool a_is_agent;    // carol (A's phone) is an agent: A's calls are internal
    bool pop_internal;  // [calls] pop_internal
    Strings sent;       // what each agent was sent, in order ("by=" for transferred_by)
    std::vector<ExpectedCall> calls;
    std::uint64_t merged = 0;  // consultation calls folded in
};

// hang-up side, from each capture's Hangup order: ab_success_a_hangup: A's
// phone (message 45) before B's (46); ab_a_cancel: A cancels while B rings;
// ab_reject: B answers busy (DialEnd BUSY), then the PBX ends A; queue:
// QueueCallerAbandon; blind transfer: after the transfer (A leaving is the
// transfer, not a hang-up) B (85) before C (86); attended: B leaving is the
// transfer, then C (92) before A (94).
// wait/talk: message indexes in the capture (one second apart) between the
// root's Newchannel, the first answer (the callee's Newstate Up) and the
// call's last Hangup, counted from the JSON independently of this code. A
// leg's talk time runs from its phone's Newstate Up to that channel's Hangup.
const std::vector<Scenario> scenarios = {
    {"internal call, popped with pop_internal", "simple/ab_success_a_hangup.json", true, true,
     {"alice call.ringing", "alice call.answered", "alice call.ended"},
     {{"main-195176c06ab8-1529936170.42", CallStatus::answered, Direction::internal, "201", "alice", 21, 23,
       {{"alice", 23}}, std::nullopt, "caller"}}},
    {"internal call, not popped by default", "simple/ab_success_a_hangup.json", true, false,
     {},
     {{"main-195176c06ab8-1529936170.42", CallStatus::answered, Direction::internal, "201", "alice", 21, 23,
       {{"alice", 23}}, std::nullopt, "caller"}}},
    {"inbound call answered", "simple/ab_success_a_hangup.json", false, false,
     {"alice call.ringing", "alice call.answered", "alice call.ended"},
     {{"main-195176c06ab8-1529936170.42", CallStatus::answered, Direction::inbound, "201", "alice", 21, 23,
       {{"alice", 23}}, std::nullopt, "caller"}}},
    {"caller cancels", "simple/ab_a_cancel.json", true, true,
     {"alice call.ringing", "alice call.retracted caller_hung_up"},
     {{"main-195176c06ab8-1529936141.21", CallStatus::missed, Direction::internal, "201", std::nullopt, 26, 0,
       {{"alice", 0}}, std::nullopt, "caller"}}},
    {"callee rejects", "simple/ab_reject.json", true, true,
     {"alice call.ringing", "alice call.retracted caller_hung_up"},
     {{"main-195176c06ab8-1529936241.98", CallStatus::busy, Direction::internal, "201", std::nullopt, 26, 0,
       {{"alice", 0}}, std::nullopt, "agent:150010002"}}},
    {"queue caller abandons", "queue/queue_a_cancel.json", false, false,
     {"alice call.ringing", "alice call.retracted caller_hung_up"},
     {{"main-40a7a1f2a669-1585318545.326", CallStatus::abandoned, Direction::inbound, "+31150010001", std::nullopt,
       33, 0, {{"alice", 0}}, "670100-540100", "caller"}}},
    // Blind transfer: A calls B, B answers, A blind-transfers B to C. One
    // call (one Linkedid); C's pop names A, the original caller, and who
    // transferred (A's phone: its agent, else its extension); the agent is
    // the last to answer; each leg keeps its own talk time.
    {"blind transfer, internal, popped", "xfer_blind/xfer_blind_abacbc.json", true, true,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=carol", "bob call.answered", "bob call.ended"},
     {{"main-07b796be1962-1529998985.130", CallStatus::answered, Direction::internal, "201", "bob", 21, 63,
       {{"alice", 62}, {"bob", 22, "carol"}}, std::nullopt, "agent:150010002"}}},
    {"blind transfer from an external caller", "xfer_blind/xfer_blind_abacbc.json", false, false,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=150010001", "bob call.answered",
      "bob call.ended"},
     {{"main-07b796be1962-1529998985.130", CallStatus::answered, Direction::inbound, "201", "bob", 21, 63,
       {{"alice", 62}, {"bob", 22, "150010001"}}, std::nullopt, "agent:150010002"}}},
    // Attended transfer: A-B talk, B consults C on a second call (its own
    // Linkedid), B joins A and C. The consultation is merged into A's call:
    // one record under A's call id, a leg per agent, and C gets A's pop
    // with transferred_by B's agent. (Before the transfers issue this was
    // two records, A-B answered by alice and B-C answered by bob.)
    {"attended transfer from an external caller", "xfer_attended/xfer_abbcac.json", false, false,
     {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.answered",
      "bob call.ended"},
     {{"main-195176c06ab8-1529941338.663", CallStatus::answered, Direction::inbound, "201", "bob", 21, 71,
       {{"alice", 66}, {"bob", 29, "alice"}}, std::nullopt, "agent:150010003"}},
     1},
    // With pop_internal the consultation itself pops on C (B calling C);
    // after the transfer C gets the caller's pop for the merged call.
    {"attended transfer, internal, popped", "xfer_attended/xfer_abbcac.json", true, true,
     {"alice call.ringing", "alice call.answered", "bob call.ringing", "bob call.answered",
      "bob call.ringing by=alice", "bob call.answered", "bob call.ended"},
     {{"main-195176c06ab8-1529941338.663", CallStatus::answered, Direction::internal, "201", "bob", 21, 71,
       {{"alice", 66}, {"bob", 29, "alice"}}, std::nullopt, "agent:150010003"}},
     1},
};

}  // namespace

TEST_CASE("cacofonisk calls: who is popped, retracted, told of the answer and the end; one record per call") {
    for (const auto& sc : scenarios) {
        CAPTURE(sc.name);
        TempDir dir;
        Env e(dir.path() / "ringside.db", "NL", CallServiceOptions{.pop_internal = sc.pop_internal});
        add_cacofonisk_agents(e, sc.a_is_agent);
        const auto events = mapped(cacofonisk(sc.file));
        REQUIRE(!events.empty());
        for (const auto& ev : events) e.svc.on_pbx_event(ev);

        CHECK(e.sink.lines() == sc.sent);
        CHECK(e.svc.stats().active_calls == 0);
        CHECK(e.svc.stats().calls_merged == sc.merged);
        CHECK(e.svc.stats().calls_started == sc.calls.size() + sc.merged);
        CHECK(e.svc.stats().calls_ended == sc.calls.size());
        const auto stored = e.store.list_calls(CallFilter{});
        CHECK(stored.size() == sc.calls.size());
        CHECK(e.store.open_calls(PbxId("main")).empty());
        for (const auto& want : sc.calls) {
            CAPTURE(want.id);
            auto rec = e.store.find_call(CallId(want.id));
            REQUIRE(rec);
            CHECK(rec->status == want.status);
            CHECK(rec->direction == want.direction);
            CHECK(rec->from == want.from);
            CHECK(rec->agent == (want.agent ? std::optional<AgentId>(AgentId(*want.agent)) : std::nullopt));
            CHECK(rec->wait_seconds == want.wait_seconds);
            CHECK(rec->talk_seconds == want.talk_seconds);
            if (want.queue) CHECK(rec->queue == want.queue);
            CHECK(rec->ended_at);
            const std::string side = !rec->hangup_by ? "" : *rec->hangup_by == HangupBy::agent
                                                                ? "agent:" + rec->hangup_extension.value_or(Extension("")).value()
                                                                : std::string(to_string(*rec->hangup_by));
            CHECK(side == want.hangup);
            REQUIRE(rec->legs.size() == want.legs.size());
            for (std::size_t i = 0; i < want.legs.size(); ++i) {
                CAPTURE(i);
                CHECK(rec->legs[i].agent == AgentId(want.legs[i].agent));
                CHECK(rec->legs[i].talk_seconds == want.legs[i].talk_seconds);
                CHECK(rec->legs[i].transferred_by ==
                      (want.legs[i].transferred_by ? std::optional<AgentId>(AgentId(*want.legs[i].transferred_by))
                                                   : std::nullopt));
            }
        }
        // Every pop names a call that was stored (or a consultation call that
        // was merged away), and call.ended carries the full record.
        for (const auto& s : e.sink.sent) {
            const std::string id = s.msg["call"]["id"].get<std::string>();
            const bool known = std::any_of(sc.calls.begin(), sc.calls.end(), [&](const ExpectedCall& c) { return c.id == id; });
            CHECK((e.store.find_call(CallId(id)).has_value() == known));
            if (s.msg["type"] == "call.ended") CHECK(s.msg["call"].contains("talk_seconds"));
            // Every pop shows the original caller, never an intermediate extension.
            if (s.msg["type"] == "call.ringing" && s.msg.contains("transferred_by")) CHECK(s.msg["call"]["from"] == "201");
        }
    }
}

TEST_CASE("the caller on a pop is the root channel's caller id after NewCallerid, never a Local channel's") {
    TempDir dir;
    Env e(dir.path() / "ringside.db", "NL", CallServiceOptions{.pop_internal = true});
    add_cacofonisk_agents(e);
    for (const auto& ev : mapped(cacofonisk("simple/ab_success_a_hangup.json"))) e.svc.on_pbx_event(ev);
    const auto pop = e.sink.of_type("call.ringing").at(0).msg;
    CHECK(pop["call"]["from"] == "201");
    CHECK(pop["call"]["from_raw"] == "201");
    CHECK(pop["call"]["from_name"] == "Andrew Garza");
    CHECK(pop["call"]["to"] == "202");
    CHECK(pop["call"]["direction"] == "internal");
    CHECK(pop["customer"].is_null());
}

TEST_CASE("a queue caller who is a known customer pops with the customer and open issue, then is logged abandoned") {
    TempDir dir;
    Env e(dir.path() / "ringside.db", "NL");
    add_cacofonisk_agents(e);
    Customer c;
    c.name = "Jan de Vries";
    c.phones = {"+31150010001"};
    const auto cid = e.store.create_customer(c);
    Issue i;
    i.customer_id = cid;
    i.title = "Invoice disputed";
    i.opened_at = at_s(-3600);
    e.store.create_issue(i);
    for (const auto& ev : mapped(cacofonisk("queue/queue_a_cancel.json"))) e.svc.on_pbx_event(ev);
    const auto pop = e.sink.of_type("call.ringing").at(0).msg;
    CHECK(pop["customer"]["id"] == cid);
    CHECK(pop["open_issues"].size() == 1);
    CHECK(pop["open_issues"][0]["title"] == "Invoice disputed");
    CHECK(pop["call"]["from"] == "+31150010001");
    auto rec = e.store.find_call(CallId("main-40a7a1f2a669-1585318545.326"));
    CHECK(rec->customer_id == cid);
    CHECK(rec->status == CallStatus::abandoned);
    auto ctx = e.store.customer_context(cid);
    REQUIRE(ctx->recent_interactions.size() == 1);
    CHECK(ctx->recent_interactions[0].status == "abandoned");
    CHECK(ctx->recent_interactions[0].summary.find("Abandoned inbound call") == 0);
    CHECK(ctx->recent_interactions[0].summary.find("150010001") == std::string::npos);
}

TEST_CASE("the tracker gives exactly one Ended per call id, or one Merged for a consultation call, on every capture") {
    for (const char* f : {"simple/ab_success_a_hangup.json", "simple/ab_a_cancel.json", "simple/ab_reject.json",
                          "queue/queue_a_cancel.json", "xfer_blind/xfer_blind_abacbc.json",
                          "xfer_attended/xfer_abbcac.json"}) {
        CAPTURE(f);
        CallTracker t;
        std::map<std::string, int> started, ended;
        for (const auto& ev : mapped(cacofonisk(f)))
            for (const auto& eff : t.on_event(ev)) {
                if (auto* s = std::get_if<effect::CallStarted>(&eff)) ++started[s->call.id.value()];
                if (auto* x = std::get_if<effect::Ended>(&eff)) ++ended[x->call.id.value()];
                if (auto* x = std::get_if<effect::Merged>(&eff)) ++ended[x->from.value()];
            }
        CHECK(!started.empty());
        CHECK(started == ended);
        for (const auto& [id, n] : ended) CHECK(n == 1);
        CHECK(t.active_calls() == 0);
    }
}

TEST_CASE("goami2: a chan_sip call that rings SIP/... and is answered is logged answered to that phone's agent") {
    TempDir dir;
    Env e(dir.path() / "ringside.db", "US");
    const auto callee = pbx::device_extension("SIP/okon.ferry.sip.com-0000003d");
    REQUIRE(callee);
    e.add_user(make_user("erin", Role::agent, callee->value()));
    const auto msgs = wire("ami/goami2/call_chan_sip_dial_bridge.DERIVED.ami");
    for (const auto& ev : mapped(msgs)) e.svc.on_pbx_event(ev);
    CHECK(e.sink.lines() == Strings{"erin call.ringing", "erin call.answered", "erin call.ended"});
    auto rec = e.store.find_call(CallId("main-1598887681.60"));
    REQUIRE(rec);
    CHECK(rec->status == CallStatus::answered);
    CHECK(rec->agent == AgentId("erin"));
    CHECK(rec->from_raw == "9170");
    CHECK(rec->from_name == "Bud Heller");
    CHECK(rec->to == "9898");
    CHECK(rec->direction == Direction::inbound);  // 9170-12 is nobody's extension here
    CHECK(rec->wait_seconds > 0);
    CHECK(rec->talk_seconds > 0);
    CHECK(e.svc.stats().active_calls == 0);
}

TEST_CASE("a restart mid-call through the AMI path: the next run lists the live channels and finishes the same record") {
    TempDir dir;
    const auto db = dir.path() / "ringside.db";
    const auto msgs = cacofonisk("simple/ab_success_a_hangup.json");
    // Cut after both phones are bridged: B answered at message 23.
    std::size_t cut = 0;
    for (std::size_t i = 0; i < msgs.size() && !cut; ++i)
        if (msgs[i].event() == "BridgeEnter") cut = i + 1;
    REQUIRE(cut > 23);
    {
        Env first(db, "NL", CallServiceOptions{.pop_internal = true});
        add_cacofonisk_agents(first);
        ami::EventMapper mapper(PbxId("main"));
        for (std::size_t i = 0; i < cut; ++i)
            for (auto& ev : mapper.map(msgs[i], at_s(static_cast<int>(i)))) first.svc.on_pbx_event(ev);
        CHECK(first.sink.lines() == Strings{"alice call.ringing", "alice call.answered"});
    }
    // What CoreShowChannels would list now: each live channel's latest state.
    std::map<std::string, ami::Message> live;
    std::vector<std::string> order;
    for (std::size_t i = 0; i < cut; ++i) {
        const auto& m = msgs[i];
        const std::string uid(m.get("Uniqueid"));
        if (uid.empty() || m.get("Channel").empty()) continue;
        if (m.event() == "Hangup") {
            live.erase(uid);
            continue;
        }
        ami::Message row;
        row.fields.push_back({"Event", "CoreShowChannel"});
        for (auto k : {"Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName", "ConnectedLineNum",
                       "ConnectedLineName", "Context", "Exten", "Uniqueid", "Linkedid"})
            row.fields.push_back({k, std::string(m.get(k))});
        if (!live.contains(uid)) order.push_back(uid);
        live[uid] = std::move(row);
    }
    REQUIRE(live.size() == 4);

    Env second(db, "NL", CallServiceOptions{.pop_internal = true});  // same file: the agents are already there
    ami::EventMapper mapper(PbxId("main"));
    const int restart = 200;
    second.svc.on_pbx_event(ev(restart, pbx::ResyncBegin{}));
    for (auto it = order.rbegin(); it != order.rend(); ++it)  // listing order is the PBX's, not ours
        for (auto& e : mapper.map(live.at(*it), at_s(restart))) second.svc.on_pbx_event(e);
    second.svc.on_pbx_event(ev(restart, pbx::ResyncEnd{}));
    second.svc.close_orphans(PbxId("main"), at_s(restart));
    CHECK(second.store.open_calls(PbxId("main")).size() == 1);  // still live, not closed
    for (std::size_t i = cut; i < msgs.size(); ++i)
        for (auto& e : mapper.map(msgs[i], at_s(restart + static_cast<int>(i)))) second.svc.on_pbx_event(e);

    CHECK(second.sink.of_type("call.ringing").empty());
    CHECK(second.sink.of_type("call.ended").size() == 1);
    CHECK(second.store.list_calls(CallFilter{}).size() == 1);
    auto rec = second.store.find_call(CallId("main-195176c06ab8-1529936170.42"));
    REQUIRE(rec);
    CHECK(rec->status == CallStatus::answered);
    CHECK(rec->agent == AgentId("alice"));
    CHECK(rec->from == "201");
    CHECK(rec->started_at == at_s(2));
    CHECK(rec->answered_at == at_s(23));
    CHECK(rec->ended_at == at_s(restart + static_cast<int>(msgs.size()) - 1));
    CHECK(second.svc.stats().active_calls == 0);
}

TEST_CASE("shuffled, truncated and repeated captures never throw, and an empty resync frees every call") {
    std::vector<pbx::Event> all;
    for (const char* f : {"simple/ab_success_a_hangup.json", "simple/ab_a_cancel.json", "simple/ab_reject.json",
                          "queue/queue_a_cancel.json", "xfer_blind/xfer_blind_abacbc.json",
                          "xfer_attended/xfer_abbcac.json"}) {
        auto evs = mapped(cacofonisk(f));
        all.insert(all.end(), evs.begin(), evs.end());
    }
    std::mt19937 rng(42);
    for (int round = 0; round < 50; ++round) {
        CAPTURE(round);
        auto evs = all;
        std::shuffle(evs.begin(), evs.end(), rng);
        evs.resize(evs.size() * static_cast<std::size_t>(1 + round % 4) / 4);
        evs.insert(evs.end(), evs.begin(), evs.begin() + static_cast<std::ptrdiff_t>(evs.size() / 3));  // replays
        CallTracker t;
        std::map<std::string, int> started, ended;
        auto count = [&](const std::vector<Effect>& out) {
            for (const auto& eff : out) {
                if (auto* x = std::get_if<effect::CallStarted>(&eff)) ++started[x->call.id.value()];
                if (auto* x = std::get_if<effect::Ended>(&eff)) ++ended[x->call.id.value()];
            }
        };
        for (const auto& e : evs) REQUIRE_NOTHROW(count(t.on_event(e)));
        count(t.on_event(ev(0, pbx::ResyncBegin{})));
        count(t.on_event(ev(0, pbx::ResyncEnd{})));
        CHECK(t.active_calls() == 0);
        for (const auto& [id, n] : ended) CHECK(n <= started[id]);
    }
}

namespace {

/// One AMI message from header pairs, in order.
ami::Message amsg(std::vector<std::pair<std::string, std::string>> fields) {
    ami::Message m;
    for (auto& [k, v] : fields) m.fields.push_back({k, v});
    return m;
}

/// The channel snapshot Asterisk 12+ writes, under a key prefix.
std::vector<std::pair<std::string, std::string>> snap(const std::string& prefix, const std::string& channel,
                                                      const std::string& uid, const std::string& linkedid, int state,
                                                      const std::string& cid, const std::string& exten) {
    return {{prefix + "Channel", channel},          {prefix + "ChannelState", std::to_string(state)},
            {prefix + "CallerIDNum", cid},          {prefix + "CallerIDName", "<unknown>"},
            {prefix + "ConnectedLineNum", "<unknown>"}, {prefix + "ConnectedLineName", "<unknown>"},
            {prefix + "Context", "from-internal"},  {prefix + "Exten", exten},
            {prefix + "Uniqueid", uid},             {prefix + "Linkedid", linkedid}};
}

ami::Message event(const std::string& name, std::vector<std::pair<std::string, std::string>> body) {
    body.insert(body.begin(), {"Event", name});
    return amsg(std::move(body));
}

ami::Message with(ami::Message m, const std::vector<std::pair<std::string, std::string>>& more) {
    for (const auto& [k, v] : more) m.fields.push_back({k, v});
    return m;
}

/// A Dial event's fields: the caller's channel as is, the callee's as Dest*.
std::vector<std::pair<std::string, std::string>> dial(const std::vector<std::pair<std::string, std::string>>& from,
                                                      const std::vector<std::pair<std::string, std::string>>& to) {
    auto b = from;
    for (auto [k, v] : to) b.push_back({"Dest" + k, v});
    return b;
}

/// The start both consultation scripts share: the customer's trunk channel
/// (Linkedid L1) dials alice's first channel, she answers and both enter bridge b1.
std::vector<std::pair<int, ami::Message>> alice_answers(const std::string& T, const std::string& A1,
                                                        const std::string& L1) {
    auto trunk = [&](int st) { return snap("", T, L1, L1, st, "09121234567", "500"); };
    auto alice1 = [&](int st) { return snap("", A1, "1700000000.2", L1, st, "1001", "s"); };
    return {
        {0, event("Newchannel", trunk(4))},
        {1, event("Newchannel", alice1(0))},
        {2, with(event("DialBegin", dial(trunk(4), alice1(0))), {{"DialString", "1001"}})},
        {3, event("Newstate", alice1(5))},
        {4, event("Newstate", alice1(6))},
        {5, with(event("DialEnd", dial(trunk(4), alice1(6))), {{"DialStatus", "ANSWER"}})},
        {6, event("Newstate", trunk(6))},
        {6, with(event("BridgeEnter", trunk(6)), {{"BridgeUniqueid", "b1"}})},
        {6, with(event("BridgeEnter", alice1(6)), {{"BridgeUniqueid", "b1"}})},
    };
}

/// A customer (0912 123 4567) calls 500; alice (1001) answers, then calls bob
/// (1002) from her phone on a second call (its own Linkedid) and transfers.
/// attended: bob answers the consultation first; blonde: alice completes the
/// transfer while bob's phone still rings.
///
/// Hand-written, not captured: the AMI Asterisk 13+ sends as we know it.
/// Blonde: AttendedTransfer with DestType App (DestApp Dial: the
/// consultation channel is still dialling), Transferee the customer's
/// channel and TransferTarget the consultation channel that runs Dial; bob's
/// phone answers after it. Attended: DestType Bridge, TransferTarget bob's
/// channel. Times: seconds from the customer's Newchannel.
std::vector<std::pair<int, ami::Message>> consult_transfer(bool blonde) {
    const std::string L1 = "1700000000.1", L2 = "1700000000.3";
    const std::string T = "SIP/trunk-00000001", A1 = "SIP/1001-00000002", A2 = "SIP/1001-00000003",
                      C = "SIP/1002-00000004";
    auto trunk = [&](int st) { return snap("", T, L1, L1, st, "09121234567", "500"); };
    auto alice1 = [&](int st) { return snap("", A1, "1700000000.2", L1, st, "1001", "s"); };
    auto alice2 = [&](int st) { return snap("", A2, L2, L2, st, "1001", "1002"); };
    auto bob = [&](int st) { return snap("", C, "1700000000.4", L2, st, "1002", "s"); };
    auto s = alice_answers(T, A1, L1);
    s.insert(s.end(), {
        {7, event("Newchannel", alice2(4))},
        {8, event("Newchannel", bob(0))},
        {9, with(event("DialBegin", dial(alice2(4), bob(0))), {{"DialString", "1002"}})},
        {10, event("Newstate", bob(5))},
    });
    auto xfer = [&](const std::string& dest_type, const std::string& target_uid) {
        return event("AttendedTransfer",
                     {{"Result", "Success"}, {"DestType", dest_type}, {"DestApp", dest_type == "App" ? "Dial" : ""},
                      {"OrigTransfererUniqueid", "1700000000.2"}, {"OrigBridgeUniqueid", "b1"},
                      {"SecondTransfererUniqueid", L2}, {"SecondBridgeUniqueid", blonde ? "" : "b2"},
                      {"TransfereeUniqueid", L1}, {"TransferTargetUniqueid", target_uid}});
    };
    if (blonde) {
        s.push_back({11, xfer("App", L2)});
        s.push_back({12, with(event("Hangup", alice1(6)), {{"Cause", "16"}})});
        s.push_back({13, event("Newstate", bob(6))});
        s.push_back({14, with(event("DialEnd", dial(alice2(4), bob(6))), {{"DialStatus", "ANSWER"}})});
    } else {
        s.push_back({11, event("Newstate", bob(6))});
        s.push_back({12, with(event("DialEnd", dial(alice2(4), bob(6))), {{"DialStatus", "ANSWER"}})});
        s.push_back({13, event("Newstate", alice2(6))});
        s.push_back({13, with(event("BridgeEnter", alice2(6)), {{"BridgeUniqueid", "b2"}})});
        s.push_back({13, with(event("BridgeEnter", bob(6)), {{"BridgeUniqueid", "b2"}})});
        s.push_back({14, xfer("Bridge", "1700000000.4")});
        s.push_back({15, with(event("Hangup", alice2(6)), {{"Cause", "16"}})});
        s.push_back({16, with(event("Hangup", alice1(6)), {{"Cause", "16"}})});
    }
    s.push_back({40, with(event("Hangup", bob(6)), {{"Cause", "16"}})});
    if (blonde) s.push_back({41, with(event("Hangup", alice2(6)), {{"Cause", "16"}})});
    s.push_back({42, with(event("Hangup", trunk(6)), {{"Cause", "16"}})});
    return s;
}

struct TransferCase {
    std::string name;
    bool blonde;
    std::int64_t alice_talk, bob_talk;
};

}  // namespace

TEST_CASE("attended and blonde transfers of a customer's call: the target pops with the customer and who transferred") {
    for (const auto& tc : {TransferCase{"attended", false, 12, 29}, TransferCase{"blonde", true, 8, 27}}) {
        CAPTURE(tc.name);
        TempDir dir;
        Env e(dir.path() / "ringside.db", "IR");
        e.add_user(make_user("alice", Role::agent, "1001"));
        e.add_user(make_user("bob", Role::agent, "1002"));
        Customer c;
        c.name = "Sara Ahmadi";
        c.phones = {"+989121234567"};
        const auto cid = e.store.create_customer(c);
        ami::EventMapper mapper(PbxId("main"));
        for (auto& [sec, m] : consult_transfer(tc.blonde))
            for (auto& ev : mapper.map(m, at_s(sec))) e.svc.on_pbx_event(ev);

        CHECK(e.sink.lines() == Strings{"alice call.ringing", "alice call.answered", "bob call.ringing by=alice",
                                        "bob call.answered", "bob call.ended"});
        const auto pop = e.sink.of_type("call.ringing").at(1).msg;
        CHECK(pop["call"]["id"] == "main-1700000000.1");
        CHECK(pop["call"]["from"] == "+989121234567");
        CHECK(pop["call"]["direction"] == "inbound");
        CHECK(pop["customer"]["id"] == cid);
        CHECK(pop["transferred_by"] == "alice");

        const auto calls = e.store.list_calls(CallFilter{});
        REQUIRE(calls.size() == 1);  // the consultation call is not logged on its own
        const auto& r = calls[0];
        CHECK(r.id == CallId("main-1700000000.1"));
        CHECK(r.status == CallStatus::answered);
        CHECK(r.agent == AgentId("bob"));
        CHECK(r.customer_id == cid);
        CHECK(r.wait_seconds == 4);
        CHECK(r.talk_seconds == 38);
        REQUIRE(r.legs.size() == 2);
        CHECK(r.legs[0].agent == AgentId("alice"));
        CHECK(r.legs[0].talk_seconds == tc.alice_talk);
        CHECK(!r.legs[0].transferred_by);
        CHECK(r.legs[1].agent == AgentId("bob"));
        CHECK(r.legs[1].talk_seconds == tc.bob_talk);
        CHECK(r.legs[1].transferred_by == AgentId("alice"));
        CHECK(r.legs[1].rang_at == at_s(9));  // the DialBegin to bob's phone
        auto ctx = e.store.customer_context(cid);
        REQUIRE(ctx);
        CHECK(ctx->recent_interactions.size() == 1);  // one call in the customer's history
        CHECK(ctx->recent_interactions[0].agent == AgentId("bob"));
        CHECK(e.svc.stats().active_calls == 0);
        CHECK(e.store.open_calls(PbxId("main")).empty());
    }
}

TEST_CASE("AMI HangupRequest names the party that hung up; SoftHangupRequest first means Asterisk ended the call") {
    // ab_success_a_hangup with a request inserted before the first Hangup of
    // a phone: the request decides, whatever order the Hangups then come in.
    const auto msgs = cacofonisk("simple/ab_success_a_hangup.json");
    std::size_t first_hangup = 0;
    for (std::size_t i = 0; i < msgs.size() && !first_hangup; ++i)
        if (msgs[i].event() == "Hangup" && msgs[i].get("Channel").starts_with("SIP/")) first_hangup = i;
    REQUIRE(first_hangup == 45);
    struct Case {
        const char* event;
        const char* uniqueid;
        std::optional<HangupBy> side;
        std::string ext;
    };
    for (const auto& c : {Case{"HangupRequest", "195176c06ab8-1529936170.50", HangupBy::agent, "150010002"},
                          Case{"HangupRequest", "195176c06ab8-1529936170.42", HangupBy::caller, ""},
                          Case{"SoftHangupRequest", "195176c06ab8-1529936170.42", HangupBy::system, ""}}) {
        CAPTURE(c.event);
        CAPTURE(c.uniqueid);
        auto with = msgs;
        with.insert(with.begin() + static_cast<std::ptrdiff_t>(first_hangup),
                    amsg({{"Event", c.event}, {"Channel", "SIP/x"}, {"Uniqueid", c.uniqueid}, {"Cause", "16"}}));
        CallTracker t;
        std::vector<effect::Ended> ends;
        for (const auto& e : mapped(with))
            for (const auto& eff : t.on_event(e))
                if (auto* x = std::get_if<effect::Ended>(&eff)) ends.push_back(*x);
        REQUIRE(ends.size() == 1);
        CHECK(ends[0].hangup_by == c.side);
        CHECK(ends[0].hangup_ext.value_or(Extension("")).value() == c.ext);
    }
}

namespace {

/// A blonde transfer to a ring group, Asterisk 13 event shapes (as
/// consult_transfer): the customer (0912 123 4567) calls 500, alice (1001)
/// answers, calls the group from her phone on a second call (its own
/// Linkedid) that rings bob (1002) and carol (1003), and completes the
/// transfer while both still ring (AttendedTransfer DestType App, DestApp
/// Dial), then hangs up. `answerer`: the group phone that answers
/// ("" none: the customer gives up while the group rings).
std::vector<std::pair<int, ami::Message>> blonde_to_group(const std::string& answerer) {
    const std::string L1 = "1700000000.1", L2 = "1700000000.3";
    const std::string T = "SIP/trunk-00000001", A1 = "SIP/1001-00000002", A2 = "SIP/1001-00000003";
    auto trunk = [&](int st) { return snap("", T, L1, L1, st, "09121234567", "500"); };
    auto alice1 = [&](int st) { return snap("", A1, "1700000000.2", L1, st, "1001", "s"); };
    auto alice2 = [&](int st) { return snap("", A2, L2, L2, st, "1001", "600"); };
    auto phone = [&](const std::string& ext, int st) {
        const std::string uid = ext == "1002" ? "1700000000.4" : "1700000000.5";
        return snap("", "SIP/" + ext + (ext == "1002" ? "-00000004" : "-00000005"), uid, L2, st, ext, "s");
    };
    auto s = alice_answers(T, A1, L1);
    s.insert(s.end(), {
        {7, event("Newchannel", alice2(4))},
    });
    for (const std::string ext : {"1002", "1003"}) {
        s.push_back({8, event("Newchannel", phone(ext, 0))});
        s.push_back({9, with(event("DialBegin", dial(alice2(4), phone(ext, 0))), {{"DialString", ext}})});
        s.push_back({10, event("Newstate", phone(ext, 5))});
    }
    s.push_back({11, event("AttendedTransfer",
                           {{"Result", "Success"}, {"DestType", "App"}, {"DestApp", "Dial"},
                            {"OrigTransfererUniqueid", "1700000000.2"}, {"OrigBridgeUniqueid", "b1"},
                            {"SecondTransfererUniqueid", L2}, {"SecondBridgeUniqueid", ""},
                            {"TransfereeUniqueid", L1}, {"TransferTargetUniqueid", L2}})});
    s.push_back({12, with(event("Hangup", alice1(6)), {{"Cause", "16"}})});
    if (!answerer.empty()) {
        const std::string other = answerer == "1002" ? "1003" : "1002";
        s.push_back({14, event("Newstate", phone(answerer, 6))});
        s.push_back({14, with(event("DialEnd", dial(alice2(4), phone(answerer, 6))), {{"DialStatus", "ANSWER"}})});
        s.push_back({14, with(event("DialEnd", dial(alice2(4), phone(other, 5))), {{"DialStatus", "CANCEL"}})});
        s.push_back({14, with(event("Hangup", phone(other, 5)), {{"Cause", "26"}})});
        s.push_back({40, with(event("Hangup", phone(answerer, 6)), {{"Cause", "16"}})});
        s.push_back({41, with(event("Hangup", alice2(6)), {{"Cause", "16"}})});
        s.push_back({42, with(event("Hangup", trunk(6)), {{"Cause", "16"}})});
    } else {
        s.push_back({20, with(event("Hangup", trunk(6)), {{"Cause", "16"}})});
        for (const std::string ext : {"1002", "1003"}) {
            s.push_back({20, with(event("DialEnd", dial(alice2(4), phone(ext, 5))), {{"DialStatus", "CANCEL"}})});
            s.push_back({20, with(event("Hangup", phone(ext, 5)), {{"Cause", "16"}})});
        }
        s.push_back({20, with(event("Hangup", alice2(6)), {{"Cause", "16"}})});
    }
    return s;
}

}  // namespace

TEST_CASE("a blonde transfer to a ring group: each ringing colleague pops with the customer, the others are withdrawn") {
    struct Row {
        std::string name;
        std::string answerer;
        Strings sent;
        std::optional<std::string> agent;
        CallStatus status;
    };
    const std::vector<Row> rows = {
        {"carol answers", "1003",
         {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "carol call.ringing by=alice",
          "carol call.answered", "bob call.retracted answered_elsewhere", "carol call.ended"},
         "carol", CallStatus::answered},
        {"bob answers", "1002",
         {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "carol call.ringing by=alice",
          "bob call.answered", "carol call.retracted answered_elsewhere", "bob call.ended"},
         "bob", CallStatus::answered},
        {"the customer gives up while the group rings", "",
         {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "carol call.ringing by=alice",
          "bob call.retracted caller_hung_up", "carol call.retracted caller_hung_up", "alice call.ended"},
         "alice", CallStatus::answered},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        TempDir dir;
        Env e(dir.path() / "ringside.db", "IR");
        e.add_user(make_user("alice", Role::agent, "1001"));
        e.add_user(make_user("bob", Role::agent, "1002"));
        e.add_user(make_user("carol", Role::agent, "1003"));
        const auto cid = e.add_customer("Sara Ahmadi", "+989121234567");
        ami::EventMapper mapper(PbxId("main"));
        for (auto& [sec, m] : blonde_to_group(row.answerer))
            for (auto& ev : mapper.map(m, at_s(sec))) e.svc.on_pbx_event(ev);
        CHECK(e.sink.lines() == row.sent);
        if (e.sink.lines() != row.sent)
            for (const auto& l : e.sink.lines()) MESSAGE(l);
        for (const auto& p : e.sink.of_type("call.ringing")) {
            CHECK(p.msg["call"]["id"] == "main-1700000000.1");
            CHECK(p.msg["call"]["from"] == "+989121234567");
            CHECK(p.msg["customer"]["id"] == cid);
        }
        const auto calls = e.store.list_calls(CallFilter{});
        REQUIRE(calls.size() == 1);  // the consultation call lives on in the customer's call
        CHECK(calls[0].id == CallId("main-1700000000.1"));
        CHECK(calls[0].agent == agent_id(row.agent));
        CHECK(calls[0].status == row.status);
        CHECK(calls[0].customer_id == cid);
        CHECK(e.svc.stats().active_calls == 0);
        CHECK(e.store.open_calls(PbxId("main")).empty());
    }
}

namespace {

struct BlondeRow {
    std::string name;
    ami_blonde::Plan plan;
    Strings sent;                              // what each agent was sent, in order
    std::string agent;                         // the record's agent: the last to answer
    std::vector<std::string> legs;             // the record's legs: agent, in the order their phones rang
    std::optional<std::string> stop_detail = std::nullopt;  // the retraction's detail for a target who did not take the call
};

}  // namespace

TEST_CASE("a blonde transfer as Asterisk 13 sends it: the target pops with the customer, the group is withdrawn, one record") {
    // ami_blonde.hpp: AttendedTransfer DestType App with no target named,
    // then DialEnd NOANSWER from the consultation channel and a DialBegin
    // from the customer's channel to each phone still ringing.
    using ami_blonde::Ending;
    const Strings start = {"alice call.ringing", "alice call.answered"};
    auto with_start = [&](Strings more) {
        Strings s = start;
        s.insert(s.end(), more.begin(), more.end());
        return s;
    };
    const std::vector<BlondeRow> rows = {
        {"to bob, who answers", {{"1002"}, Ending::answered, "1002"},
         with_start({"bob call.ringing by=alice", "bob call.answered", "bob call.ended"}),
         "bob", {"alice", "bob"}},
        {"to the group, carol answers", {{"1002", "1003"}, Ending::answered, "1003"},
         with_start({"bob call.ringing by=alice", "carol call.ringing by=alice", "carol call.answered",
                     "bob call.retracted answered_elsewhere", "carol call.ended"}),
         "carol", {"alice", "bob", "carol"}},
        {"to the group, bob answers", {{"1002", "1003"}, Ending::answered, "1002"},
         with_start({"bob call.ringing by=alice", "carol call.ringing by=alice", "bob call.answered",
                     "carol call.retracted answered_elsewhere", "bob call.ended"}),
         "bob", {"alice", "bob", "carol"}},
        {"to bob, who rejects it", {{"1002"}, Ending::rejected},
         with_start({"bob call.ringing by=alice", "bob call.retracted caller_hung_up", "alice call.ended"}),
         "alice", {"alice", "bob"}, "busy"},
        {"to bob, who does not answer", {{"1002"}, Ending::no_answer},
         with_start({"bob call.ringing by=alice", "bob call.retracted caller_hung_up", "alice call.ended"}),
         "alice", {"alice", "bob"}, "no_answer"},
        {"through the queue, to bob, who answers", {{"1002"}, Ending::answered, "1002", true},
         with_start({"bob call.ringing by=alice", "bob call.answered", "bob call.ended"}),
         "bob", {"alice", "bob"}},
        {"a withheld caller, to bob, who answers", {{"1002"}, Ending::answered, "1002", false, true},
         with_start({"bob call.ringing by=alice", "bob call.answered", "bob call.ended"}),
         "bob", {"alice", "bob"}},
        {"to the group, the hand-over before the AttendedTransfer, carol answers",
         {{"1002", "1003"}, Ending::answered, "1003", false, false, true},
         with_start({"bob call.ringing by=alice", "carol call.ringing by=alice", "carol call.answered",
                     "bob call.retracted answered_elsewhere", "carol call.ended"}),
         "carol", {"alice", "bob", "carol"}},
        {"to bob, the hand-over before the AttendedTransfer, nobody answers",
         {{"1002"}, Ending::no_answer, "", false, false, true},
         with_start({"bob call.ringing by=alice", "bob call.retracted caller_hung_up", "alice call.ended"}),
         "alice", {"alice", "bob"}, "no_answer"},
        {"to the group, the customer hangs up while it rings", {{"1002", "1003"}, Ending::caller_hangs_up},
         with_start({"bob call.ringing by=alice", "carol call.ringing by=alice", "bob call.retracted caller_hung_up",
                     "carol call.retracted caller_hung_up", "alice call.ended"}),
         "alice", {"alice", "bob", "carol"}, "caller_hung_up"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        TempDir dir;
        Env e(dir.path() / "ringside.db", "IR");
        e.add_user(make_user("alice", Role::agent, "1001"));
        e.add_user(make_user("bob", Role::agent, "1002"));
        e.add_user(make_user("carol", Role::agent, "1003"));
        const auto cid = e.add_customer("Sara Ahmadi", "+989121234567");
        ami::EventMapper mapper(PbxId("main"));
        for (const auto& f : ami_blonde::blonde_transfer(row.plan))
            for (auto& ev : mapper.map(amsg(f.fields), at_s(f.at))) e.svc.on_pbx_event(ev);

        CHECK(e.sink.lines() == row.sent);
        if (e.sink.lines() != row.sent)
            for (const auto& l : e.sink.lines()) MESSAGE(l);
        const bool anon = row.plan.withheld;  // never shown, never matched: the target's card too
        for (const auto& p : e.sink.of_type("call.ringing")) {
            CHECK(p.msg["call"]["id"] == "main-1700000000.1");
            CHECK(p.msg["call"]["from"] == (anon ? "" : "+989121234567"));
            CHECK(p.msg["call"]["anonymous"] == anon);
            CHECK(p.msg["call"]["direction"] == "inbound");
            if (anon) CHECK(p.msg["customer"].is_null());
            else CHECK(p.msg["customer"]["id"] == cid);
            if (p.to != "alice") CHECK(p.msg["transferred_by"] == "alice");
        }
        for (const auto& p : e.sink.of_type("call.retracted")) {
            CHECK(p.msg["call"]["id"] == "main-1700000000.1");
            if (row.stop_detail) CHECK(p.msg["detail"] == *row.stop_detail);
        }

        const auto calls = e.store.list_calls(CallFilter{});
        REQUIRE(calls.size() == 1);  // the consultation call is merged, never logged on its own
        const auto& r = calls[0];
        CHECK(r.id == CallId("main-1700000000.1"));
        CHECK(r.direction == Direction::inbound);
        CHECK(r.status == CallStatus::answered);
        CHECK(r.agent == AgentId(row.agent));
        CHECK(r.customer_id == (anon ? std::nullopt : std::optional<std::int64_t>(cid)));
        if (anon) CHECK(r.from_raw.find("9121234567") == std::string::npos);  // a number not to be presented is not kept
        CHECK(r.wait_seconds == 5);
        CHECK(r.queue == (row.plan.via_queue ? std::optional<std::string>("support") : std::nullopt));
        REQUIRE(r.legs.size() == row.legs.size());
        for (std::size_t i = 0; i < r.legs.size(); ++i) {
            CAPTURE(i);
            CHECK(r.legs[i].agent == AgentId(row.legs[i]));
            if (i > 0) {
                CHECK(r.legs[i].transferred_by == AgentId("alice"));
                CHECK(r.legs[i].rang_at == at_s(8));  // the consultation call's DialBegin
            }
        }
        CHECK(r.legs[0].talk_seconds == (row.plan.ending == Ending::rejected ? 6 : 7));  // alice until her hang-up
        for (std::size_t i = 1; i < r.legs.size(); ++i)
            CHECK(r.legs[i].talk_seconds == (r.legs[i].agent == AgentId(row.agent) ? 25 : 0));
        auto ctx = e.store.customer_context(cid);
        REQUIRE(ctx);
        REQUIRE(ctx->recent_interactions.size() == (anon ? 0U : 1U));
        if (!anon) CHECK(ctx->recent_interactions[0].agent == AgentId(row.agent));
        CHECK(e.svc.stats().active_calls == 0);
        CHECK(e.store.open_calls(PbxId("main")).empty());
    }
}
