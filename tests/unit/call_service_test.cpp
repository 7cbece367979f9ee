// The call service on hand-built PBX events, with a real SQLite file: what
// each agent is sent, what is stored, restarts, dispositions.
#include <doctest/doctest.h>

#include "call_events.hpp"
#include "call_service_env.hpp"

using namespace ringside;
using namespace call_test;
using CS = pbx::ChannelState;
using Strings = std::vector<std::string>;

namespace {

const std::string L = "1700.1";
const std::string trunk = "SIP/trunk-00000001";
const CallId id1("main-1700.1");

void feed(Env& e, int sec, pbx::Payload p) { e.svc.on_pbx_event(ev(sec, std::move(p))); }

/// An external caller (0912 123 4567) on the trunk; phones 1001 and 1002 dialled at t=1.
void start_ringall(Env& e, const std::string& caller = "09121234567") {
    feed(e, 0, pbx::ChannelCreated{chan(L, L, trunk, caller, CS::ring, "500")});
    feed(e, 1, pbx::ChannelCreated{chan("1700.2", L, "SIP/1001-00000002")});
    feed(e, 1, pbx::ChannelCreated{chan("1700.3", L, "SIP/1002-00000003")});
    feed(e, 1, pbx::DialBegin{chan(L, L, trunk, caller, CS::ring), chan("1700.2", L, "SIP/1001-00000002"), "SIP/1001"});
    feed(e, 1, pbx::DialBegin{chan(L, L, trunk, caller, CS::ring), chan("1700.3", L, "SIP/1002-00000003"), "SIP/1002"});
}

void answer_1002_at(Env& e, int sec) { feed(e, sec, pbx::ChannelUpdated{chan("1700.3", L, "SIP/1002-00000003", "", CS::up)}); }

void hang_up_all(Env& e, int sec) {
    for (auto u : {"1700.2", "1700.3", "1700.1"}) feed(e, sec, pbx::Hangup{u, 16, ""});
}

struct Seeded {
    TempDir dir;
    Env env{dir.path() / "ringside.db"};
    std::int64_t customer = 0;
    std::int64_t issue = 0;
    Seeded() {
        env.add_user(make_user("alice", Role::agent, "1001"));
        env.add_user(make_user("bob", Role::agent, "1002"));
        env.add_user(make_user("carol", Role::agent, "1003"));
        env.add_user(make_user("sam", Role::supervisor, std::nullopt));
        Customer c;
        c.name = "Sara Ahmadi";
        c.tier = "gold";
        c.phones = {"+989121234567"};
        customer = env.store.create_customer(c);
        Issue i;
        i.customer_id = customer;
        i.title = "Refund not received";
        i.opened_at = at_s(-86400);
        issue = env.store.create_issue(i);
    }
};

}  // namespace

TEST_CASE("a known caller pops on the ringing agents only, with the customer and the open issue") {
    Seeded s;
    auto& e = s.env;
    feed(e, 0, pbx::ChannelCreated{chan(L, L, trunk, "09121234567", CS::ring, "500")});
    auto stored = e.store.find_call(id1);
    REQUIRE(stored);
    CHECK(stored->status == CallStatus::ringing);
    CHECK(e.sink.sent.empty());

    start_ringall(e);  // the second Newchannel of the trunk is ignored
    CHECK(e.sink.lines() == Strings{"alice call.ringing", "bob call.ringing"});
    const auto& pop = e.sink.sent[0].msg;
    CHECK(pop["call"]["id"] == "main-1700.1");
    CHECK(pop["call"]["from"] == "+989121234567");
    CHECK(pop["call"]["from_raw"] == "09121234567");
    CHECK(pop["call"]["direction"] == "inbound");
    CHECK(pop["call"]["to"] == "500");
    CHECK(pop["customer"]["id"] == s.customer);
    CHECK(pop["customer"]["name"] == "Sara Ahmadi");
    REQUIRE(pop["open_issues"].size() == 1);
    CHECK(pop["open_issues"][0]["id"] == s.issue);
    CHECK(pop["open_issues"][0]["title"] == "Refund not received");
    CHECK(pop["recent_interactions"].is_array());
    CHECK(e.svc.stats().lookups == 1);  // once per call, not per ring
    CHECK(e.svc.stats().lookup_hits == 1);
    CHECK(e.svc.stats().pops_sent == 2);
    CHECK(e.store.find_call(id1)->customer_id == s.customer);
}

TEST_CASE("an answer tells the answering agent, retracts the other pop, and the end goes to who took it") {
    Seeded s;
    auto& e = s.env;
    start_ringall(e);
    answer_1002_at(e, 5);
    auto rec = e.store.find_call(id1);
    REQUIRE(rec);
    CHECK(rec->status == CallStatus::answered);
    CHECK(rec->agent == AgentId("bob"));
    CHECK(rec->extension == Extension("1002"));
    CHECK(rec->answered_at == at_s(5));
    hang_up_all(e, 139);
    CHECK(e.sink.lines() == Strings{"alice call.ringing", "bob call.ringing", "bob call.answered",
                                    "alice call.retracted answered_elsewhere", "bob call.ended"});
    CHECK(e.sink.of_type("call.answered")[0].msg["agent"] == "bob");
    const auto ended = e.sink.of_type("call.ended").at(0).msg["call"];
    CHECK(ended["status"] == "answered");
    CHECK(ended["wait_seconds"] == 5);
    CHECK(ended["talk_seconds"] == 134);
    rec = e.store.find_call(id1);
    CHECK(rec->status == CallStatus::answered);
    CHECK(rec->ended_at == at_s(139));
    CHECK(rec->wait_seconds == 5);
    CHECK(rec->talk_seconds == 134);
    auto ctx = e.store.customer_context(s.customer);
    REQUIRE(ctx);
    REQUIRE(ctx->recent_interactions.size() == 1);
    const auto& h = ctx->recent_interactions[0];
    CHECK(h.summary == "Inbound call answered by bob, 2m 14s");
    CHECK(h.call_id == id1);
    CHECK(h.agent == AgentId("bob"));
    CHECK(h.summary.find("0912") == std::string::npos);
    CHECK(e.svc.stats().calls_started == 1);
    CHECK(e.svc.stats().calls_ended == 1);
    CHECK(e.svc.stats().active_calls == 0);
}

TEST_CASE("an unknown caller pops with customer null; a missed call is logged with its wait") {
    Seeded s;
    auto& e = s.env;
    start_ringall(e, "+44 20 7946 0000");
    const auto& pop = e.sink.sent.at(0).msg;
    CHECK(pop["customer"].is_null());
    CHECK(pop["open_issues"].empty());
    CHECK(pop["call"]["from"] == "+442079460000");
    CHECK(pop["call"]["from_raw"] == "+44 20 7946 0000");
    feed(e, 12, pbx::DialEnd{L, "1700.2", pbx::DialStatus::cancel});
    feed(e, 12, pbx::DialEnd{L, "1700.3", pbx::DialStatus::cancel});
    hang_up_all(e, 12);
    CHECK(e.sink.lines() == Strings{"alice call.ringing", "bob call.ringing", "alice call.retracted caller_hung_up",
                                    "bob call.retracted caller_hung_up"});
    auto rec = e.store.find_call(id1);
    CHECK(rec->status == CallStatus::missed);
    CHECK(rec->wait_seconds == 12);
    CHECK(rec->talk_seconds == 0);
    CHECK(!rec->agent);
    CHECK(e.svc.stats().lookup_hits == 0);
}

TEST_CASE("an extension with no enabled user gets no pop, but the call is still tracked and logged") {
    TempDir dir;
    Env e(dir.path() / "ringside.db");
    e.add_user(make_user("dave", Role::agent, "1001", /*disabled=*/true));
    start_ringall(e);
    answer_1002_at(e, 3);
    hang_up_all(e, 10);
    CHECK(e.sink.sent.empty());
    auto rec = e.store.find_call(id1);
    REQUIRE(rec);
    CHECK(rec->status == CallStatus::answered);
    CHECK(rec->extension == Extension("1002"));
    CHECK(!rec->agent);
    CHECK(rec->talk_seconds == 7);
}

TEST_CASE("a call between agents' phones is logged internal and not popped by default") {
    Seeded s;
    auto& e = s.env;
    const std::string I = "1900.1";
    feed(e, 0, pbx::ChannelCreated{chan(I, I, "SIP/1003-00000001", "1003", CS::ring, "1001")});
    feed(e, 0, pbx::ChannelCreated{chan("1900.2", I, "SIP/1001-00000002")});
    feed(e, 0, pbx::DialBegin{chan(I, I, "SIP/1003-00000001", "1003", CS::ring), chan("1900.2", I, "SIP/1001-00000002"), "SIP/1001"});
    feed(e, 3, pbx::ChannelUpdated{chan("1900.2", I, "SIP/1001-00000002", "", CS::up)});
    feed(e, 9, pbx::Hangup{"1900.2", 16, ""});
    feed(e, 9, pbx::Hangup{I, 16, ""});
    CHECK(e.sink.sent.empty());
    auto rec = e.store.find_call(CallId("main-1900.1"));
    REQUIRE(rec);
    CHECK(rec->direction == Direction::internal);
    CHECK(rec->status == CallStatus::answered);
    CHECK(rec->agent == AgentId("alice"));
    CHECK(rec->talk_seconds == 6);
    REQUIRE(rec->legs.size() == 1);
    CHECK(rec->legs[0].agent == AgentId("alice"));
    CHECK(rec->legs[0].talk_seconds == 6);
}

TEST_CASE("with pop_internal a call from an agent's own phone pops the callee with the caller's extension") {
    TempDir dir;
    Env e(dir.path() / "ringside.db", "IR", CallServiceOptions{.pop_internal = true});
    e.add_user(make_user("alice", Role::agent, "1001"));
    e.add_user(make_user("carol", Role::agent, "1003"));
    const std::string I = "1900.1";
    feed(e, 0, pbx::ChannelCreated{chan(I, I, "SIP/1003-00000001", "1003", CS::ring, "1001")});
    feed(e, 0, pbx::ChannelCreated{chan("1900.2", I, "SIP/1001-00000002")});
    feed(e, 0, pbx::DialBegin{chan(I, I, "SIP/1003-00000001", "1003", CS::ring), chan("1900.2", I, "SIP/1001-00000002"), "SIP/1001"});
    CHECK(e.sink.lines() == Strings{"alice call.ringing"});
    const auto& pop = e.sink.sent[0].msg;
    CHECK(pop["call"]["direction"] == "internal");
    CHECK(pop["call"]["from"] == "1003");
    CHECK(pop["customer"].is_null());
    CHECK(e.svc.stats().lookups == 0);  // an extension is not a phone number: no lookup
}

TEST_CASE("a restart mid-call: the next run closes the records the PBX no longer has after its resync") {
    TempDir dir;
    const auto db = dir.path() / "ringside.db";
    {
        Env first(db);
        first.add_user(make_user("alice", Role::agent, "1001"));
        first.add_user(make_user("bob", Role::agent, "1002"));
        start_ringall(first);
        answer_1002_at(first, 4);
        // A second call still ringing when the process dies.
        first.svc.on_pbx_event(ev(6, pbx::ChannelCreated{chan("1800.1", "1800.1", "SIP/trunk-00000009", "0935", CS::ring)}));
    }
    Env second(db);
    REQUIRE(second.store.open_calls(PbxId("main")).size() == 2);
    second.svc.on_pbx_event(ev(100, pbx::ResyncBegin{}));
    second.svc.on_pbx_event(ev(100, pbx::ResyncEnd{}));
    second.svc.close_orphans(PbxId("main"), at_s(101));
    CHECK(second.store.open_calls(PbxId("main")).empty());
    auto answered = second.store.find_call(id1);
    CHECK(answered->status == CallStatus::answered);
    CHECK(answered->agent == AgentId("bob"));
    CHECK(answered->ended_at == at_s(101));
    CHECK(answered->wait_seconds == 4);
    CHECK(answered->talk_seconds == 97);
    auto missed = second.store.find_call(CallId("main-1800.1"));
    CHECK(missed->status == CallStatus::missed);
    CHECK(missed->ended_at == at_s(101));
    CHECK(missed->wait_seconds == 95);
    CHECK(second.sink.sent.empty());
}

TEST_CASE("a restart mid-call: a call the resync still lists carries on under its stored record") {
    TempDir dir;
    const auto db = dir.path() / "ringside.db";
    {
        Env first(db);
        first.add_user(make_user("bob", Role::agent, "1002"));
        start_ringall(first);
        answer_1002_at(first, 4);
    }
    Env second(db);
    second.svc.on_pbx_event(ev(100, pbx::ResyncBegin{}));
    second.svc.on_pbx_event(ev(100, pbx::ChannelCreated{chan("1700.3", L, "SIP/1002-00000003", "", CS::up), true}));
    second.svc.on_pbx_event(ev(100, pbx::ChannelCreated{chan(L, L, trunk, "09121234567", CS::up, "500"), true}));
    second.svc.on_pbx_event(ev(100, pbx::ResyncEnd{}));
    second.svc.close_orphans(PbxId("main"), at_s(101));
    auto rec = second.store.find_call(id1);
    CHECK(rec->status == CallStatus::answered);
    CHECK(!rec->ended_at);
    CHECK(rec->started_at == at_s(0));
    CHECK(second.svc.stats().active_calls == 1);
    second.svc.on_pbx_event(ev(200, pbx::Hangup{L, 16, ""}));
    second.svc.on_pbx_event(ev(200, pbx::Hangup{"1700.3", 16, ""}));
    rec = second.store.find_call(id1);
    CHECK(rec->status == CallStatus::answered);
    CHECK(rec->answered_at == at_s(4));
    CHECK(rec->ended_at == at_s(200));
    CHECK(rec->wait_seconds == 4);
    CHECK(rec->talk_seconds == 196);
    CHECK(second.sink.of_type("call.ended").size() == 1);
    CHECK(second.sink.of_type("call.ended")[0].to == "bob");
    // No second pop for a call bob has been on since before the restart.
    CHECK(second.sink.of_type("call.ringing").empty());
}

TEST_CASE("a resync ends a call that vanished while the link was down and keeps a live one") {
    Seeded s;
    auto& e = s.env;
    start_ringall(e);
    answer_1002_at(e, 4);
    const std::string M = "1800.1";
    feed(e, 6, pbx::ChannelCreated{chan(M, M, "SIP/trunk-00000009", "0935", CS::ring)});
    feed(e, 7, pbx::LinkDown{});
    feed(e, 30, pbx::ResyncBegin{});
    feed(e, 30, pbx::ChannelCreated{chan(L, L, trunk, "09121234567", CS::up, "500"), true});
    feed(e, 30, pbx::ChannelCreated{chan("1700.3", L, "SIP/1002-00000003", "", CS::up), true});
    feed(e, 31, pbx::ResyncEnd{});
    auto gone = e.store.find_call(CallId("main-1800.1"));
    CHECK(gone->status == CallStatus::missed);
    CHECK(gone->ended_at == at_s(31));
    auto live = e.store.find_call(id1);
    CHECK(live->status == CallStatus::answered);
    CHECK(!live->ended_at);
    CHECK(e.svc.stats().active_calls == 1);
    // alice's pop was retracted at the answer; nothing new is sent by the resync.
    CHECK(e.sink.lines() == Strings{"alice call.ringing", "bob call.ringing", "bob call.answered",
                                    "alice call.retracted answered_elsewhere"});
}

TEST_CASE("a disposition is for the agent who took the call or a supervisor; notes have card numbers masked") {
    Seeded s;
    auto& e = s.env;
    start_ringall(e);
    answer_1002_at(e, 4);
    const User bob = make_user("bob", Role::agent, "1002");
    const User alice = make_user("alice", Role::agent, "1001");
    const User sam = make_user("sam", Role::supervisor, std::nullopt);

    SUBCASE("the agent who answered, while the call is live; the end does not undo it") {
        auto r = e.svc.set_disposition(bob, id1, "refund", "card 4111 1111 1111 1111 charged twice");
        REQUIRE(r);
        CHECK(r.value().disposition == "refund");
        CHECK(r.value().notes.find("4111 1111 1111 1111") == std::string::npos);
        CHECK(r.value().notes.find("1111") != std::string::npos);
        hang_up_all(e, 60);
        auto rec = e.store.find_call(id1);
        CHECK(rec->disposition == "refund");
        CHECK(rec->notes.find("4111 1111 1111 1111") == std::string::npos);
        CHECK(rec->notes.find("charged twice") != std::string::npos);
        auto ctx = e.store.customer_context(s.customer);
        REQUIRE(ctx->recent_interactions.size() == 1);
        CHECK(ctx->recent_interactions[0].disposition == "refund");
    }
    SUBCASE("another agent is forbidden, a supervisor is allowed after the end") {
        auto no = e.svc.set_disposition(alice, id1, "refund", "");
        REQUIRE(!no);
        CHECK(no.failure().code == DomainError::forbidden);
        hang_up_all(e, 60);
        auto yes = e.svc.set_disposition(sam, id1, "escalated", "");
        REQUIRE(yes);
        CHECK(e.store.find_call(id1)->disposition == "escalated");
    }
    SUBCASE("unknown call, missing or over-long fields") {
        auto r = e.svc.set_disposition(sam, CallId("main-nope"), "x", "");
        CHECK(!r);
        CHECK(r.failure().code == DomainError::not_found);
        r = e.svc.set_disposition(bob, id1, "", "");
        CHECK(!r);
        CHECK(r.failure().code == DomainError::invalid_argument);
        CHECK(r.failure().message.find("disposition") != std::string::npos);
        r = e.svc.set_disposition(bob, id1, std::string(65, 'x'), "");
        CHECK(r.failure().code == DomainError::invalid_argument);
        CHECK(r.failure().message.find("disposition") != std::string::npos);
        CHECK(e.svc.set_disposition(bob, id1, std::string(64, 'x'), ""));
        r = e.svc.set_disposition(bob, id1, "ok", std::string(4001, 'n'));
        CHECK(r.failure().code == DomainError::invalid_argument);
        CHECK(r.failure().message.find("notes") != std::string::npos);
        // Limits count characters: 64 Persian letters (128 bytes) fit.
        std::string fa;
        for (int i = 0; i < 64; ++i) fa += "\xd8\xa8";
        CHECK(e.svc.set_disposition(bob, id1, fa, ""));
    }
    SUBCASE("a save from a device that missed another's is a conflict, not an overwrite") {
        REQUIRE(e.svc.set_disposition(bob, id1, "refund", "first device", std::string()));
        auto late = e.svc.set_disposition(bob, id1, "callback", "second device", std::string());
        REQUIRE(!late);
        CHECK(late.failure().code == DomainError::conflict);
        CHECK(late.failure().message.find("refund") != std::string::npos);
        CHECK(e.store.find_call(id1)->disposition == "refund");
        // Seen the first save: a change goes through.
        CHECK(e.svc.set_disposition(bob, id1, "callback", "changed", std::string("refund")));
        CHECK(e.store.find_call(id1)->disposition == "callback");
    }
    SUBCASE("a save through another connection since this engine read the call is a conflict, and stays") {
        // Another node (here another store on the same file) saved first;
        // this engine's live record still shows no disposition.
        SqliteStore other(s.dir.path() / "ringside.db");
        REQUIRE(other.set_disposition(id1, "refund", "saved elsewhere"));
        auto late = e.svc.set_disposition(sam, id1, "callback", "from here");
        REQUIRE(!late);
        CHECK(late.failure().code == DomainError::conflict);
        CHECK(late.failure().message.find("refund") != std::string::npos);
        hang_up_all(e, 60);  // the final write carries the stored value, not the overwritten one
        const auto rec = e.store.find_call(id1);
        CHECK(rec->disposition == "refund");
        CHECK(rec->notes == "saved elsewhere");
        // Reloaded, it goes through.
        CHECK(e.svc.set_disposition(sam, id1, "callback", "from here", std::string("refund")));
        CHECK(e.store.find_call(id1)->disposition == "callback");
    }
    SUBCASE("a save that saw another connection's save goes through, though this engine's live record has not seen it") {
        SqliteStore other(s.dir.path() / "ringside.db");
        REQUIRE(other.set_disposition(id1, "refund", "saved elsewhere"));
        // The supervisor's page read the call from the store: "refund".
        auto r = e.svc.set_disposition(sam, id1, "callback", "after reading it", std::string("refund"));
        REQUIRE(r);
        CHECK(r.value().disposition == "callback");
        hang_up_all(e, 60);
        CHECK(e.store.find_call(id1)->disposition == "callback");
        CHECK(e.store.find_call(id1)->notes == "after reading it");
    }
}

TEST_CASE("the pop message shapes follow the contract") {
    CallRecord c;
    c.id = CallId("main-1.2");
    c.pbx = PbxId("main");
    c.from = "+989121234567";
    c.from_raw = "09121234567";
    c.to = "1001";
    c.started_at = at_s(0);
    auto call = pop_call_json(c);
    for (auto k : {"id", "pbx", "direction", "from", "from_raw", "from_name", "to", "queue", "started_at"})
        CHECK(call.contains(k));
    CHECK(call["queue"].is_null());
    CHECK(call["started_at"] == format_iso(at_s(0)));
    auto m = ringing_message(c, std::nullopt);
    CHECK(m["type"] == "call.ringing");
    CHECK(!m.contains("seq"));
    CHECK(m["customer"].is_null());
    CHECK(m["open_issues"].is_array());
    CHECK(m["recent_interactions"].is_array());
}

TEST_CASE("the supervisors' board follows a call: ringing where, answered by whom, gone at the end") {
    Seeded s;
    auto& e = s.env;
    start_ringall(e);
    CHECK(e.sink.broadcasts.empty());  // nothing per PBX event: changes wait for the flush
    e.svc.flush_board(true);
    // Five events changed the call; it goes out once, with its latest state.
    REQUIRE(e.sink.broadcasts.size() == 1);
    auto last = e.sink.broadcasts.back();
    CHECK(last["type"] == "board.changes");
    CHECK(last["removed"] == nlohmann::json::array());
    REQUIRE(last["calls"].size() == 1);
    auto c = last["calls"][0];
    CHECK(c["id"] == id1.value());
    CHECK(c["status"] == "ringing");
    CHECK(c["from"] == "+989121234567");
    // The supervisor sees who calls, once matched.
    CHECK(c["customer_id"] == s.customer);
    CHECK(c["customer_name"] == "Sara Ahmadi");
    CHECK(c["customer_tier"] == "gold");
    REQUIRE(c["ringing"].size() == 2);
    CHECK(c["ringing"][0]["extension"] == "1001");
    CHECK(c["ringing"][0]["agent"] == "alice");
    CHECK(c["ringing"][1]["agent"] == "bob");
    REQUIRE(e.svc.live_calls().size() == 1);
    CHECK(e.svc.live_calls()[0] == c);
    e.svc.flush_board(true);
    CHECK(e.sink.broadcasts.size() == 1);  // nothing changed, nothing sent

    answer_1002_at(e, 5);
    e.svc.flush_board(true);
    REQUIRE(e.sink.broadcasts.size() == 2);
    REQUIRE(e.sink.broadcasts.back()["calls"].size() == 1);
    c = e.sink.broadcasts.back()["calls"][0];
    CHECK(c["status"] == "answered");
    CHECK(c["agent"] == "bob");
    CHECK(c["answered_at"].is_string());
    for (const auto& r : c["ringing"]) CHECK(r["extension"] != "1002");  // bob's phone no longer rings

    hang_up_all(e, 60);
    e.svc.flush_board(true);
    REQUIRE(e.sink.broadcasts.size() == 3);
    CHECK(e.sink.broadcasts.back() ==
          nlohmann::json{{"type", "board.changes"}, {"calls", nlohmann::json::array()}, {"removed", {id1.value()}}});
    CHECK(e.svc.live_calls().empty());
    // Agents never get a board message: those go only through broadcast.
    for (const auto& m : e.sink.sent) CHECK(m.msg.value("type", "").rfind("board.", 0) != 0);
}

TEST_CASE("with no supervisor watching, the board builds and sends nothing; a new watcher gets a snapshot") {
    Seeded s;
    auto& e = s.env;
    start_ringall(e);
    e.svc.flush_board(false);
    answer_1002_at(e, 5);
    e.svc.flush_board(false);
    CHECK(e.sink.broadcasts.empty());
    CHECK_FALSE(e.svc.published_live_calls().current);  // nobody read it: not rebuilt
    CHECK(e.svc.published_live_calls().calls->empty());
    // A reader asked for it: the next flush publishes it, even unwatched.
    e.svc.flush_board(false);
    auto pub = e.svc.published_live_calls();
    CHECK(pub.current);
    REQUIRE(pub.calls->size() == 1);
    CHECK((*(*pub.calls)[0])["status"] == "answered");
    CHECK(e.sink.broadcasts.empty());

    e.svc.send_board(AgentId("sam"));
    REQUIRE(e.sink.sent.size() >= 1);
    const auto& snap = e.sink.sent.back();
    CHECK(snap.to == "sam");
    CHECK(snap.msg["type"] == "board.calls");
    REQUIRE(snap.msg["calls"].size() == 1);
    CHECK(snap.msg["calls"][0]["agent"] == "bob");
}

TEST_CASE("after a PBX resync the supervisors get the whole board at once, not deltas") {
    Seeded s;
    auto& e = s.env;
    start_ringall(e);
    e.svc.flush_board(true);
    const auto before = e.sink.broadcasts.size();
    feed(e, 30, pbx::ResyncBegin{});
    feed(e, 31, pbx::ResyncEnd{});
    e.svc.flush_board(true);
    REQUIRE(e.sink.broadcasts.size() == before + 1);
    CHECK(e.sink.broadcasts.back()["type"] == "board.calls");
    CHECK(e.sink.broadcasts.back()["calls"] == e.svc.live_calls());
}

// ---- Withheld callers (issue "Every call as it really happened", 1)

namespace {

/// One withheld form: what the PBX sends as the caller, and whether it said
/// the presentation is restricted.
struct WithheldRow {
    std::string name;
    std::string caller_num;
    bool flagged;
    std::string from_raw;  // what the record keeps
};

/// A caller on the trunk ringing alice, answered, hung up; the customers'
/// numbers include the keypad reading of "+31260xxxxxx" and the real number
/// a presentation-restricted caller still carries.
void play_withheld_call(Env& e, const WithheldRow& row) {
    auto root = chan(L, L, trunk, row.caller_num, CS::ring, "500");
    if (row.flagged) root.caller_withheld = true;
    feed(e, 0, pbx::ChannelCreated{root});
    // A later event that does not say (Newstate) keeps the presentation.
    auto later = chan(L, L, trunk, row.caller_num, CS::ring, "500");
    feed(e, 0, pbx::ChannelUpdated{later});
    feed(e, 1, pbx::DialBegin{later, chan("1700.2", L, "SIP/1001-00000002"), "SIP/1001"});
    feed(e, 1, pbx::ChannelUpdated{chan("1700.2", L, "SIP/1001-00000002", "", CS::ringing)});
    feed(e, 4, pbx::ChannelUpdated{chan("1700.2", L, "SIP/1001-00000002", "", CS::up)});
    feed(e, 9, pbx::Hangup{"1700.2", 16, ""});
    feed(e, 9, pbx::Hangup{L, 16, ""});
}

}  // namespace

TEST_CASE("a withheld or masked caller pops as anonymous, is never matched, and keeps only its masked text") {
    const std::vector<WithheldRow> rows = {
        {"masked digits", "+31260xxxxxx", false, "+31260xxxxxx"},
        {"masked capitals", "+31260XXXXXX", false, "+31260XXXXXX"},
        {"anonymous", "anonymous", false, "anonymous"},
        {"Anonymous", "Anonymous", false, "Anonymous"},
        {"Restricted", "Restricted", false, "Restricted"},
        {"unknown", "unknown", false, "unknown"},
        {"<unknown>", "<unknown>", false, "<unknown>"},
        {"empty", "", false, ""},
        {"SIP anonymous URI", "anonymous@anonymous.invalid", false, "anonymous@anonymous.invalid"},
        // The PBX carries the real number but was told not to present it:
        // neither shown nor stored.
        {"presentation prohibited, real number", "+31261234567", true, ""},
        {"presentation prohibited, masked text", "anonymous", true, "anonymous"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        TempDir dir;
        Env e(dir.path() / "ringside.db", "NL");
        e.add_user(make_user("alice", Role::agent, "1001"));
        e.add_customer("Keypad Mapping", "+31260999999");
        e.add_customer("Real Number", "+31261234567");
        play_withheld_call(e, row);

        const auto pops = e.sink.of_type("call.ringing");
        REQUIRE(pops.size() == 1);
        const auto& call = pops[0].msg["call"];
        CHECK(call["from"] == "");
        CHECK(call["anonymous"] == true);
        CHECK(call["from_raw"] == row.from_raw);
        CHECK(call["from_name"] == "");
        CHECK(pops[0].msg["customer"].is_null());
        CHECK(pops[0].msg["calls_today"].is_null());  // no repeat-caller count for nobody's number
        CHECK(e.svc.stats().lookups == 0);

        const auto ended = e.sink.of_type("call.ended");
        REQUIRE(ended.size() == 1);
        CHECK(ended[0].msg["call"]["anonymous"] == true);
        CHECK(ended[0].msg["call"]["customer_id"].is_null());
        auto rec = e.store.find_call(id1);
        REQUIRE(rec);
        CHECK(rec->from == "");
        CHECK(rec->from_raw == row.from_raw);
        CHECK(!rec->customer_id);
        CHECK(caller_withheld(*rec));
        CHECK(rec->status == CallStatus::answered);
    }
}

TEST_CASE("a caller whose presentation is allowed again, before any phone rings, is shown and matched") {
    TempDir dir;
    Env e(dir.path() / "ringside.db", "NL");
    e.add_user(make_user("alice", Role::agent, "1001"));
    const auto customer = e.add_customer("Real Number", "+31261234567");
    auto root = chan(L, L, trunk, "+31261234567", CS::ring, "500");
    root.caller_withheld = true;
    feed(e, 0, pbx::ChannelCreated{root});
    root.caller_withheld = false;
    feed(e, 0, pbx::ChannelUpdated{root});
    feed(e, 1, pbx::DialBegin{root, chan("1700.2", L, "SIP/1001-00000002"), "SIP/1001"});
    const auto pops = e.sink.of_type("call.ringing");
    REQUIRE(pops.size() == 1);
    CHECK(pops[0].msg["call"]["from"] == "+31261234567");
    CHECK(pops[0].msg["call"]["anonymous"] == false);
    CHECK(pops[0].msg["customer"]["id"] == customer);
}

TEST_CASE("a caller id with letters is not a number: shown as sent, never matched, not anonymous") {
    TempDir dir;
    Env e(dir.path() / "ringside.db", "NL");
    e.add_user(make_user("alice", Role::agent, "1001"));
    e.add_customer("Keypad Mapping", "+318003569377");  // 0800-FLOWERS on a keypad
    play_withheld_call(e, {"vanity", "0800-FLOWERS", false, "0800-FLOWERS"});
    const auto pops = e.sink.of_type("call.ringing");
    REQUIRE(pops.size() == 1);
    CHECK(pops[0].msg["call"]["from"] == "0800-FLOWERS");
    CHECK(pops[0].msg["call"]["anonymous"] == false);
    CHECK(pops[0].msg["customer"].is_null());
    CHECK(e.svc.stats().lookups == 0);
}

// ---- Every inbound call is its customer's (issue "Every call as it really happened", 3)

TEST_CASE("a known customer's call dropped before any phone rang is logged missed with the customer") {
    Seeded s;
    auto& e = s.env;
    feed(e, 0, pbx::ChannelCreated{chan(L, L, trunk, "09121234567", CS::ring, "500")});
    // Matched as it starts: the record in /api/calls names the customer at once.
    auto rec = e.store.find_call(id1);
    REQUIRE(rec);
    CHECK(rec->customer_id == s.customer);
    CHECK(e.svc.stats().lookups == 1);
    feed(e, 8, pbx::Hangup{L, 16, ""});  // gone in the IVR
    rec = e.store.find_call(id1);
    CHECK(rec->status == CallStatus::missed);
    CHECK(rec->customer_id == s.customer);
    auto ctx = e.store.customer_context(s.customer);
    REQUIRE(ctx);
    REQUIRE(ctx->recent_interactions.size() == 1);
    CHECK(ctx->recent_interactions[0].call_id == id1);
    CHECK(ctx->recent_interactions[0].status == "missed");
    CHECK(e.svc.stats().lookups == 1);
    CHECK(e.sink.sent.empty());
}

TEST_CASE("a call that rings after its start lookup pops with the customer and looks up nothing more") {
    Seeded s;
    auto& e = s.env;
    start_ringall(e);
    answer_1002_at(e, 5);
    hang_up_all(e, 30);
    CHECK(e.svc.stats().lookups == 1);
    check_pops(e.sink, s.customer, id1.value());
}

TEST_CASE("a caller id the dialplan rewrites, or sets, before any phone rings is matched by its final number") {
    Seeded s;
    auto& e = s.env;
    SUBCASE("rewritten from another number") {
        feed(e, 0, pbx::ChannelCreated{chan(L, L, trunk, "+442079460000", CS::ring, "500")});
        CHECK(!e.store.find_call(id1)->customer_id);
        feed(e, 1, pbx::ChannelUpdated{chan(L, L, trunk, "09121234567", CS::ring, "500")});
        feed(e, 2, pbx::Hangup{L, 16, ""});
        CHECK(e.svc.stats().lookups == 2);
    }
    SUBCASE("set after an empty start") {
        feed(e, 0, pbx::ChannelCreated{chan(L, L, trunk, "", CS::ring, "500")});
        CHECK(e.svc.stats().lookups == 0);
        feed(e, 1, pbx::ChannelUpdated{chan(L, L, trunk, "09121234567", CS::ring, "500")});
        feed(e, 2, pbx::Hangup{L, 16, ""});
        CHECK(e.svc.stats().lookups == 1);
    }
    auto rec = e.store.find_call(id1);
    CHECK(rec->from == "+989121234567");
    CHECK(rec->customer_id == s.customer);
    CHECK(rec->status == CallStatus::missed);
}

// ---- Phones nobody owns (issue "Every call as it really happened", 5)

TEST_CASE("calls from phones no user owns are never inbound customer calls") {
    // Another tenant's phone 2001 on the shared PBX: its channel carries its
    // own extension as caller id; a trunk's carries the external caller.
    struct Row {
        std::string name;
        std::string caller_channel, caller_num, dialed;
        std::string callee_channel;  // the channel dialled, which answers
        Direction direction;
        std::optional<std::string> agent;  // the record's agent
        std::optional<std::string> extension;
        std::string to;
        Strings sent;                  // what agents were sent
    };
    const std::vector<Row> rows = {
        {"nobody's phone dials out through the trunk", "SIP/2001-00000001", "2001", "09121234567",
         "SIP/trunk-00000002", Direction::outbound, std::nullopt, "2001", "+989121234567", {}},
        {"nobody's phone with a short caller id dials out", "PJSIP/tenant-b-00000001", "4711", "02188888888",
         "PJSIP/trunk-00000002", Direction::outbound, std::nullopt, "tenant-b", "+982188888888", {}},
        {"nobody's phone calls another phone nobody owns", "SIP/2001-00000001", "2001", "2002", "SIP/2002-00000002",
         Direction::internal, std::nullopt, "2002", "2002", {}},
        {"nobody's phone dials a ring group with an agent's phone: inbound, popped as before", "SIP/2001-00000001",
         "2001", "600", "SIP/1001-00000002", Direction::inbound, "alice", "1001", "600",
         {"alice call.ringing", "alice call.answered", "alice call.ended"}},
        {"nobody's phone dials an agent's phone: inbound, popped as before", "SIP/2001-00000001", "2001", "1001",
         "SIP/1001-00000002", Direction::inbound, "alice", "1001", "1001",
         {"alice call.ringing", "alice call.answered", "alice call.ended"}},
        {"a customer on the trunk calls an agent: inbound, popped", "SIP/trunk-00000001", "09121234567", "1001",
         "SIP/1001-00000002", Direction::inbound, "alice", "1001", "1001",
         {"alice call.ringing", "alice call.answered", "alice call.ended"}},
        {"an agent's phone dials out: outbound, theirs", "SIP/1002-00000001", "1002", "09121234567",
         "SIP/trunk-00000002", Direction::outbound, "bob", "1002", "+989121234567", {"bob call.ended"}},
    };
    for (const auto& row : rows) {
        CAPTURE(row.name);
        TwoAgents t;
        auto& e = t.env;
        auto root = chan(L, L, row.caller_channel, row.caller_num, CS::ring, row.dialed);
        auto callee = chan("1700.2", L, row.callee_channel);
        feed(e, 0, pbx::ChannelCreated{root});
        feed(e, 0, pbx::ChannelCreated{callee});
        feed(e, 0, pbx::DialBegin{root, callee, row.dialed});
        feed(e, 1, pbx::ChannelUpdated{chan("1700.2", L, row.callee_channel, "", CS::ringing)});
        feed(e, 4, pbx::ChannelUpdated{chan("1700.2", L, row.callee_channel, "", CS::up)});
        feed(e, 4, pbx::DialEnd{L, "1700.2", pbx::DialStatus::answer});
        feed(e, 30, pbx::Hangup{"1700.2", 16, ""});
        feed(e, 30, pbx::Hangup{L, 16, ""});
        check_sent(e.sink, row.sent);
        const auto rec = only_call(e);
        CHECK(rec.direction == row.direction);
        CHECK(rec.agent == agent_id(row.agent));
        CHECK(rec.extension.value_or(Extension("")).value() == row.extension.value_or(""));
        CHECK(rec.to == row.to);
        CHECK(rec.status == CallStatus::answered);
        // Another tenant's calls are in no customer's file, whatever they dialled.
        if (!row.agent) {
            CHECK(!rec.customer_id);
            CHECK(e.svc.stats().lookups == 0);
        }
    }
}
