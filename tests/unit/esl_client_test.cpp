// The ESL client protocol driven directly: bytes in, actions out, no sockets.
#include <doctest/doctest.h>

#include <variant>

#include "esl_fixtures.hpp"
#include "ringside/esl/client.hpp"

using namespace ringside;
using namespace ringside::esl;
using namespace std::chrono_literals;

namespace {

const Timestamp t0{std::chrono::milliseconds(1'000'000)};

ClientConfig cfg() {
    ClientConfig c;
    c.password = "ClueCon";
    c.ping_interval = 15s;
    c.ping_timeout = 10s;
    c.login_timeout = 10s;
    return c;
}

std::vector<std::string> writes(const ClientActions& a) {
    std::vector<std::string> v;
    for (const auto& x : a)
        if (auto* w = std::get_if<client_action::Write>(&x)) v.push_back(w->bytes);
    return v;
}

std::vector<pbx::Event> emitted(const ClientActions& a) {
    std::vector<pbx::Event> v;
    for (const auto& x : a)
        if (auto* e = std::get_if<client_action::Emit>(&x)) v.push_back(e->event);
    return v;
}

const client_action::Close* closed(const ClientActions& a) {
    for (const auto& x : a)
        if (auto* c = std::get_if<client_action::Close>(&x)) return c;
    return nullptr;
}

bool has_login_refused(const ClientActions& a) {
    for (const auto& x : a)
        if (std::holds_alternative<client_action::LoginRefused>(x)) return true;
    return false;
}

const std::string auth_request = "Content-Type: auth/request\n\n";
const std::string ok_accepted = "Content-Type: command/reply\nReply-Text: +OK accepted\n\n";
const std::string ok_events = "Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n";

std::string api_response(const std::string& body) {
    return "Content-Type: api/response\nContent-Length: " + std::to_string(body.size()) + "\n\n" + body;
}

/// Logs in and subscribes; returns the client after the resync request went out.
Client ready_client(ClientActions* resync_out = nullptr) {
    Client c(PbxId{"fs"}, cfg());
    c.on_connected(t0);
    c.on_bytes(auth_request, t0);
    c.on_bytes(ok_accepted, t0);
    auto a = c.on_bytes(ok_events, t0);
    if (resync_out) *resync_out = a;
    return c;
}

}  // namespace

TEST_CASE("the client answers auth/request with the password, subscribes, then lists channels") {
    Client c(PbxId{"fs"}, cfg());
    CHECK(c.on_connected(t0).empty());
    auto a = c.on_bytes(auth_request, t0);
    CHECK(writes(a) == std::vector<std::string>{"auth ClueCon\n\n"});
    a = c.on_bytes(ok_accepted, t0);
    REQUIRE(std::holds_alternative<client_action::LoggedIn>(a.at(0)));
    CHECK(writes(a) == std::vector<std::string>{"event plain " + std::string(subscribed_events) + "\n\n"});
    a = c.on_bytes(ok_events, t0);
    CHECK(writes(a) == std::vector<std::string>{"api show channels as json\n\n"});
    REQUIRE(emitted(a).size() == 1);
    CHECK(std::holds_alternative<pbx::ResyncBegin>(emitted(a)[0].payload));
    a = c.on_bytes(api_response(R"({"row_count":0})"), t0);
    REQUIRE(emitted(a).size() == 1);
    CHECK(std::holds_alternative<pbx::ResyncEnd>(emitted(a)[0].payload));
    CHECK(c.state() == Client::State::ready);
}

TEST_CASE("the raw FreeSWITCH 1.5 session logs in and subscribes at every split") {
    // The capture's client sent an api command between auth and event plain;
    // its api/response is one Ringside did not ask for and is ignored.
    const auto bytes = esl_fixtures::read("neventsocket/issue_20_log.txt");
    for (std::size_t cut = 0; cut <= bytes.size(); cut += 97) {
        Client c(PbxId{"fs"}, cfg());
        c.on_connected(t0);
        auto a = c.on_bytes(std::string_view(bytes).substr(0, cut), t0);
        auto b = c.on_bytes(std::string_view(bytes).substr(cut), t0);
        a.insert(a.end(), b.begin(), b.end());
        CHECK(!closed(a));
        CHECK(writes(a).size() == 3);  // auth, event plain, the channel listing
    }
}

TEST_CASE("a wrong password is reported as a refused login and the link closes") {
    Client c(PbxId{"fs"}, cfg());
    c.on_connected(t0);
    c.on_bytes(auth_request, t0);
    auto a = c.on_bytes("Content-Type: command/reply\nReply-Text: -ERR invalid\n\n", t0);
    CHECK(has_login_refused(a));
    REQUIRE(closed(a));
    CHECK(closed(a)->reason == "FreeSWITCH refused the event socket password (-ERR invalid)");
    CHECK(c.state() == Client::State::closed);
    // Nothing after the close, and no LinkDown: the link never got in.
    CHECK(emitted(c.on_disconnected(t0)).empty());
}

TEST_CASE("a rude rejection says the address is not allowed") {
    Client c(PbxId{"fs"}, cfg());
    c.on_connected(t0);
    auto a = c.on_bytes(
        "Content-Type: text/rude-rejection\nContent-Length: 23\n\nAccess Denied, go away.\n", t0);
    CHECK(has_login_refused(a));
    REQUIRE(closed(a));
    CHECK(closed(a)->reason == "FreeSWITCH rejected this address (event socket ACL): Access Denied, go away.");
}

TEST_CASE("a disconnect notice closes the link with FreeSWITCH's words and a LinkDown follows") {
    Client c = ready_client();
    std::string notice;
    for (const auto& [name, text] : esl_fixtures::cs_messages())
        if (name == "DisconnectEvent") notice = text;
    REQUIRE(!notice.empty());
    auto a = c.on_bytes(notice, t0);
    REQUIRE(closed(a));
    CHECK(closed(a)->reason == "FreeSWITCH ended the event socket session: Disconnected, goodbye.");
    auto d = c.on_disconnected(t0);
    REQUIRE(emitted(d).size() == 1);
    CHECK(std::holds_alternative<pbx::LinkDown>(emitted(d)[0].payload));
}

TEST_CASE("listed channels come between ResyncBegin and ResyncEnd; live events are mapped") {
    Client c = ready_client();
    auto a = c.on_bytes(api_response(R"({"row_count":1,"rows":[{"uuid":"x1","direction":"inbound",
        "name":"sofia/external/+15551234567@198.51.100.7","callstate":"RINGING","call_uuid":"x1"}]})"),
                        t0);
    auto ev = emitted(a);
    REQUIRE(ev.size() == 2);
    CHECK(std::get<pbx::ChannelCreated>(ev[0].payload).listed);
    CHECK(std::holds_alternative<pbx::ResyncEnd>(ev[1].payload));
    auto call = esl_fixtures::scripted_call("a-1", "b-1", "+15551234567", "Jane", "1001", true);
    ev = emitted(c.on_bytes(call.ring, t0));
    CHECK(ev.size() == 6);
}

TEST_CASE("a listing FreeSWITCH cannot give still ends the resync, with a warning") {
    Client c = ready_client();
    auto a = c.on_bytes(api_response("-ERR no such command\n"), t0);
    bool warned = false;
    for (const auto& x : a)
        if (auto* w = std::get_if<client_action::Warning>(&x)) warned = w->what.find("not JSON") != std::string::npos;
    CHECK(warned);
    auto ev = emitted(a);
    REQUIRE(ev.size() == 1);
    CHECK(std::holds_alternative<pbx::ResyncEnd>(ev[0].payload));
}

TEST_CASE("a quiet link is kept alive with api status and dropped when that goes unanswered") {
    Client c = ready_client();
    c.on_bytes(api_response(R"({"row_count":0})"), t0);
    REQUIRE(c.next_deadline() == t0 + 15s);
    CHECK(c.on_tick(t0 + 14s).empty());
    auto a = c.on_tick(t0 + 15s);
    CHECK(writes(a) == std::vector<std::string>{"api status\n\n"});
    CHECK(c.next_deadline() == t0 + 25s);
    // Answered: no close, the keep-alive timer starts over.
    c.on_bytes(api_response("UP 0 years, 0 days\n"), t0 + 16s);
    CHECK(c.next_deadline() == t0 + 31s);
    a = c.on_tick(t0 + 31s);
    CHECK(writes(a).size() == 1);
    a = c.on_tick(t0 + 41s);
    REQUIRE(closed(a));
    CHECK(closed(a)->reason == "FreeSWITCH did not answer the keep-alive in time");
}

TEST_CASE("no auth/request within the login timeout closes the link") {
    Client c(PbxId{"fs"}, cfg());
    c.on_connected(t0);
    CHECK(c.on_tick(t0 + 9s).empty());
    auto a = c.on_tick(t0 + 10s);
    REQUIRE(closed(a));
    CHECK(closed(a)->reason == "FreeSWITCH did not complete the event socket login in time");
}

TEST_CASE("a reader limit crossed is a warning, not a lost link") {
    Client c = ready_client();
    c.on_bytes(api_response(R"({"row_count":0})"), t0);
    auto a = c.on_bytes("X: " + std::string(10'000, 'x') + "\n\n", t0);
    CHECK(!closed(a));
    REQUIRE(a.size() == 1);
    CHECK(std::holds_alternative<client_action::Warning>(a[0]));
}

TEST_CASE("a reconnect starts over: events before a new login are not mapped") {
    Client c = ready_client();
    c.on_disconnected(t0);
    c.on_connected(t0);
    auto call = esl_fixtures::scripted_call("a-1", "b-1", "+15551234567", "Jane", "1001", true);
    CHECK(emitted(c.on_bytes(call.ring, t0)).empty());
}
