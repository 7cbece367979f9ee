// Click-to-dial without sockets: the AMI and ESL client state machines build
// the originate command and report exactly one outcome for it; the simulated
// Asterisk answers Originate as Asterisk does; the call it then runs goes
// through the real mapper into the call service as an outbound call.
#include <doctest/doctest.h>

#include "call_events.hpp"
#include "call_service_env.hpp"
#include "ringside/ami/client.hpp"
#include "ringside/ami/mapper.hpp"
#include "ringside/esl/client.hpp"
#include "ringside/sim/call_script.hpp"
#include "ringside/sim/server_session.hpp"

using namespace ringside;
using namespace call_test;
using namespace std::chrono_literals;

namespace {

template <class T, class Actions>
std::vector<T> all_of(const Actions& as) {
    std::vector<T> out;
    for (const auto& a : as)
        if (auto* p = std::get_if<T>(&a)) out.push_back(*p);
    return out;
}

ami::Message parse_ami(const std::string& bytes) {
    ami::Reader r;
    r.put("Asterisk Call Manager/5.0.1\r\n" + bytes);
    while (auto item = r.next())
        if (auto* m = std::get_if<ami::Message>(&*item)) return *m;
    return {};
}

/// An AMI client past login (the CoreShowChannels listing answered empty).
ami::Client logged_in_ami() {
    ami::ClientConfig cfg;
    cfg.username = "ringside";
    cfg.secret = "s3cret";
    ami::Client c(PbxId("main"), cfg);
    c.on_connected(at_s(0));
    c.on_bytes("Asterisk Call Manager/5.0.1\r\n", at_s(0));
    auto out = c.on_bytes("Response: Success\r\nActionID: ringside-1\r\nMessage: Authentication accepted\r\n\r\n", at_s(0));
    REQUIRE(c.state() == ami::Client::State::logged_in);
    return c;
}

ami::OriginateRequest request() {
    ami::OriginateRequest r;
    r.channel = "PJSIP/1001";
    r.context = "from-internal";
    r.exten = "+989121234567";
    r.caller_id = "Ringside <1001>";
    r.timeout = 25s;
    return r;
}

}  // namespace

TEST_CASE("AMI Originate: the agent's device, the number in the dial-out context, async, with an ActionID") {
    auto c = logged_in_ami();
    ami::ClientActions out;
    auto id = c.originate(request(), out);
    REQUIRE(id);
    auto writes = all_of<ami::client_action::Write>(out);
    REQUIRE(writes.size() == 1);
    auto m = parse_ami(writes[0].bytes);
    CHECK(m.get("Action") == "Originate");
    CHECK(m.get("ActionID") == *id);
    CHECK(m.get("Channel") == "PJSIP/1001");
    CHECK(m.get("Context") == "from-internal");
    CHECK(m.get("Exten") == "+989121234567");
    CHECK(m.get("Priority") == "1");
    CHECK(m.get("Async") == "true");
    CHECK(m.get("Timeout") == "25000");
    CHECK(m.get("CallerID") == "Ringside <1001>");

    // Queued at once; the OriginateResponse event later decides.
    auto r1 = c.on_bytes("Response: Success\r\nActionID: " + *id + "\r\nMessage: Originate successfully queued\r\n\r\n", at_s(1));
    CHECK(all_of<ami::client_action::OriginateResult>(r1).empty());
    auto r2 = c.on_bytes("Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: " + *id +
                             "\r\nResponse: Success\r\nChannel: PJSIP/1001-00000001\r\nContext: from-internal\r\n"
                             "Exten: +989121234567\r\nReason: 4\r\nUniqueid: 1700000000.1\r\n\r\n",
                         at_s(3));
    auto res = all_of<ami::client_action::OriginateResult>(r2);
    REQUIRE(res.size() == 1);
    CHECK(res[0].action_id == *id);
    CHECK(res[0].ok);
    CHECK(res[0].reason == "answered");
    CHECK(res[0].uniqueid == "1700000000.1");
    // A second response for the same id is not a second outcome.
    CHECK(all_of<ami::client_action::OriginateResult>(c.on_bytes("Event: OriginateResponse\r\nActionID: " + *id +
                                                                     "\r\nResponse: Success\r\nReason: 4\r\n\r\n",
                                                                 at_s(4)))
              .empty());
}

TEST_CASE("AMI Originate outcomes: unanswered phone, refusal, lost link, and nothing sent for injected lines") {
    SUBCASE("the agent's phone is not answered") {
        auto c = logged_in_ami();
        ami::ClientActions out;
        auto id = *c.originate(request(), out);
        c.on_bytes("Response: Success\r\nActionID: " + id + "\r\nMessage: Originate successfully queued\r\n\r\n", at_s(1));
        auto r = all_of<ami::client_action::OriginateResult>(c.on_bytes(
            "Event: OriginateResponse\r\nActionID: " + id + "\r\nResponse: Failure\r\nChannel: PJSIP/1001\r\nReason: 3\r\nUniqueid: <null>\r\n\r\n",
            at_s(31)));
        REQUIRE(r.size() == 1);
        CHECK(!r[0].ok);
        CHECK(r[0].reason == "no_answer");
        CHECK(r[0].uniqueid.empty());
    }
    SUBCASE("Asterisk refuses the action") {
        auto c = logged_in_ami();
        ami::ClientActions out;
        auto id = *c.originate(request(), out);
        auto r = all_of<ami::client_action::OriginateResult>(
            c.on_bytes("Response: Error\r\nActionID: " + id + "\r\nMessage: Permission denied\r\n\r\n", at_s(1)));
        REQUIRE(r.size() == 1);
        CHECK(!r[0].ok);
        CHECK(!r[0].lost);
        CHECK(r[0].reason == "Permission denied");
    }
    SUBCASE("the link goes down before the outcome") {
        auto c = logged_in_ami();
        ami::ClientActions out;
        auto id = *c.originate(request(), out);
        c.on_bytes("Response: Success\r\nActionID: " + id + "\r\nMessage: Originate successfully queued\r\n\r\n", at_s(1));
        auto r = all_of<ami::client_action::OriginateResult>(c.on_disconnected(at_s(2)));
        REQUIRE(r.size() == 1);
        CHECK(r[0].lost);
        CHECK(r[0].action_id == id);
    }
    SUBCASE("a number carrying a line break would inject an action: refused before the wire") {
        auto c = logged_in_ami();
        auto bad = request();
        bad.exten = "123\r\nAction: Logoff";
        ami::ClientActions out;
        CHECK(!c.originate(bad, out));
        CHECK(out.empty());
        CHECK(!ami::originate_action(bad));
        bad = request();
        bad.channel.clear();
        CHECK(!ami::originate_action(bad));
    }
    SUBCASE("not logged in: nothing is sent") {
        ami::Client c(PbxId("main"), ami::ClientConfig{});
        ami::ClientActions out;
        CHECK(!c.originate(request(), out));
        CHECK(out.empty());
    }
}

TEST_CASE("ESL originate: bgapi with the agent's endpoint, the number in the XML context, and its own Job-UUID") {
    esl::ClientConfig cfg;
    cfg.password = "ClueCon";
    esl::Client c(PbxId("fs"), cfg);
    c.on_connected(at_s(0));
    c.on_bytes("Content-Type: auth/request\n\n", at_s(0));
    c.on_bytes("Content-Type: command/reply\nReply-Text: +OK accepted\n\n", at_s(0));
    c.on_bytes("Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n", at_s(0));
    const std::string listing = "{\"row_count\":0}";
    c.on_bytes("Content-Type: api/response\nContent-Length: " + std::to_string(listing.size()) + "\n\n" + listing, at_s(0));
    REQUIRE(c.state() == esl::Client::State::ready);

    esl::OriginateRequest r;
    r.endpoint = "user/1001";
    r.context = "default";
    r.number = "+989121234567";
    r.caller_id_number = "1001";
    esl::ClientActions out;
    auto job = c.originate(r, out);
    REQUIRE(job);
    CHECK(job->size() == 36);
    auto w = all_of<esl::client_action::Write>(out);
    REQUIRE(w.size() == 1);
    CHECK(w[0].bytes == "bgapi originate {originate_timeout=30,ignore_early_media=true,origination_caller_id_number=1001}"
                        "user/1001 +989121234567 XML default\nJob-UUID: " + *job + "\n\n");

    auto a = c.on_bytes("Content-Type: command/reply\nReply-Text: +OK Job-UUID: " + *job + "\nJob-UUID: " + *job + "\n\n", at_s(1));
    CHECK(all_of<esl::OriginateResult>(a).empty());
    // The job's result: an event with its own body (Content-Length inside the event).
    const std::string result_body = "-ERR NO_ANSWER\n";
    const std::string ev = "Event-Name: BACKGROUND_JOB\nJob-UUID: " + *job + "\nJob-Command: originate\nContent-Length: " +
                           std::to_string(result_body.size()) + "\n\n" + result_body;
    a = c.on_bytes("Content-Length: " + std::to_string(ev.size()) + "\nContent-Type: text/event-plain\n\n" + ev, at_s(31));
    auto res = all_of<esl::OriginateResult>(a);
    REQUIRE(res.size() == 1);
    CHECK(res[0].job_uuid == *job);
    CHECK(!res[0].ok);
    CHECK(res[0].reason == "no_answer");

    // Slots that could carry a second command or variable are refused.
    r.number = "123 XML public";
    CHECK(!esl::originate_command(r, "x"));
    r.number = "+98912";
    r.endpoint = "user/1001}{x=1";
    CHECK(!esl::originate_command(r, "x"));
    r.endpoint = "user/1001";
    r.context = "default\nbgapi";
    CHECK(!esl::originate_command(r, "x"));
}

TEST_CASE("the simulated Asterisk answers Originate like Asterisk and its call is logged outbound to the customer") {
    sim::ServerSession s({{"ringside", "s3cret"}}, "123");
    sim::ChannelTable channels;
    auto login = sim::ServerSession::Reply{};
    ami::Message l;
    l.fields = {{"Action", "Login"}, {"Username", "ringside"}, {"Secret", "s3cret"}};
    login = s.handle(l, channels, at_s(0));
    REQUIRE(login.logged_in);

    ami::Message bad;
    bad.fields = {{"Action", "Originate"}, {"ActionID", "a1"}, {"Context", "from-internal"}, {"Exten", "1"}};
    auto r = s.handle(bad, channels, at_s(0));
    CHECK(!r.originate);
    CHECK(r.bytes.find("Response: Error") != std::string::npos);
    CHECK(r.bytes.find("Channel not specified") != std::string::npos);

    ami::ClientActions out;
    auto c = logged_in_ami();
    auto id = *c.originate(request(), out);
    auto action = parse_ami(all_of<ami::client_action::Write>(out).at(0).bytes);
    r = s.handle(action, channels, at_s(0));
    REQUIRE(r.originate);
    CHECK(r.bytes == "Response: Success\r\nActionID: " + id + "\r\nMessage: Originate successfully queued\r\n\r\n");

    // The call: through the real mapper into the call service.
    TempDir dir;
    Env e(dir.path() / "ringside.db", "IR");
    e.add_user(make_user("alice", Role::agent, "1001"));
    const auto customer = e.add_customer("Sara Ahmadi", "+989121234567");

    auto plan = *r.originate;
    plan.epoch_seconds = 1700000000;
    plan.start = at_s(0);
    plan.talk_time = 60s;
    const auto script = sim::script_originate(plan);
    // As Asterisk does, the phone's channel is born at exten `s`: the call is
    // first seen as the agent's own (internal) and becomes outbound once the
    // number shows in the dial.
    REQUIRE(script.events.front().message.event() == "Newchannel");
    CHECK(script.events.front().message.get("Exten") == "s");
    ami::EventMapper mapper(PbxId("main"));
    int responses = 0;
    for (const auto& te : script.events) {
        if (te.message.event() == "OriginateResponse") {
            ++responses;
            CHECK(te.message.get("ActionID") == id);
            CHECK(te.message.get("Response") == "Success");
            CHECK(te.message.get("Reason") == "4");
            // The client hears of it (its queued response came first).
            c.on_bytes("Response: Success\r\nActionID: " + id + "\r\nMessage: Originate successfully queued\r\n\r\n", at_s(0));
            auto res = all_of<ami::client_action::OriginateResult>(c.on_bytes(te.message.serialize(), at_s(2)));
            REQUIRE(res.size() == 1);
            CHECK(res[0].ok);
        }
        for (auto& ev : mapper.map(te.message, plan.start + te.offset)) e.svc.on_pbx_event(ev);
    }
    CHECK(responses == 1);
    // Outbound: no pop (the console opened the card itself), only the end.
    CHECK(e.sink.lines() == std::vector<std::string>{"alice call.ended"});
    auto rec = e.store.find_call(CallId("main-" + script.linkedid));
    REQUIRE(rec);
    CHECK(rec->direction == Direction::outbound);
    CHECK(rec->status == CallStatus::answered);
    CHECK(rec->agent == AgentId("alice"));
    CHECK(rec->extension == Extension("1001"));
    CHECK(rec->to == "+989121234567");
    CHECK(rec->customer_id == customer);
    CHECK(rec->talk_seconds == 60);
    CHECK(e.store.list_calls(CallFilter{}).size() == 1);

    // The agent's phone not answered: OriginateResponse Failure, Reason 3, after the timeout.
    plan.agent_answers = false;
    plan.first_id = 100;
    const auto failed = sim::script_originate(plan);
    REQUIRE(!failed.events.empty());
    const auto& last = failed.events.back();
    CHECK(last.message.event() == "OriginateResponse");
    CHECK(last.message.get("Response") == "Failure");
    CHECK(last.message.get("Reason") == "3");
    CHECK(last.offset == 25s);
}
