// The simulated Asterisk over real loopback sockets, driven by a plain
// blocking Asio client (integration: opens sockets).
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <poll.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "fixture_file.hpp"
#include "ringside/ami/reader.hpp"
#include "ringside/sim/simulated_asterisk.hpp"

using namespace ringside;
using namespace ringside::sim;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The simulator on an io_context run by two threads, like the ringside binary.
struct Running {
    explicit Running(SimConfig cfg) : sim(ioc, std::move(cfg)) {
        sim.start();
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { ioc.run(); });
    }
    ~Running() {
        sim.stop();
        guard.reset();
        for (auto& t : threads) t.join();
    }
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(ioc);
    SimulatedAsterisk sim;
    std::vector<std::thread> threads;
};

SimConfig test_config() {
    SimConfig c;
    c.users = {{"ringside", "s3cret"}};
    c.auth_failure_delay = 20ms;
    return c;
}

class Client {
public:
    explicit Client(std::uint16_t port, int rcvbuf = 0) : socket_(ioc_) {
        socket_.open(tcp::v4());
        if (rcvbuf) socket_.set_option(asio::socket_base::receive_buffer_size(rcvbuf));
        socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }
    void send(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes.data(), bytes.size())); }

    /// Next item, or nullopt after `timeout` or at end of stream (then eof() is true).
    std::optional<ami::ReaderItem> next_item(std::chrono::milliseconds timeout = 3000ms) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            if (auto item = reader_.next()) return item;
            if (eof_ || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
            // Asio retries a blocking read until data comes, so wait with poll() to honour the timeout.
            pollfd pfd{socket_.native_handle(), POLLIN, 0};
            if (::poll(&pfd, 1, 50) <= 0) continue;
            char buf[8192];
            boost::system::error_code ec;
            const auto n = socket_.read_some(asio::buffer(buf), ec);
            if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
            if (ec) {
                eof_ = true;
                continue;
            }
            reader_.put(std::string_view(buf, n));
        }
    }
    std::optional<ami::Message> next(std::chrono::milliseconds timeout = 3000ms) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto item = next_item(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
            if (!item) return std::nullopt;
            if (auto* g = std::get_if<ami::Greeting>(&*item)) greeting_ = g->line;
            if (auto* m = std::get_if<ami::Message>(&*item)) return *m;
        }
        return std::nullopt;
    }
    /// Skips events until a message satisfying `pred`.
    template <class Pred>
    std::optional<ami::Message> until(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto m = next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
            if (!m) return std::nullopt;
            if (pred(*m)) return m;
        }
        return std::nullopt;
    }
    void login(std::string_view secret = "s3cret") {
        send("Action: Login\r\nActionID: 1\r\nUsername: ringside\r\nSecret: " + std::string(secret) + "\r\n\r\n");
    }
    bool eof() const { return eof_; }
    const std::string& greeting() const { return greeting_; }

private:
    asio::io_context ioc_;
    tcp::socket socket_;
    ami::Reader reader_;
    std::string greeting_;
    bool eof_ = false;
};

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!cond()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

CallPlan call_to(std::string ext, Outcome o, std::chrono::milliseconds ring, std::chrono::milliseconds talk) {
    CallPlan p;
    p.caller_number = "09121234567";
    p.extensions = {std::move(ext)};
    p.outcome = o;
    p.ring_time = ring;
    p.talk_time = talk;
    return p;
}

}  // namespace

TEST_CASE("a client gets the Asterisk 16 greeting and logs in") {
    Running r(test_config());
    REQUIRE(r.sim.port() != 0);
    Client c(r.sim.port());
    c.login();
    auto m = c.next();
    REQUIRE(m);
    CHECK(c.greeting() == "Asterisk Call Manager/5.0.1");
    CHECK(m->get("Response") == "Success");
    CHECK(m->get("ActionID") == "1");
    CHECK(m->get("Message") == "Authentication accepted");
    m = c.next();
    REQUIRE(m);
    CHECK(m->event() == "FullyBooted");
    CHECK(wait_for([&] { return r.sim.counters().clients == 1; }, 2s));
}

TEST_CASE("a wrong secret is answered Authentication failed and the connection is closed") {
    Running r(test_config());
    Client c(r.sim.port());
    c.login("wrong");
    auto m = c.next();
    REQUIRE(m);
    CHECK(m->get("Response") == "Error");
    CHECK(m->get("Message") == "Authentication failed");
    CHECK(m->get("ActionID") == "1");
    CHECK_FALSE(c.next(2000ms));
    CHECK(c.eof());
}

TEST_CASE("with close_on_auth_failure off a client may retry on the same connection") {
    auto cfg = test_config();
    cfg.close_on_auth_failure = false;
    Running r(cfg);
    Client c(r.sim.port());
    c.login("wrong");
    auto m = c.next();
    REQUIRE(m);
    CHECK(m->get("Message") == "Authentication failed");
    c.login();
    m = c.next();
    REQUIRE(m);
    CHECK(m->get("Message") == "Authentication accepted");
}

TEST_CASE("an MD5 login over the wire: Challenge, then the key") {
    Running r(test_config());
    Client c(r.sim.port());
    c.send("Action: Challenge\r\nAuthType: MD5\r\nActionID: c1\r\n\r\n");
    auto m = c.next();
    REQUIRE(m);
    CHECK(m->get("Response") == "Success");
    CHECK(m->get("ActionID") == "c1");
    const std::string challenge(m->get("Challenge"));
    REQUIRE_FALSE(challenge.empty());
    c.send("Action: Login\r\nAuthType: MD5\r\nUsername: ringside\r\nKey: " + md5_hex(challenge + "s3cret") + "\r\n\r\n");
    m = c.next();
    REQUIRE(m);
    CHECK(m->get("Message") == "Authentication accepted");
}

TEST_CASE("Ping answers Pong with a Timestamp and the ActionID") {
    Running r(test_config());
    Client c(r.sim.port());
    c.login();
    c.send("Action: Ping\r\nActionID: ping-42\r\n\r\n");
    auto m = c.until([](const ami::Message& x) { return x.get("ActionID") == "ping-42"; });
    REQUIRE(m);
    CHECK(m->get("Response") == "Success");
    CHECK(m->get("Ping") == "Pong");
    CHECK(parse_epoch_seconds(m->get("Timestamp")).has_value());
}

TEST_CASE("CoreShowChannels during a call lists its channels, and none after it ended") {
    Running r(test_config());
    Client c(r.sim.port());
    c.login();
    REQUIRE(c.until([](const ami::Message& x) { return x.event() == "FullyBooted"; }));
    const auto linkedid = r.sim.place_call(call_to("1001", Outcome::answered, 300ms, 700ms));
    auto m = c.until([](const ami::Message& x) { return x.event() == "BridgeEnter" && x.get("BridgeNumChannels") == "2"; });
    REQUIRE(m);
    CHECK(m->get("Linkedid") == linkedid);
    c.send("Action: CoreShowChannels\r\nActionID: csc\r\n\r\n");
    auto ack = c.until([](const ami::Message& x) { return x.get("ActionID") == "csc"; });
    REQUIRE(ack);
    CHECK(ack->get("EventList") == "start");
    std::vector<ami::Message> listed;
    while (auto e = c.next()) {
        if (e->event() == "CoreShowChannelsComplete") {
            CHECK(e->get("ListItems") == "2");
            break;
        }
        if (e->event() == "CoreShowChannel") listed.push_back(*e);
    }
    REQUIRE(listed.size() == 2);
    for (const auto& l : listed) {
        CHECK(l.get("Linkedid") == linkedid);
        CHECK(l.get("ChannelStateDesc") == "Up");
        CHECK_FALSE(l.get("BridgeId").empty());
    }
    REQUIRE(c.until([&](const ami::Message& x) { return x.event() == "Hangup" && x.get("Uniqueid") == linkedid; }));
    CHECK(r.sim.counters().live_channels == 0);
    CHECK(r.sim.counters().calls_placed == 1);
}

TEST_CASE("a client that never reads is dropped while another still gets its events promptly") {
    auto cfg = test_config();
    // Room for a live reader that a loaded CI machine starves for a few
    // hundred milliseconds (the 800 calls below are ~9 MB), none for one
    // that never reads.
    cfg.max_queued_bytes = 1024 * 1024;
    cfg.write_timeout = 2000ms;
    Running r(cfg);

    Client stuck(r.sim.port(), 4096);
    stuck.login();
    Client live(r.sim.port());
    live.login();
    REQUIRE(live.until([](const ami::Message& x) { return x.event() == "FullyBooted"; }));
    // The stuck client's login must be processed before the flood; it never reads again.
    REQUIRE(wait_for([&] { return r.sim.counters().clients == 2; }, 2s));
    std::this_thread::sleep_for(100ms);

    RateConfig rate;
    rate.calls_per_second = 400;
    rate.max_calls = 800;
    rate.extensions = {"1001", "1002", "1003"};
    rate.mix.ring_min = rate.mix.ring_max = 50ms;
    rate.mix.talk_min = rate.mix.talk_max = 100ms;
    r.sim.start_rate(rate);

    // The live client reads everything; count the trunk hangups (one per call).
    std::size_t hangups = 0;
    const auto started = std::chrono::steady_clock::now();
    while (hangups < rate.max_calls) {
        auto m = live.next(3000ms);
        REQUIRE_MESSAGE(m, "live client stalled after " << hangups << " calls");
        if (m->event() == "Hangup" && m->get("Uniqueid") == m->get("Linkedid")) ++hangups;
    }
    const auto took = std::chrono::steady_clock::now() - started;
    // 800 calls at 400/s finish about 2.2 s after the start; the stuck client must not slow that down.
    CHECK(took < 8s);
    CHECK(wait_for([&] { return r.sim.counters().clients_dropped_slow == 1; }, 3s));
    CHECK(r.sim.counters().clients == 1);
    CHECK(r.sim.counters().calls_placed == 800);
}

TEST_CASE("replay mode sends the fixture bytes to each client after login") {
    auto cfg = test_config();
    cfg.replay = fixture_file::read("ami/goami2/call_chan_sip_dial_bridge.DERIVED.ami");
    Running r(cfg);
    Client c(r.sim.port());
    c.login();
    std::vector<std::string> events;
    while (auto m = c.next(1000ms)) events.emplace_back(m->event());
    REQUIRE(events.size() > 10);
    CHECK(events[0] == "");  // the login response
    CHECK(events[1] == "FullyBooted");
    CHECK(events[2] == "DeviceStateChange");
    CHECK(std::count(events.begin(), events.end(), "DialEnd") == 1);
    CHECK(events.back() == "Hangup");
}

TEST_CASE("the demo places calls to the extensions the callback returns, none when it returns none") {
    Running r(test_config());
    Client c(r.sim.port());
    c.login();
    REQUIRE(c.until([](const ami::Message& x) { return x.event() == "FullyBooted"; }));
    std::atomic<bool> agents{false};
    DemoConfig demo;
    demo.interval = 100ms;
    r.sim.start_demo(demo, [&] {
        return agents ? std::vector<std::string>{"1007"} : std::vector<std::string>{};
    });
    std::this_thread::sleep_for(350ms);
    CHECK(r.sim.counters().calls_placed == 0);
    agents = true;
    auto m = c.until([](const ami::Message& x) { return x.event() == "DialBegin"; }, 3000ms);
    REQUIRE(m);
    CHECK(m->get("DestChannel").starts_with("SIP/1007-"));
    r.sim.stop_traffic();
}

TEST_CASE("the demo never rings a phone that is already ringing or talking") {
    Running r(test_config());
    Client c(r.sim.port());
    c.login();
    REQUIRE(c.until([](const ami::Message& x) { return x.event() == "FullyBooted"; }));
    DemoConfig demo;
    demo.interval = 100ms;
    demo.mix.ring_min = demo.mix.ring_max = 5000ms;  // the phone rings throughout the test
    r.sim.start_demo(demo, [] { return std::vector<std::string>{"1007"}; });
    auto m = c.until([](const ami::Message& x) { return x.event() == "DialBegin"; }, 3000ms);
    REQUIRE(m);
    std::this_thread::sleep_for(600ms);  // six more demo ticks while 1007 rings
    CHECK(r.sim.counters().calls_placed == 1);
    r.sim.stop_traffic();
}
