// HTTPS and WSS served by the real `ringside serve` with a certificate the
// test makes with the openssl command line: sign-in and the API through a
// verifying TLS client, a pop over WSS, the Secure cookie and HSTS, plain
// HTTP on the TLS port refused, SIGHUP picking up a new certificate while an
// open socket stays, and check-config naming the TLS file at fault.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <unistd.h>

#include "ringside/sim/simulated_asterisk.hpp"
#include "tls_client.hpp"

using namespace ringside;
using namespace ringside::test;
using json = nlohmann::json;
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

/// `ringside serve` over TLS on a free port, fed by a simulated Asterisk in
/// this process, with an agent (alice, 1001) and a supervisor (sam). It
/// serves served.crt/served.key, copies of `first` at the start.
struct TlsSite {
    TempDir dir;
    unsigned short port = free_port();
    std::filesystem::path config = dir.path / "ringside.toml";
    TestCert first = make_cert(dir.path, "first");
    TestCert second = make_cert(dir.path, "second");
    std::filesystem::path cert = dir.path / "served.crt";
    std::filesystem::path key = dir.path / "served.key";
    TlsClient tls{{first.cert, second.cert}};
    asio::io_context pbx_ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{pbx_ioc.get_executor()};
    std::thread pbx_thread{[this] { pbx_ioc.run(); }};
    std::unique_ptr<sim::SimulatedAsterisk> pbx;
    std::unique_ptr<Process> ringside;

    TlsSite() {
        serve_files(first.cert, first.key);
        sim::SimConfig sc;
        sc.users = {{"ringside", "s3cret"}};
        pbx = std::make_unique<sim::SimulatedAsterisk>(pbx_ioc, sc);
        pbx->start();
        write_file(config, "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\ntls_certificate = \"" +
                               cert.string() + "\"\ntls_private_key = \"" + key.string() +
                               "\"\n[database]\npath = \"" + (dir.path / "ringside.db").string() +
                               "\"\n[log]\nlevel = \"debug\"\n"
                               "[[pbx]]\nid = \"main\"\ntype = \"asterisk-ami\"\nhost = \"127.0.0.1\"\nport = " +
                               std::to_string(pbx->port()) + "\nusername = \"ringside\"\nsecret = \"s3cret\"\n");
        REQUIRE(add_user(config, dir.path, "alice", "agent", "1001") == 0);
        REQUIRE(add_user(config, dir.path, "sam", "supervisor", "") == 0);
        ringside = std::make_unique<Process>(
            std::vector<std::string>{ringside_binary().string(), "serve", "--config", config.string()}, dir.path);
        if (!tls.wait_healthy(port)) FAIL("ringside did not answer over HTTPS:\n" << ringside->err());
    }

    ~TlsSite() {
        stop_serve(ringside.get());
        pbx->stop();
        work.reset();
        pbx_ioc.stop();
        pbx_thread.join();
    }

    /// What the service reads at its next SIGHUP (or start).
    void serve_files(const std::filesystem::path& c, const std::filesystem::path& k) {
        std::filesystem::copy_file(c, cert, std::filesystem::copy_options::overwrite_existing);
        std::filesystem::copy_file(k, key, std::filesystem::copy_options::overwrite_existing);
    }

    std::string origin() const { return "https://127.0.0.1:" + std::to_string(port); }

    bool wait_pbx_linked() {
        const auto deadline = std::chrono::steady_clock::now() + 15s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (tls.request(port, "GET", "/metrics").body.find("ringside_pbx_link_up{pbx=\"main\",state=\"connected\"} 1") !=
                std::string::npos)
                return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }

    /// A call from Sara's number ringing 1001 for a while, then answered.
    std::string ring_alice() {
        sim::CallPlan p;
        p.caller_number = "09121234567";
        p.extensions = {"1001"};
        p.outcome = sim::Outcome::answered;
        p.ring_time = 1500ms;
        p.talk_time = 500ms;
        return "main-" + pbx->place_call(p);
    }

    /// Polls ringside's stderr until `needle` stands in it `times` times.
    bool wait_log(const std::string& needle, std::size_t times = 1) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (count(ringside->err(), needle) >= times) return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }
};

/// Raw bytes to the port and everything the server sends back until it
/// closes; `closed` is false when it kept the connection open for 10 s.
struct RawExchange {
    std::string received;
    bool closed = false;
};
RawExchange raw(unsigned short port, const std::string& bytes) {
    asio::io_context ioc;
    beast::tcp_stream s(ioc);
    s.expires_after(10s);
    s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    asio::write(s, asio::buffer(bytes));
    RawExchange r;
    char buf[4096];
    for (;;) {
        beast::error_code ec;
        const auto n = s.read_some(asio::buffer(buf), ec);
        r.received.append(buf, n);
        if (ec) {
            r.closed = ec != beast::error::timeout;
            return r;
        }
    }
}

}  // namespace

TEST_CASE("over HTTPS: sign-in and the API work, the cookie is Secure and HSTS is on every answer") {
    TlsSite s;
    auto login = s.tls.request(s.port, "POST", "/api/login", json{{"username", "sam"}, {"password", "password-123"}}.dump());
    REQUIRE(login.status == 200);
    const auto& cookie = login.headers["set-cookie"];
    CHECK(cookie.find("ringside_session=") == 0);
    CHECK(cookie.find("; Secure") != std::string::npos);
    CHECK(cookie.find("HttpOnly") != std::string::npos);
    CHECK(login.headers["strict-transport-security"] == "max-age=31536000");
    const auto token = login.json()["token"].get<std::string>();

    auto me = s.tls.request(s.port, "GET", "/api/me", "", token);
    REQUIRE(me.status == 200);
    CHECK(me.json()["user"]["username"] == "sam");
    CHECK(me.headers["strict-transport-security"] == "max-age=31536000");
    auto health = s.tls.request(s.port, "GET", "/healthz");
    CHECK(health.status == 200);
    CHECK(health.headers.count("strict-transport-security") == 1);

    // A browser's write with the cookie: its own origin is now https://.
    const std::map<std::string, std::string> from_own{{"Cookie", "ringside_session=" + token}, {"Origin", s.origin()}};
    auto created = s.tls.request(s.port, "POST", "/api/customers",
                                 json{{"name", "Sara Ahmadi"}, {"phones", {"09121234567"}}, {"tier", "gold"}}.dump(), "",
                                 from_own);
    CHECK(created.status == 201);
    // The plain-HTTP origin of the same host is not this service's any more.
    auto from_plain = s.tls.request(
        s.port, "POST", "/api/customers", json{{"name", "Mallory"}, {"phones", {"09120000000"}}}.dump(), "",
        {{"Cookie", "ringside_session=" + token}, {"Origin", "http://127.0.0.1:" + std::to_string(s.port)}});
    CHECK(from_plain.status == 403);
    CHECK(from_plain.json()["error"] == "origin_refused");

    auto logout = s.tls.request(s.port, "POST", "/api/logout", "", "", from_own);
    CHECK(logout.status == 200);
    CHECK(logout.headers["set-cookie"].find("; Secure") != std::string::npos);
}

TEST_CASE("a pop reaches the agent over WSS") {
    TlsSite s;
    REQUIRE(s.wait_pbx_linked());
    const auto alice = s.tls.login(s.port, "alice", "password-123");
    WssClient ws(s.tls, s.port, alice);
    ws.send({{"type", "ping"}});
    REQUIRE(ws.next_of("pong"));
    const auto id = s.ring_alice();
    auto ring = ws.next_of("call.ringing");
    REQUIRE(ring);
    CHECK((*ring)["call"]["id"] == id);
    CHECK((*ring)["call"]["from"] == "+989121234567");
    CHECK(ws.next_of("call.answered"));
}

TEST_CASE("plain HTTP on the TLS port gets a plain 400 and is closed; HTTPS carries on") {
    TlsSite s;
    auto r = raw(s.port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    CHECK(r.closed);
    REQUIRE(r.received.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(r.received.find("\"https_required\"") != std::string::npos);
    CHECK(r.received.find("use https://") != std::string::npos);
    CHECK(r.received.find("Strict-Transport-Security") == std::string::npos);  // meaningless over HTTP

    // A plain WebSocket upgrade is refused the same way, and never reaches /ws.
    const auto alice = s.tls.login(s.port, "alice", "password-123");
    CHECK_THROWS(WsClient(s.port, alice));

    // Bytes that are neither HTTP nor TLS, and a client that says nothing:
    // neither holds anyone else up.
    auto junk = raw(s.port, std::string("\x16\x03\x01\x00\x02\x01\x00garbage", 14));
    CHECK(junk.closed);
    asio::io_context ioc;
    asio::ip::tcp::socket silent(ioc);
    silent.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port));
    CHECK(s.tls.request(s.port, "GET", "/healthz").status == 200);
    CHECK(s.tls.request(s.port, "GET", "/api/me", "", alice).status == 200);
    CHECK(s.ringside->running());
}

TEST_CASE("SIGHUP: new connections get the renewed certificate, an open WSS stays; bad files keep the old one") {
    TlsSite s;
    const auto first = file_fingerprint(s.first.cert);
    const auto second = file_fingerprint(s.second.cert);
    REQUIRE(first != second);
    CHECK(s.tls.served_fingerprint(s.port) == first);
    REQUIRE(s.wait_pbx_linked());
    const auto alice = s.tls.login(s.port, "alice", "password-123");
    WssClient ws(s.tls, s.port, alice);
    ws.send({{"type", "ping"}});
    REQUIRE(ws.next_of("pong"));

    s.serve_files(s.second.cert, s.second.key);
    s.ringside->signal(SIGHUP);
    REQUIRE(s.wait_log("SIGHUP: TLS certificate re-read"));
    CHECK(s.ringside->err().find(second) != std::string::npos);  // the log names the new fingerprint
    CHECK(s.tls.served_fingerprint(s.port) == second);

    // The socket opened under the old certificate still carries pops.
    ws.send({{"type", "ping"}});
    CHECK(ws.next_of("pong"));
    const auto id = s.ring_alice();
    auto ring = ws.next_of("call.ringing");
    REQUIRE(ring);
    CHECK((*ring)["call"]["id"] == id);
    CHECK_FALSE(ws.closed());

    // A certificate file that is not one: the service says so and keeps serving the second.
    write_file(s.cert, "not a certificate\n");
    s.ringside->signal(SIGHUP);
    REQUIRE(s.wait_log("SIGHUP: TLS certificate not changed"));
    CHECK(s.ringside->err().find(s.cert.string() + " holds no PEM certificate") != std::string::npos);
    CHECK(s.tls.served_fingerprint(s.port) == second);

    // A key that belongs to another certificate: the same.
    s.serve_files(s.first.cert, s.second.key);
    s.ringside->signal(SIGHUP);
    REQUIRE(s.wait_log("SIGHUP: TLS certificate not changed", 2));
    CHECK(s.ringside->err().find("does not belong to the certificate in " + s.cert.string()) != std::string::npos);
    CHECK(s.tls.served_fingerprint(s.port) == second);
    CHECK(s.tls.request(s.port, "GET", "/api/me", "", alice).status == 200);
    CHECK(s.ringside->running());
}

TEST_CASE("check-config and serve name the TLS file at fault") {
    TempDir dir;
    const auto good = make_cert(dir.path, "good");
    const auto other = make_cert(dir.path, "other");
    const auto cfg = dir.path / "ringside.toml";
    const auto check = [&](const std::string& server_lines) {
        write_file(cfg, "[server]\nlisten = \"127.0.0.1:0\"\n" + server_lines + "[database]\npath = \"" +
                            (dir.path / "ringside.db").string() + "\"\n");
        return run({ringside_binary().string(), "check-config", cfg.string()}, dir.path);
    };
    const auto pair = [](const std::filesystem::path& c, const std::filesystem::path& k) {
        return "tls_certificate = \"" + c.string() + "\"\ntls_private_key = \"" + k.string() + "\"\n";
    };

    auto ok = check(pair(good.cert, good.key));
    CHECK(ok.status == 0);
    CHECK(ok.out.find(": ok") != std::string::npos);

    auto missing = check(pair(dir.path / "nope.crt", good.key));
    CHECK(missing.status == 1);
    CHECK(missing.out.find(":3: server.tls_certificate: cannot read " + (dir.path / "nope.crt").string() +
                           ": No such file or directory") != std::string::npos);

    auto alone = check("tls_private_key = \"" + good.key.string() + "\"\n");
    CHECK(alone.status == 1);
    CHECK(alone.out.find("server.tls_certificate: is required with tls_private_key") != std::string::npos);

    auto mismatch = check(pair(good.cert, other.key));
    CHECK(mismatch.status == 1);
    CHECK(mismatch.out.find("server.tls_private_key: the private key in " + other.key.string() +
                            " does not belong to the certificate in " + good.cert.string()) != std::string::npos);

    write_file(dir.path / "junk.pem", "hello\n");
    auto junk = check(pair(dir.path / "junk.pem", good.key));
    CHECK(junk.status == 1);
    CHECK(junk.out.find("server.tls_certificate: " + (dir.path / "junk.pem").string() + " holds no PEM certificate") !=
          std::string::npos);

    auto swapped = check(pair(good.key, good.cert));
    CHECK(swapped.status == 1);
    CHECK(swapped.out.find("swapped?") != std::string::npos);

    const auto locked = dir.path / "locked.key";
    REQUIRE(run({"/usr/bin/openssl", "pkey", "-in", good.key.string(), "-aes256", "-passout", "pass:secret", "-out",
                 locked.string()},
                dir.path)
                .status == 0);
    auto encrypted = check(pair(good.cert, locked));
    CHECK(encrypted.status == 1);
    CHECK(encrypted.out.find("server.tls_private_key: " + locked.string() + " is encrypted with a passphrase") !=
          std::string::npos);

    if (::geteuid() != 0) {  // root reads any file
        const auto hidden = dir.path / "hidden.key";
        std::filesystem::copy_file(good.key, hidden);
        std::filesystem::permissions(hidden, std::filesystem::perms::none);
        auto unreadable = check(pair(good.cert, hidden));
        CHECK(unreadable.status == 1);
        CHECK(unreadable.out.find("cannot read " + hidden.string() + ": Permission denied") != std::string::npos);
    }

    auto insecure = check("cookie_secure = false\n" + pair(good.cert, good.key));
    CHECK(insecure.status == 1);
    CHECK(insecure.out.find("server.cookie_secure: cannot be false with tls_certificate") != std::string::npos);

    // serve refuses the same file with the same words, before it listens.
    write_file(cfg, "[server]\nlisten = \"127.0.0.1:" + std::to_string(free_port()) + "\"\n" +
                        pair(good.cert, other.key) + "[database]\npath = \"" + (dir.path / "ringside.db").string() + "\"\n");
    auto serve = run({ringside_binary().string(), "serve", "--config", cfg.string()}, dir.path);
    CHECK(serve.status != 0);
    CHECK(serve.err.find("does not belong to the certificate in " + good.cert.string()) != std::string::npos);
}
