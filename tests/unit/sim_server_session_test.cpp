// The simulator's answers to AMI actions, byte for byte as Asterisk 13+
// manager.c writes them. No sockets.
#include <doctest/doctest.h>

#include "ringside/ami/client.hpp"
#include "ringside/sim/call_script.hpp"
#include "ringside/sim/server_session.hpp"

using namespace ringside;
using namespace ringside::sim;
using namespace std::chrono_literals;

namespace {

ami::Message action(std::initializer_list<ami::Field> fields) { return ami::Message{fields}; }

const Timestamp t0 = Timestamp(std::chrono::milliseconds(1409169929412LL));

ServerSession fresh() { return ServerSession({{"ringside", "s3cret"}}, "145769581"); }

}  // namespace

TEST_CASE("md5_hex matches RFC 1321 test vectors") {
    CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
    CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
    CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST_CASE("a plain login is accepted with Asterisk's reply and FullyBooted") {
    auto s = fresh();
    ChannelTable t;
    auto r = s.handle(action({{"Action", "Login"}, {"ActionID", "1"}, {"Username", "ringside"}, {"Secret", "s3cret"}}), t, t0);
    CHECK(r.bytes ==
          "Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"
          "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n");
    CHECK(r.logged_in);
    CHECK_FALSE(r.close);
    CHECK(s.authenticated());
    CHECK(s.events_on());
    r = s.handle(action({{"Action", "Login"}, {"Username", "ringside"}, {"Secret", "s3cret"}}), t, t0);
    CHECK(r.bytes == "Response: Success\r\nMessage: Already authenticated\r\n\r\n");
}

TEST_CASE("a wrong secret is refused after a delay and ends the session like Asterisk") {
    auto s = fresh();
    ChannelTable t;
    auto r = s.handle(action({{"Action", "login"}, {"ActionID", "x/1"}, {"Username", "ringside"}, {"Secret", "nope"}}), t, t0);
    CHECK(r.bytes == "Response: Error\r\nActionID: x/1\r\nMessage: Authentication failed\r\n\r\n");
    CHECK(r.delay);
    CHECK(r.close);
    CHECK_FALSE(s.authenticated());
    r = s.handle(action({{"Action", "Login"}, {"Username", "ringside"}, {"Secret", "nope"}}), t, t0, false);
    CHECK_FALSE(r.close);  // configurable: keep the session for another attempt
}

TEST_CASE("an MD5 login answers the challenge key md5(challenge + secret)") {
    auto s = fresh();
    ChannelTable t;
    auto r = s.handle(action({{"Action", "Challenge"}, {"AuthType", "MD5"}, {"ActionID", "c"}}), t, t0);
    CHECK(r.bytes == "Response: Success\r\nActionID: c\r\nChallenge: 145769581\r\n\r\n");
    r = s.handle(action({{"Action", "Login"}, {"AuthType", "MD5"}, {"Username", "ringside"},
                         {"Key", md5_hex("145769581s3cret")}}), t, t0);
    CHECK(r.logged_in);
    CHECK(s.authenticated());
}

TEST_CASE("an MD5 key without a challenge first, or for another secret, fails") {
    ChannelTable t;
    auto s = fresh();
    auto r = s.handle(action({{"Action", "Login"}, {"AuthType", "MD5"}, {"Username", "ringside"},
                              {"Key", md5_hex("145769581s3cret")}}), t, t0, false);
    CHECK_FALSE(r.logged_in);
    s.handle(action({{"Action", "Challenge"}, {"AuthType", "MD5"}}), t, t0);
    r = s.handle(action({{"Action", "Login"}, {"AuthType", "MD5"}, {"Username", "ringside"},
                         {"Key", md5_hex("145769581other")}}), t, t0, false);
    CHECK_FALSE(r.logged_in);
    r = s.handle(action({{"Action", "Challenge"}, {"AuthType", "plain"}}), t, t0);
    CHECK(r.bytes == "Response: Error\r\nMessage: Must specify AuthType\r\n\r\n");
}

TEST_CASE("actions before login are refused with Permission denied") {
    auto s = fresh();
    ChannelTable t;
    auto r = s.handle(action({{"Action", "Ping"}, {"ActionID", "7"}}), t, t0);
    CHECK(r.bytes == "Response: Error\r\nActionID: 7\r\nMessage: Permission denied\r\n\r\n");
}

TEST_CASE("Ping, Events, unknown actions and Logoff answer like Asterisk and echo ActionID") {
    auto s = fresh();
    ChannelTable t;
    s.handle(action({{"Action", "Login"}, {"Username", "ringside"}, {"Secret", "s3cret"}}), t, t0);
    auto r = s.handle(action({{"Action", "Ping"}, {"ActionID", "p1"}}), t, t0);
    CHECK(r.bytes == "Response: Success\r\nActionID: p1\r\nPing: Pong\r\nTimestamp: 1409169929.412000\r\n\r\n");
    r = s.handle(action({{"Action", "Events"}, {"EventMask", "off"}}), t, t0);
    CHECK(r.bytes == "Response: Success\r\nEvents: Off\r\n\r\n");
    CHECK_FALSE(s.events_on());
    r = s.handle(action({{"Action", "Events"}, {"EventMask", "on"}, {"ActionID", "e"}}), t, t0);
    CHECK(r.bytes == "Response: Success\r\nActionID: e\r\nEvents: On\r\n\r\n");
    CHECK(s.events_on());
    r = s.handle(action({{"Action", "QueueStatus"}, {"ActionID", "q"}}), t, t0);
    CHECK(r.bytes ==
          "Response: Error\r\nActionID: q\r\nMessage: Invalid/unknown command: QueueStatus. "
          "Use Action: ListCommands to show available commands.\r\n\r\n");
    r = s.handle(action({{"ActionID", "n"}}), t, t0);
    CHECK(r.bytes == "Response: Error\r\nActionID: n\r\nMessage: Missing action in request\r\n\r\n");
    r = s.handle(action({{"Action", "Logoff"}, {"ActionID", "bye"}}), t, t0);
    CHECK(r.bytes == "Response: Goodbye\r\nActionID: bye\r\nMessage: Thanks for all the fish.\r\n\r\n");
    CHECK(r.close);
}

TEST_CASE("Events: off in Login stops call events for the session") {
    auto s = fresh();
    ChannelTable t;
    s.handle(action({{"Action", "Login"}, {"Username", "ringside"}, {"Secret", "s3cret"}, {"Events", "off"}}), t, t0);
    CHECK(s.authenticated());
    CHECK_FALSE(s.events_on());
}

TEST_CASE("CoreShowChannels is a list: ack, one event per channel, then the count") {
    auto s = fresh();
    ChannelTable t;
    s.handle(action({{"Action", "Login"}, {"Username", "ringside"}, {"Secret", "s3cret"}}), t, t0);
    auto r = s.handle(action({{"Action", "CoreShowChannels"}, {"ActionID", "l"}}), t, t0);
    CHECK(r.bytes ==
          "Response: Success\r\nActionID: l\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n"
          "Event: CoreShowChannelsComplete\r\nActionID: l\r\nEventList: Complete\r\nListItems: 0\r\n\r\n");

    CallPlan p;
    p.epoch_seconds = 1409169929;
    p.caller_number = "+31201234567";
    p.extensions = {"1001"};
    p.start = t0;
    const auto script = script_call(p);
    for (std::size_t i = 0; i < 9; ++i) t.apply(script.events[i].message, t0);  // up to the DialBegin
    REQUIRE(t.size() == 2);
    r = s.handle(action({{"Action", "CoreShowChannels"}, {"ActionID", "l2"}}), t, t0 + 3s);
    CHECK(r.bytes.find("Event: CoreShowChannel\r\nActionID: l2\r\nChannel: SIP/trunk-provider-00000001\r\n") !=
          std::string::npos);
    CHECK(r.bytes.find("Channel: SIP/1001-00000002\r\n") != std::string::npos);
    CHECK(r.bytes.find("Duration: 00:00:03\r\n") != std::string::npos);
    CHECK(r.bytes.find("Application: Dial\r\nApplicationData: SIP/1001,30,tT\r\n") != std::string::npos);
    CHECK(r.bytes.ends_with("EventList: Complete\r\nListItems: 2\r\n\r\n"));
}

TEST_CASE("QueuePause: the action Ringside builds is answered as app_queue answers it, and refusals name the field") {
    auto s = fresh();
    ChannelTable t;
    REQUIRE(s.handle(action({{"Action", "Login"}, {"Username", "ringside"}, {"Secret", "s3cret"}}), t, t0).logged_in);

    ami::QueuePauseRequest q;
    q.interface = "PJSIP/1001";
    q.paused = true;
    q.reason = "lunch";
    auto built = ami::queue_pause_action(q);
    REQUIRE(built);
    CHECK(built->serialize() == "Action: QueuePause\r\nInterface: PJSIP/1001\r\nPaused: true\r\nReason: lunch\r\n\r\n");
    built->fields.push_back({"ActionID", "7"});
    auto r = s.handle(*built, t, t0);
    CHECK(r.bytes == "Response: Success\r\nActionID: 7\r\nMessage: Interface paused successfully\r\n\r\n");
    REQUIRE(r.queue_pause);
    CHECK(r.queue_pause->interface == "PJSIP/1001");
    CHECK(r.queue_pause->paused);
    CHECK(r.queue_pause->reason == "lunch");

    q.paused = false;
    q.reason.clear();
    built = ami::queue_pause_action(q);
    REQUIRE(built);
    CHECK(built->serialize() == "Action: QueuePause\r\nInterface: PJSIP/1001\r\nPaused: false\r\n\r\n");
    r = s.handle(*built, t, t0);
    CHECK(r.bytes == "Response: Success\r\nMessage: Interface unpaused successfully\r\n\r\n");
    REQUIRE(r.queue_pause);
    CHECK_FALSE(r.queue_pause->paused);

    r = s.handle(action({{"Action", "QueuePause"}, {"Paused", "true"}}), t, t0);
    CHECK(r.bytes == "Response: Error\r\nMessage: Need 'Interface' parameter.\r\n\r\n");
    CHECK_FALSE(r.queue_pause);
    r = s.handle(action({{"Action", "QueuePause"}, {"Interface", "PJSIP/1001"}}), t, t0);
    CHECK(r.bytes == "Response: Error\r\nMessage: Need 'Paused' parameter.\r\n\r\n");

    // A value that would inject another action is never built.
    q.reason = "lunch\r\nAction: Logoff";
    CHECK_FALSE(ami::queue_pause_action(q));
    q.reason.clear();
    q.interface.clear();
    CHECK_FALSE(ami::queue_pause_action(q));
}
