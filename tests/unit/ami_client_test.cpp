#include <doctest/doctest.h>

#include "ami_fixtures.hpp"
#include "ringside/ami/client.hpp"

using namespace ringside;
using namespace ringside::ami;
using namespace std::chrono_literals;

namespace {

const Timestamp t0{std::chrono::milliseconds{1'700'000'000'000}};

ClientConfig config(bool md5 = false) {
    ClientConfig c;
    c.username = "nnnnnnnnn";
    c.secret = "yyyyyyyyyyyy";
    c.md5 = md5;
    return c;
}

/// What the server said in a panoramisk transcript, as wire bytes, with the
/// transcript's ActionID replaced by the one our client sent (a real
/// Asterisk echoes it). Client `Action:` blocks are left out.
std::string server_side(const std::string& fixture, const std::string& action_id) {
    std::string out;
    for (const auto& item : ami_test::read_all(ami_test::fixture("panoramisk/" + fixture))) {
        if (auto* g = std::get_if<Greeting>(&item)) {
            out += g->line + "\r\n";
            continue;
        }
        Message m = std::get<Message>(item);
        if (m.has("Action")) continue;
        for (auto& f : m.fields)
            if (iequals(f.key, "ActionID")) f.value = action_id;
        out += m.serialize();
    }
    return out;
}

std::vector<std::string> writes(const ClientActions& as) {
    std::vector<std::string> out;
    for (const auto& a : as)
        if (auto* w = std::get_if<client_action::Write>(&a)) out.push_back(w->bytes);
    return out;
}

template <class T>
std::vector<T> all_of(const ClientActions& as) {
    std::vector<T> out;
    for (const auto& a : as)
        if (auto* p = std::get_if<T>(&a)) out.push_back(*p);
    return out;
}

std::vector<pbx::Payload> emitted(const ClientActions& as) {
    std::vector<pbx::Payload> out;
    for (const auto& e : all_of<client_action::Emit>(as)) out.push_back(e.event.payload);
    return out;
}

/// Logs a client in with login_ok and answers CoreShowChannels with an empty list.
void log_in(Client& c, Timestamp now) {
    c.on_connected(now);
    auto a = c.on_bytes("Asterisk Call Manager/1.3\r\n", now);
    auto w = writes(a);
    REQUIRE(w.size() == 1);
    auto id = ami_test::read_messages(w[0]).at(0).get("ActionID");
    a = c.on_bytes(server_side("login_ok.yaml", std::string(id)).substr(std::string("Asterisk Call Manager/1.3\r\n").size()), now);
    REQUIRE(all_of<client_action::LoggedIn>(a).size() == 1);
    REQUIRE(c.state() == Client::State::logged_in);
}

}  // namespace

TEST_CASE("md5_hex matches RFC 1321 test vectors") {
    CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
    CHECK(md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
          "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("a plain login writes Login with Events on, then resyncs with CoreShowChannels") {
    Client c{PbxId{"main"}, config()};
    CHECK(c.on_connected(t0).empty());
    CHECK(c.state() == Client::State::awaiting_greeting);

    const std::string server = server_side("login_ok.yaml", "ringside-1");
    const auto greeting_end = server.find("\r\n") + 2;
    auto a = c.on_bytes(server.substr(0, greeting_end), t0);
    REQUIRE(writes(a) == std::vector<std::string>{
                             "Action: Login\r\nActionID: ringside-1\r\nUsername: nnnnnnnnn\r\nSecret: yyyyyyyyyyyy\r\n"
                             "Events: on\r\n\r\n"});

    a = c.on_bytes(server.substr(greeting_end), t0 + 10ms);
    REQUIRE(all_of<client_action::LoggedIn>(a).size() == 1);
    CHECK(all_of<client_action::LoggedIn>(a)[0].greeting == "Asterisk Call Manager/1.3");
    CHECK(writes(a) == std::vector<std::string>{"Action: CoreShowChannels\r\nActionID: ringside-2\r\n\r\n"});
    auto evs = emitted(a);
    REQUIRE(evs.size() == 1);
    CHECK(std::holds_alternative<pbx::ResyncBegin>(evs[0]));

    // The listing: each channel as ChannelCreated, then ResyncEnd.
    a = c.on_bytes(
        "Response: Success\r\nActionID: ringside-2\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n"
        "Event: CoreShowChannel\r\nActionID: ringside-2\r\nChannel: SIP/1001-0000001a\r\nUniqueid: 1732370400.12\r\n"
        "Linkedid: 1732370400.10\r\nChannelState: 5\r\nCallerIDNum: 1001\r\n\r\n"
        "Event: CoreShowChannelsComplete\r\nActionID: ringside-2\r\nEventList: Complete\r\nListItems: 1\r\n\r\n",
        t0 + 20ms);
    evs = emitted(a);
    REQUIRE(evs.size() == 2);
    auto* created = std::get_if<pbx::ChannelCreated>(&evs[0]);
    REQUIRE(created);
    CHECK(created->ch.uniqueid == "1732370400.12");
    CHECK(created->ch.state == pbx::ChannelState::ringing);
    CHECK(std::holds_alternative<pbx::ResyncEnd>(evs[1]));
}

TEST_CASE("a refused login reports Asterisk's message and closes the link") {
    Client c{PbxId{"main"}, config()};
    c.on_connected(t0);
    auto a = c.on_bytes(server_side("login_failed.yaml", "ringside-1"), t0);
    REQUIRE(writes(a).size() == 1);
    auto refused = all_of<client_action::LoginRefused>(a);
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].message == "Authentication failed");
    auto closes = all_of<client_action::Close>(a);
    REQUIRE(closes.size() == 1);
    CHECK(closes[0].reason == "AMI login rejected for user nnnnnnnnn (Authentication failed)");
    CHECK(std::holds_alternative<client_action::Close>(a.back()));
    CHECK(c.state() == Client::State::closed);
    // Never logged in: no LinkDown.
    CHECK(emitted(c.on_disconnected(t0)).empty());
}

TEST_CASE("an MD5 login asks for a challenge and answers with md5(challenge + secret)") {
    Client c{PbxId{"main"}, config(true)};
    c.on_connected(t0);
    auto a = c.on_bytes(server_side("login_md5.yaml", "ringside-1"), t0);
    auto w = writes(a);
    REQUIRE(w.size() == 2);
    CHECK(w[0] == "Action: Challenge\r\nActionID: ringside-1\r\nAuthType: MD5\r\n\r\n");
    CHECK(w[1] == "Action: Login\r\nActionID: ringside-2\r\nAuthType: MD5\r\nUsername: nnnnnnnnn\r\n"
                  "Key: e9a862b3f6a759df261c435b8fb13493\r\nEvents: on\r\n\r\n");
    CHECK(w[1].find("yyyyyyyyyyyy") == std::string::npos);  // the secret never goes on the wire
    a = c.on_bytes("Response: Success\r\nActionID: ringside-2\r\nMessage: Authentication accepted\r\n\r\n", t0);
    CHECK(all_of<client_action::LoggedIn>(a).size() == 1);
}

TEST_CASE("an idle link is pinged, a Pong keeps it, silence closes it") {
    Client c{PbxId{"main"}, config()};
    log_in(c, t0);
    CHECK(writes(c.on_tick(t0 + 14s)).empty());
    CHECK(c.next_deadline() == t0 + 15s);
    auto a = c.on_tick(t0 + 15s);
    REQUIRE(writes(a) == std::vector<std::string>{"Action: Ping\r\nActionID: ringside-3\r\n\r\n"});
    CHECK(c.next_deadline() == t0 + 25s);
    CHECK(c.on_tick(t0 + 16s).empty());  // one Ping at a time

    a = c.on_bytes(server_side("ping.yaml", "ringside-3"), t0 + 16s);
    CHECK(all_of<client_action::Close>(a).empty());
    CHECK(c.on_tick(t0 + 30s).empty());
    CHECK(c.next_deadline() == t0 + 31s);

    a = c.on_tick(t0 + 31s);
    REQUIRE(writes(a) == std::vector<std::string>{"Action: Ping\r\nActionID: ringside-4\r\n\r\n"});
    CHECK(c.on_tick(t0 + 40s).empty());
    a = c.on_tick(t0 + 41s);
    auto closes = all_of<client_action::Close>(a);
    REQUIRE(closes.size() == 1);
    CHECK(closes[0].reason == "AMI peer did not answer Ping");
    auto down = emitted(c.on_disconnected(t0 + 41s));
    REQUIRE(down.size() == 1);
    CHECK(std::holds_alternative<pbx::LinkDown>(down[0]));
}

TEST_CASE("events received keep the link from being pinged") {
    Client c{PbxId{"main"}, config()};
    log_in(c, t0);
    c.on_bytes("Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n", t0 + 10s);
    CHECK(writes(c.on_tick(t0 + 15s)).empty());
    CHECK(writes(c.on_tick(t0 + 25s)).size() == 1);
}

TEST_CASE("a silent peer fails the login after the login timeout") {
    Client c{PbxId{"main"}, config()};
    c.on_connected(t0);
    CHECK(c.on_tick(t0 + 9s).empty());
    auto closes = all_of<client_action::Close>(c.on_tick(t0 + 10s));
    REQUIRE(closes.size() == 1);
    CHECK(closes[0].reason == "AMI peer sent no greeting");
}

TEST_CASE("an action sent later gets its own response by ActionID, even among events") {
    Client c{PbxId{"main"}, config()};
    ClientActions early;
    Message originate;
    originate.fields = {{"Action", "Originate"}, {"Channel", "SIP/1001"}, {"Exten", "200"}, {"ActionID", "theirs"}};
    const auto id = c.send_action(originate, early);
    CHECK(early.empty());  // not logged in: it waits
    CHECK(id == "ringside-1");

    c.on_connected(t0);
    auto a = c.on_bytes("Asterisk Call Manager/5.0.1\r\n", t0);
    REQUIRE(writes(a).size() == 1);
    CHECK(writes(a)[0].find("ActionID: ringside-2") != std::string::npos);
    a = c.on_bytes("Response: Success\r\nActionID: ringside-2\r\nMessage: Authentication accepted\r\n\r\n", t0);
    auto w = writes(a);
    REQUIRE(w.size() == 2);
    CHECK(w[0] == "Action: CoreShowChannels\r\nActionID: ringside-3\r\n\r\n");
    CHECK(w[1] == "Action: Originate\r\nActionID: ringside-1\r\nChannel: SIP/1001\r\nExten: 200\r\n\r\n");

    a = c.on_bytes(
        "Event: Newchannel\r\nChannel: SIP/1001-00000001\r\nUniqueid: 5.1\r\nLinkedid: 5.1\r\nChannelState: 0\r\n\r\n"
        "Response: Success\r\nActionID: ringside-1\r\nMessage: Originate successfully queued\r\n\r\n",
        t0);
    auto responses = all_of<client_action::Response>(a);
    REQUIRE(responses.size() == 1);
    CHECK(responses[0].action_id == "ringside-1");
    CHECK(responses[0].response.get("Message") == "Originate successfully queued");
    CHECK(emitted(a).size() == 1);

    ClientActions later;
    const auto id2 = c.send_action(originate, later);
    CHECK(id2 == "ringside-4");
    REQUIRE(writes(later).size() == 1);
    auto lost = all_of<client_action::Response>(c.on_disconnected(t0));
    REQUIRE(lost.size() == 1);
    CHECK(lost[0].action_id == "ringside-4");
    CHECK(lost[0].lost);
}

TEST_CASE("ActionIDs are never reused across reconnects, and the resync runs again") {
    Client c{PbxId{"main"}, config()};
    log_in(c, t0);
    c.on_disconnected(t0);
    c.on_connected(t0 + 1s);
    auto a = c.on_bytes("Asterisk Call Manager/1.3\r\n", t0 + 1s);
    CHECK(writes(a)[0].find("ActionID: ringside-3") != std::string::npos);
    a = c.on_bytes("Response: Success\r\nActionID: ringside-3\r\n\r\n", t0 + 1s);
    CHECK(writes(a) == std::vector<std::string>{"Action: CoreShowChannels\r\nActionID: ringside-4\r\n\r\n"});
}

TEST_CASE("live events after login are mapped; a reader limit is a warning, not a dead link") {
    Client c{PbxId{"main"}, config()};
    log_in(c, t0);
    auto a = c.on_bytes(ami_test::fixture("goami2/call_chan_sip_dial_bridge.DERIVED.ami"), t0 + 1s);
    bool dial_end = false;
    for (const auto& p : emitted(a)) dial_end = dial_end || std::holds_alternative<pbx::DialEnd>(p);
    CHECK(dial_end);
    a = c.on_bytes(std::string(20000, 'x') + "\r\nEvent: Hangup\r\nUniqueid: 1.1\r\nCause: 16\r\n\r\n", t0 + 2s);
    CHECK(all_of<client_action::Warning>(a).size() == 1);
    CHECK(all_of<client_action::Close>(a).empty());
    auto evs = emitted(a);
    REQUIRE(evs.size() == 1);
    CHECK(std::get<pbx::Hangup>(evs[0]).uniqueid == "1.1");
}
