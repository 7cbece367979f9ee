// How calls flow past Ringside's SIP UAS (mode "uas": a proxy forks each
// agent's INVITE to Ringside too), table-driven like the AMI and ESL flows:
// SIP bytes into the real UAS, its events into the call service on a real
// SQLite file. For each: who got a pop, who got it withdrawn, who is logged,
// the final status and each leg's talk time (always 0 here: Ringside's fork
// never sees the conversation; `watch` mode does).
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>

#include "call_service_env.hpp"
#include "ringside/sip/parser.hpp"
#include "ringside/sip/grammar.hpp"
#include "ringside/sip/uas.hpp"
#include "ringside/sip/watcher.hpp"

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

// ---- Blonde transfers (REFER with Replaces before the target answers), as
// a forking proxy sends them to Ringside's contacts. RFC 5589 (call transfer)
// with RFC 3891 Replaces and RFC 3892 Referred-By: Sara calls 1001 (Call-ID
// flow-1); alice answers (her phone wins the fork: our branch is cancelled as
// completed elsewhere); alice calls the target (Call-ID flow-2, her tag
// alice2), which rings; while it rings she sends Sara a REFER whose Refer-To
// is <sip:TARGET@pbx?Replaces=flow-2%40pbx%3Bto-tag%3D...%3Bfrom-tag%3Dalice2>;
// Sara's phone sends a new INVITE (Call-ID flow-3) with `Referred-By: alice`
// and `Replaces: flow-2;to-tag=<the target phone's tag>;from-tag=alice2`,
// which the proxy forks to the target's contacts, ours among them; then
// alice's consultation INVITE is cancelled.

/// One request of a call: `call` is the Call-ID's local part, `from` the From header's name-addr with its tag.
std::string call_request(const std::string& method, const std::string& ext, const std::string& branch,
                         const std::string& call, const std::string& from, const std::string& extra = "") {
    return method + " sip:" + ext + "@10.0.0.9 SIP/2.0\r\n"
           "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=" + branch + "\r\n"
           "Max-Forwards: 70\r\n"
           "From: " + from + "\r\n"
           "To: <sip:" + ext + "@10.0.0.1>\r\n"
           "Call-ID: " + call + "@10.0.0.1\r\n"
           "CSeq: 1 " + method + "\r\n" +
           (method == "INVITE" ? "Contact: <sip:" + ext + "@10.0.0.1:5070>\r\n" : "") + extra +
           "Content-Length: 0\r\n\r\n";
}
const std::string sara_from = "\"Sara\" <sip:09121234567@10.0.0.1>;tag=sara1";
const std::string sara_from2 = "\"Sara\" <sip:09121234567@10.0.0.1>;tag=sara2";
const std::string alice_from = "\"Alice\" <sip:1001@10.0.0.1>;tag=alice2";
const std::string transferee_headers = "Referred-By: \"Alice\" <sip:1001@10.0.0.1>\r\n"
                                       "Replaces: flow-2@10.0.0.1;to-tag=bobphone7;from-tag=alice2\r\n";

enum class BlondeEnd { answered, caller_hangs_up };

struct BlondeRow {
    std::string name;
    Strings targets;                 // the phones alice's consultation call rings
    Strings refer_to;                // the forks of Sara's INVITE with Replaces (the target's AOR)
    BlondeEnd ending;
    std::string answerer = {};       // BlondeEnd::answered
    Strings sent = {};
    Strings legs = {};               // the transferred call's legs, in the order they rang
};

void play_blonde(Flow& f, const BlondeRow& row) {
    f.feed(call_request("INVITE", "1001", "z9hG4bK-c1", "flow-1", sara_from));
    f.wait(3s);
    f.feed(call_request("CANCEL", "1001", "z9hG4bK-c1", "flow-1", sara_from, elsewhere));
    f.wait(10s);
    for (const auto& t : row.targets) f.feed(call_request("INVITE", t, "z9hG4bK-k" + t, "flow-2", alice_from));
    f.wait(4s);
    for (const auto& t : row.refer_to)
        f.feed(call_request("INVITE", t, "z9hG4bK-x" + t, "flow-3", sara_from2, transferee_headers));
    // The REFER's NOTIFY tells alice's phone that the new INVITE went out: it cancels the consultation.
    for (const auto& t : row.targets) f.feed(call_request("CANCEL", t, "z9hG4bK-k" + t, "flow-2", alice_from));
    f.wait(5s);
    auto last = [&](const std::string& t) {
        return std::find(row.refer_to.begin(), row.refer_to.end(), t) != row.refer_to.end();
    };
    if (row.ending == BlondeEnd::answered) {
        f.feed(call_request("CANCEL", row.answerer, "z9hG4bK-x" + row.answerer, "flow-3", sara_from2, elsewhere));
        for (const auto& t : row.refer_to)
            if (t != row.answerer)
                f.feed(call_request("CANCEL", t, "z9hG4bK-x" + t, "flow-3", sara_from2, elsewhere));
    } else {
        for (const auto& t : row.refer_to)
            if (last(t)) f.feed(call_request("CANCEL", t, "z9hG4bK-x" + t, "flow-3", sara_from2));
    }
}

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

TEST_CASE("SIP UAS blonde transfers: the target pops with the customer and who transferred; the consultation is merged") {
    const Strings alice_first = {"alice call.ringing", "alice call.answered", "alice call.ended"};
    auto with_first = [&](Strings more) {
        Strings v = alice_first;
        v.insert(v.end(), more.begin(), more.end());
        return v;
    };
    const std::vector<BlondeRow> rows = {
        {"to bob, who answers", {"1002"}, {"1002"}, BlondeEnd::answered, "1002",
         with_first({"bob call.ringing by=alice", "bob call.answered", "bob call.ended"}),
         {"bob"}},
        {"to the group of bob and carol, Sara's INVITE reaches bob only: carol is withdrawn",
         {"1002", "1003"}, {"1002"}, BlondeEnd::answered, "1002",
         with_first({"bob call.ringing by=alice", "carol call.ringing by=alice",
                     "carol call.retracted caller_hung_up", "bob call.answered", "bob call.ended"}),
         {"bob", "carol"}},
        {"to the group, Sara's INVITE forked to both: carol answers, bob is withdrawn",
         {"1002", "1003"}, {"1002", "1003"}, BlondeEnd::answered, "1003",
         with_first({"bob call.ringing by=alice", "carol call.ringing by=alice", "carol call.answered",
                     "bob call.retracted answered_elsewhere", "carol call.ended"}),
         {"bob", "carol"}},
        {"to bob, Sara hangs up while bob still rings", {"1002"}, {"1002"}, BlondeEnd::caller_hangs_up, "",
         with_first({"bob call.ringing by=alice", "bob call.retracted caller_hung_up"}),
         {"bob"}},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        TwoAgents t;
        auto& e = t.env;
        e.add_user(make_user("carol", Role::agent, "1003"));
        Flow f{e};
        play_blonde(f, row);

        check_sent(e.sink, row.sent);
        for (const auto& p : e.sink.of_type("call.ringing")) {
            if (p.to == "alice") continue;  // Sara's first call
            CHECK(p.msg["call"]["id"] == "pbx-flow-3_10.0.0.1");
            CHECK(p.msg["call"]["from"] == sara_number);
            CHECK(p.msg["customer"]["id"] == t.customer);
            CHECK(p.msg["transferred_by"] == "alice");
        }
        // alice's consultation call is internal (from her phone's extension): it popped nobody.
        for (const auto& r : e.sink.of_type("call.retracted")) CHECK(r.msg.value("detail", "") != "merged");
        // The consultation call is merged, never logged; Sara's first call
        // (alice's, over once her phone won the fork) and the transferred call are.
        const auto stored = e.store.list_calls(CallFilter{});
        REQUIRE(stored.size() == 2);
        CHECK(e.svc.stats().active_calls == 0);
        CHECK(e.svc.stats().calls_merged == 1);
        auto rec = e.store.find_call(CallId("pbx-flow-3_10.0.0.1"));
        REQUIRE(rec);
        CHECK(rec->direction == Direction::inbound);
        CHECK(rec->customer_id == t.customer);
        if (row.ending == BlondeEnd::answered) {
            CHECK(rec->status == CallStatus::answered);
            CHECK(rec->agent == AgentId(row.answerer == "1002" ? "bob" : "carol"));
        } else {
            CHECK(rec->status == CallStatus::missed);
            CHECK(!rec->agent);
        }
        REQUIRE(rec->legs.size() == row.legs.size());
        for (std::size_t i = 0; i < row.legs.size(); ++i) {
            CAPTURE(i);
            CHECK(rec->legs[i].agent == AgentId(row.legs[i]));
            CHECK(rec->legs[i].transferred_by == AgentId("alice"));
        }
        auto first = e.store.find_call(CallId("pbx-flow-1_10.0.0.1"));
        REQUIRE(first);
        CHECK(first->agent == AgentId("alice"));
    }
}

// ---- The same blonde transfer seen in mode watch (RFC 4235 dialog state of
// each agent's phone): the new dialog at the target's phone carries
// <replaces> (the consultation dialog it takes over) and <referred-by>.
// While alice's own dialog with Sara is still up, the transferred ring
// continues that call: one record.

namespace {

struct WatchFlow {
    Env& env;
    Watcher w{PbxId{"pbx"}, WatcherConfig{.extensions = {"1001", "1002", "1003"}, .server = "10.0.0.1:5060",
                                          .domain = "", .local = "10.0.0.9:5080", .transport = "UDP",
                                          .expires = 600s, .retry_after = 30s, .seed = 5}};
    std::chrono::steady_clock::time_point now{};
    Timestamp wall{};
    std::map<std::string, Message> subs;  // ext -> its SUBSCRIBE
    std::uint64_t version = 1;

    explicit WatchFlow(Env& e) : env(e) {
        for (const auto& req : w.start(now).requests) {
            auto m = std::get<Message>(parse_datagram(req));
            const auto ext = uri_user(m.uri);
            deliver(w.on_item(parse_datagram(answer(m)), 1, now, wall));
            subs.emplace(ext, std::move(m));
        }
    }
    static std::string answer(const Message& m) {
        return "SIP/2.0 200 OK\r\nVia: " + std::string(m.get("via")) + "\r\nFrom: " + std::string(m.get("from")) +
               "\r\nTo: " + std::string(m.get("to")) + ";tag=srv-" + uri_user(m.uri) + "\r\nCall-ID: " +
               std::string(m.get("call-id")) + "\r\nCSeq: " + std::string(m.get("cseq")) +
               "\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n";
    }
    void deliver(const WatcherOutput& out) {
        for (const auto& ev : out.events) env.svc.on_pbx_event(ev);
    }
    void wait(std::chrono::seconds s) {
        now += s;
        wall += s;
    }
    /// A partial NOTIFY for `ext` with one dialog.
    void dialog(const std::string& ext, const std::string& id, const std::string& call_id, const std::string& state,
                const std::string& remote, const std::string& extra = "", const std::string& state_attrs = "",
                const std::string& direction = "recipient") {
        const auto& m = subs.at(ext);
        const std::string body =
            "<?xml version=\"1.0\"?>\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"" +
            std::to_string(version++) + "\" state=\"partial\" entity=\"sip:" + ext + "@10.0.0.1\">"
            "<dialog id=\"" + id + "\" call-id=\"" + call_id + "\" direction=\"" + direction + "\"><state" +
            state_attrs + ">" + state + "</state>" + extra + "<remote><identity>" + remote +
            "</identity></remote></dialog></dialog-info>";
        const std::string notify =
            "NOTIFY sip:ringside@10.0.0.9:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKw" +
            std::to_string(version) + "\r\nFrom: " + std::string(m.get("to")) + ";tag=srv-" + ext + "\r\nTo: " +
            std::string(m.get("from")) + "\r\nCall-ID: " + std::string(m.get("call-id")) + "\r\nCSeq: " +
            std::to_string(version) + " NOTIFY\r\nEvent: dialog\r\nSubscription-State: active;expires=600\r\n"
            "Content-Type: application/dialog-info+xml\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body;
        deliver(w.on_item(parse_datagram(notify), 1, now, wall));
    }
};

const std::string sara_uri = "sip:09121234567@10.0.0.1";
const std::string alice_uri = "sip:1001@10.0.0.1";
const std::string replaced_consultation = "<replaces call-id=\"flow-2\" local-tag=\"bobphone7\" remote-tag=\"alice2\"/>"
                                          "<referred-by display=\"Alice\">sip:1001@10.0.0.1</referred-by>";

}  // namespace

TEST_CASE("SIP watch blonde transfers: the target's dialog replacing the consultation continues the customer's call") {
    struct Row {
        std::string name;
        bool group;          // alice dials the group (bob and carol) instead of bob
        bool sara_hangs_up;  // while bob still rings
        Strings sent;
        std::optional<std::string> agent;
        std::vector<LegTalk> legs;
    };
    const std::vector<Row> rows = {
        {"to the group: bob's phone takes Sara's INVITE with Replaces and answers, carol is withdrawn", true, false,
         {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "carol call.ringing by=alice", "carol call.retracted caller_hung_up", "bob call.answered",
          "bob call.ended"},
         "bob", {{"alice", 15}, {"bob", 20}, {"carol", 0}}},
        {"to bob: Sara hangs up while bob still rings", false, true,
         {"alice call.ringing", "alice call.answered", "bob call.ringing by=alice", "bob call.retracted caller_hung_up",
          "alice call.ended"},
         "alice", {{"alice", 15}, {"bob", 0}}},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        TwoAgents t;
        auto& e = t.env;
        e.add_user(make_user("carol", Role::agent, "1003"));
        WatchFlow f{e};
        f.dialog("1001", "a1", "flow-1", "early", sara_uri);
        f.wait(3s);
        f.dialog("1001", "a1", "flow-1", "confirmed", sara_uri);
        f.wait(10s);
        f.dialog("1001", "a2", "flow-2", "trying", "sip:1002@10.0.0.1", "", "", "initiator");  // pops nothing
        f.dialog("1002", "b1", "flow-2", "early", alice_uri);
        if (row.group) f.dialog("1003", "k1", "flow-2", "early", alice_uri);
        f.wait(4s);
        f.dialog("1002", "b2", "flow-3", "early", sara_uri, replaced_consultation);
        f.dialog("1002", "b1", "flow-2", "terminated", alice_uri, "", " event=\"replaced\"");
        if (row.group) f.dialog("1003", "k1", "flow-2", "terminated", alice_uri, "", " event=\"cancelled\"");
        f.wait(1s);
        f.dialog("1001", "a1", "flow-1", "terminated", sara_uri, "", " event=\"local-bye\"");
        f.wait(4s);
        if (row.sara_hangs_up) {
            f.dialog("1002", "b2", "flow-3", "terminated", sara_uri, "", " event=\"cancelled\"");
        } else {
            f.dialog("1002", "b2", "flow-3", "confirmed", sara_uri);
            f.wait(20s);
            f.dialog("1002", "b2", "flow-3", "terminated", sara_uri, "", " event=\"remote-bye\"");
        }

        check_sent(e.sink, row.sent);
        for (const auto& p : e.sink.of_type("call.ringing")) {
            if (p.to == "alice") continue;
            CHECK(p.msg["call"]["id"] == "pbx-flow-1");
            CHECK(p.msg["call"]["from"] == sara_number);
            CHECK(p.msg["customer"]["id"] == t.customer);
            CHECK(p.msg["transferred_by"] == "alice");
        }
        const auto rec = only_call(e);  // the consultation is merged; flow-3 continues flow-1
        CHECK(rec.id == CallId("pbx-flow-1"));
        CHECK(rec.status == CallStatus::answered);
        CHECK(rec.agent == agent_id(row.agent));
        CHECK(rec.customer_id == t.customer);
        check_legs(rec, row.legs);
        for (std::size_t i = 1; i < rec.legs.size(); ++i) CHECK(rec.legs[i].transferred_by == AgentId("alice"));
        CHECK(e.svc.stats().calls_merged == 1);
    }
}

TEST_CASE("SIP UAS: a call from a phone no user owns is never an inbound customer call") {
    // Another tenant's phone 2001 (a caller id of fewer than 6 digits is a
    // phone of the PBX): to another phone nobody owns it is logged internal,
    // no pop, no match; to an agent's phone it pops as a call from 2001.
    struct Row {
        std::string name;
        std::string ext;
        Direction direction;
        std::optional<std::string> agent;
        Strings sent;
    };
    const std::vector<Row> rows = {
        {"to a phone nobody owns", "2002", Direction::internal, std::nullopt, {}},
        {"to alice's phone", "1001", Direction::inbound, "alice",
         {"alice call.ringing", "alice call.answered", "alice call.ended"}},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        TwoAgents t;
        auto& e = t.env;
        Flow f{e};
        const std::string tenant = "<sip:2001@10.0.0.1>;tag=tenant1";
        f.feed(call_request("INVITE", row.ext, "z9hG4bK-t1", "tenant-1", tenant));
        f.wait(4s);
        f.feed(call_request("CANCEL", row.ext, "z9hG4bK-t1", "tenant-1", tenant, elsewhere));
        check_sent(e.sink, row.sent);
        const auto rec = only_call(e);
        CHECK(rec.direction == row.direction);
        CHECK(rec.agent == agent_id(row.agent));
        CHECK(!rec.customer_id);
        if (!row.agent) CHECK(e.svc.stats().lookups == 0);
        for (const auto& p : e.sink.of_type("call.ringing")) CHECK(p.msg["customer"].is_null());
    }
}
