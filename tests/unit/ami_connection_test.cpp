// Integration: the Asio shell against an in-test Asterisk on loopback that
// speaks with the bytes of the panoramisk captures.
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "ami_fixtures.hpp"
#include "ringside/ami/connection.hpp"

using namespace ringside;
using namespace ringside::ami;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

/// The server's side of a panoramisk transcript, ActionID echoed as Asterisk does.
std::string server_side(const std::string& fixture, std::string_view action_id) {
    std::string out;
    for (const auto& item : ami_test::read_all(ami_test::fixture("panoramisk/" + fixture))) {
        if (std::holds_alternative<Greeting>(item)) continue;
        Message m = std::get<Message>(item);
        if (m.has("Action")) continue;
        for (auto& f : m.fields)
            if (iequals(f.key, "ActionID")) f.value = std::string(action_id);
        out += m.serialize();
    }
    return out;
}

/// One accepted link, driven with blocking calls from the test thread.
struct Peer {
    tcp::socket socket;
    Reader reader;

    void send(std::string_view bytes) { asio::write(socket, asio::buffer(bytes)); }
    Message read_message() {
        for (;;) {
            while (auto item = reader.next())
                if (auto* m = std::get_if<Message>(&*item)) return *m;
            char buf[4096];
            auto n = socket.read_some(asio::buffer(buf));
            reader.put(std::string_view(buf, n));
        }
    }
    bool closed_by_client() {
        char buf[256];
        boost::system::error_code ec;
        for (;;) {
            socket.read_some(asio::buffer(buf), ec);
            if (ec) return true;
        }
    }
};

struct FakeAsterisk {
    asio::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::uint16_t port() const { return acceptor.local_endpoint().port(); }
    Peer accept() {
        tcp::socket s(io);
        acceptor.accept(s);
        return Peer{std::move(s), Reader{}};
    }
};

struct Collector {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<pbx::Event> events;

    void add(pbx::Event e) {
        std::lock_guard lock(mutex);
        events.push_back(std::move(e));
        cv.notify_all();
    }
    template <class T>
    std::size_t count() {
        std::lock_guard lock(mutex);
        std::size_t n = 0;
        for (const auto& e : events) n += std::holds_alternative<T>(e.payload);
        return n;
    }
    template <class T>
    bool wait_for(std::size_t n = 1) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, 10s, [&] {
            std::size_t c = 0;
            for (const auto& e : events) c += std::holds_alternative<T>(e.payload);
            return c >= n;
        });
    }
};

/// The client side: a Connection on its own io_context thread.
struct Link {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    Collector events;
    std::unique_ptr<Connection> conn;
    std::thread thread;

    explicit Link(ConnectionConfig cfg) {
        conn = std::make_unique<Connection>(io.get_executor(), std::move(cfg), [this](pbx::Event e) { events.add(std::move(e)); });
        thread = std::thread([this] { io.run(); });
        conn->start();
    }
    ~Link() {
        conn->stop();
        conn.reset();
        guard.reset();
        thread.join();
    }
    template <class Pred>
    bool wait_status(Pred pred) {
        for (int i = 0; i < 1000; ++i) {
            if (pred(conn->status())) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }
};

ConnectionConfig config(std::uint16_t port, std::string secret = "change-me", bool md5 = false) {
    ConnectionConfig c;
    c.pbx = PbxId{"main"};
    c.host = "127.0.0.1";
    c.port = port;
    c.username = "ringside";
    c.secret = std::move(secret);
    c.md5 = md5;
    c.backoff_initial = 100ms;
    c.backoff_max = 400ms;
    return c;
}

/// Plays Asterisk through a plain login and an empty CoreShowChannels.
void accept_login(Peer& p, std::string_view greeting = "Asterisk Call Manager/1.3\r\n") {
    p.send(greeting);
    auto login = p.read_message();
    REQUIRE(login.get("Action") == "Login");
    CHECK(login.get("Username") == "ringside");
    CHECK(login.get("Secret") == "change-me");
    CHECK(login.get("Events") == "on");
    p.send(server_side("login_ok.yaml", login.get("ActionID")));
    auto list = p.read_message();
    REQUIRE(list.get("Action") == "CoreShowChannels");
    const std::string id(list.get("ActionID"));
    p.send("Response: Success\r\nActionID: " + id + "\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n"
           "Event: CoreShowChannel\r\nActionID: " + id + "\r\nChannel: SIP/1001-0000001a\r\nUniqueid: 1732370400.12\r\n"
           "Linkedid: 1732370400.12\r\nChannelState: 6\r\n\r\n"
           "Event: CoreShowChannelsComplete\r\nActionID: " + id + "\r\nEventList: Complete\r\nListItems: 1\r\n\r\n");
}

}  // namespace

TEST_CASE("plain login, then the live channels are listed between ResyncBegin and ResyncEnd") {
    FakeAsterisk asterisk;
    Link link(config(asterisk.port()));
    auto peer = asterisk.accept();
    accept_login(peer);
    REQUIRE(link.events.wait_for<pbx::ResyncEnd>());
    CHECK(link.events.count<pbx::ResyncBegin>() == 1);
    CHECK(link.events.count<pbx::ChannelCreated>() == 1);
    REQUIRE(link.wait_status([](const LinkStatus& s) { return s.state == LinkState::connected; }));
    auto st = link.conn->status();
    CHECK(st.reconnects == 0);
    CHECK(st.events_received == 3);
    CHECK(st.last_event_at.has_value());
    CHECK(st.last_error.empty());
}

TEST_CASE("MD5 login answers the challenge without sending the secret") {
    FakeAsterisk asterisk;
    Link link(config(asterisk.port(), "yyyyyyyyyyyy", true));
    auto peer = asterisk.accept();
    peer.send("Asterisk Call Manager/7.0.3\r\n");
    auto challenge = peer.read_message();
    REQUIRE(challenge.get("Action") == "Challenge");
    CHECK(challenge.get("AuthType") == "MD5");
    peer.send(server_side("login_md5.yaml", challenge.get("ActionID")));
    auto login = peer.read_message();
    CHECK(login.get("Key") == md5_hex("145769581yyyyyyyyyyyy"));
    CHECK_FALSE(login.has("Secret"));
    peer.send("Response: Success\r\nActionID: " + std::string(login.get("ActionID")) +
              "\r\nMessage: Authentication accepted\r\n\r\n");
    CHECK(peer.read_message().get("Action") == "CoreShowChannels");
    REQUIRE(link.wait_status([](const LinkStatus& s) { return s.state == LinkState::connected; }));
}

TEST_CASE("a wrong secret is logged in plain words and retried with a growing back-off") {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    sink->set_pattern("%v");
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("ami-test", sink));

    FakeAsterisk asterisk;
    Link link(config(asterisk.port(), "wrong"));
    // Three refused attempts: the waits are (accepted again - refused before).
    std::vector<std::chrono::steady_clock::time_point> refused_at, accepted_at;
    for (int i = 0; i < 3; ++i) {
        auto peer = asterisk.accept();
        accepted_at.push_back(std::chrono::steady_clock::now());
        peer.send("Asterisk Call Manager/1.3\r\n");
        auto login = peer.read_message();
        peer.send(server_side("login_failed.yaml", login.get("ActionID")));
        refused_at.push_back(std::chrono::steady_clock::now());
        CHECK(peer.closed_by_client());
    }
    const auto wait1 = accepted_at[1] - refused_at[0];
    const auto wait2 = accepted_at[2] - refused_at[1];
    CHECK(wait1 >= 70ms);   // 100 ms less jitter
    CHECK(wait2 >= 150ms);  // doubled
    CHECK(wait2 > wait1);

    REQUIRE(link.wait_status([](const LinkStatus& s) { return s.reconnects >= 3; }));
    auto st = link.conn->status();
    CHECK(st.state == LinkState::login_refused);
    CHECK(st.last_error == "AMI login rejected for user ringside (Authentication failed)");
    bool logged = false;
    for (const auto& line : sink->last_formatted())
        logged = logged || line.find("pbx main: AMI login rejected for user ringside (Authentication failed); retrying in") == 0;
    CHECK(logged);
    CHECK(link.events.count<pbx::LinkDown>() == 0);  // never logged in: nothing was known
    spdlog::set_default_logger(previous);
}

TEST_CASE("a peer that closes mid-stream is reconnected and the channels are listed again") {
    FakeAsterisk asterisk;
    Link link(config(asterisk.port()));
    {
        auto peer = asterisk.accept();
        accept_login(peer);
        REQUIRE(link.events.wait_for<pbx::ResyncEnd>());
        peer.send("Event: Newchannel\r\nChannel: SIP/1001-0000001b\r\nUnique");  // cut mid-message
    }  // the peer's socket closes here
    REQUIRE(link.events.wait_for<pbx::LinkDown>());
    auto peer = asterisk.accept();
    accept_login(peer);  // asserts CoreShowChannels is sent again
    REQUIRE(link.events.wait_for<pbx::ResyncEnd>(2));
    CHECK(link.events.count<pbx::ResyncBegin>() == 2);
    REQUIRE(link.wait_status([](const LinkStatus& s) { return s.state == LinkState::connected; }));
    auto st = link.conn->status();
    CHECK(st.reconnects == 1);
    CHECK(st.last_error == "AMI peer closed the connection");
}

TEST_CASE("a 1 MB garbage line is dropped with a warning and the link carries on") {
    FakeAsterisk asterisk;
    Link link(config(asterisk.port()));
    auto peer = asterisk.accept();
    accept_login(peer);
    REQUIRE(link.events.wait_for<pbx::ResyncEnd>());
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 16; ++i) peer.send(chunk);
    peer.send("\r\nEvent: Hangup\r\nUniqueid: 9.9\r\nCause: 16\r\nCause-txt: Normal Clearing\r\n\r\n");
    REQUIRE(link.events.wait_for<pbx::Hangup>());
    auto st = link.conn->status();
    CHECK(st.protocol_warnings == 1);
    CHECK(st.reconnects == 0);
    CHECK(st.state == LinkState::connected);
}
