// Attacks against the real binary, each refused, with the legitimate request
// beside it still served: cross-site writes and WebSocket hijacking with the
// session cookie, sockets left open after logout, removed customers' issues,
// symlinks out of web_root, DNS rebinding of /metrics, sockets per user,
// webhook log flooding.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "harness.hpp"

using namespace ringside::test;
using json = nlohmann::json;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;

namespace {

/// `ringside serve` with its own web_root, one webhook PBX, and two users.
struct Service {
    TempDir dir;
    unsigned short port = free_port();
    std::filesystem::path config = dir.path / "ringside.toml";
    std::filesystem::path web = dir.path / "web";
    std::unique_ptr<Process> ringside;

    Service() {
        std::filesystem::create_directories(web);
        write_file(web / "index.html", "<!doctype html><title>console</title>");
        write_file(dir.path / "secret.txt", "not for the web");
        std::filesystem::create_symlink(dir.path / "secret.txt", web / "leak.txt");
        write_file(config, "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\nweb_root = \"" + web.string() +
                               "\"\nallowed_origins = [\"https://crm.example\"]\nmax_websockets_per_user = 2\n"
                               "[database]\npath = \"" + (dir.path / "ringside.db").string() + "\"\n"
                               "[[pbx]]\nid = \"hook\"\ntype = \"webhook\"\npath = \"/hooks/pbx\"\nsecret = \"hook-secret-0123456789\"\n");
        REQUIRE(add_user(config, dir.path, "alice", "agent", "1001") == 0);
        REQUIRE(add_user(config, dir.path, "sam", "supervisor", "") == 0);
        ringside = serve(config, dir.path, port);
    }
    ~Service() { stop_serve(ringside.get()); }

    std::string own() const { return "http://127.0.0.1:" + std::to_string(port); }
    std::string host() const { return "127.0.0.1:" + std::to_string(port); }
    /// A request as a signed-in browser sends it: the cookie, Host with the port, and this Origin.
    HttpResponse browser(const std::string& method, const std::string& target, const std::string& body,
                         const std::string& token, const std::string& origin,
                         const std::string& content_type = "application/json") {
        std::map<std::string, std::string> h{{"Cookie", "ringside_session=" + token}, {"Host", host()}};
        if (!origin.empty()) h["Origin"] = origin;
        if (!body.empty()) h["Content-Type"] = content_type;
        return http(port, method, target, body, "", h);
    }
};

/// A browser's WebSocket: the cookie and an Origin; *status is the handshake's answer.
struct BrowserSocket {
    asio::io_context ioc;
    websocket::stream<beast::tcp_stream> ws{ioc};
    int status = 0;

    BrowserSocket(const Service& s, const std::string& token, const std::string& origin) {
        beast::get_lowest_layer(ws).expires_after(10s);
        beast::get_lowest_layer(ws).connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port));
        beast::get_lowest_layer(ws).expires_never();
        ws.set_option(websocket::stream_base::decorator([token, origin](websocket::request_type& r) {
            r.set(beast::http::field::cookie, "ringside_session=" + token);
            if (!origin.empty()) r.set(beast::http::field::origin, origin);
        }));
        websocket::response_type res;
        beast::error_code ec;
        ws.handshake(res, s.host(), "/ws", ec);
        status = static_cast<int>(res.result_int());
    }
    /// Reads until the server closes; the close reason it gave (code 0 when it never did within 10 s).
    websocket::close_reason wait_closed() {
        beast::get_lowest_layer(ws).expires_after(10s);
        beast::flat_buffer buf;
        beast::error_code ec;
        while (!ec) ws.read(buf, ec);
        return ec == websocket::error::closed ? ws.reason() : websocket::close_reason{};
    }
};

}  // namespace

TEST_CASE("a cookie-signed write from a foreign page is refused 403; from the service's own page or an allowed origin it is served") {
    Service s;
    const auto alice = login(s.port, "alice", "password-123");
    const std::string customer = R"({"name":"Mallory's plant","phones":["09121234567"]})";
    CHECK(s.browser("POST", "/api/customers", customer, alice, "http://evil.example").status == 403);
    CHECK(s.browser("POST", "/api/customers", customer, alice, "").status == 403);
    CHECK(s.browser("POST", "/api/customers", customer, alice, "null").status == 403);
    CHECK(s.browser("POST", "/api/calls/dial", R"({"number":"09121234567"})", alice, "http://evil.example").status == 403);
    CHECK(s.browser("POST", "/api/customers", customer, alice, s.own()).status == 201);
    CHECK(s.browser("POST", "/api/customers", R"({"name":"Via the CRM","phones":["09121234568"]})", alice, "https://crm.example").status == 201);
    // Login CSRF: a foreign page signing the browser in.
    CHECK(http(s.port, "POST", "/api/login", R"({"username":"alice","password":"password-123"})", "",
               {{"Origin", "http://evil.example"}}).status == 403);
    // API clients with a token and no cookie are unaffected.
    CHECK(http(s.port, "POST", "/api/customers", R"({"name":"From a script","phones":["09121234569"]})", alice).status == 201);
}

TEST_CASE("a JSON route refuses a text/plain body with 415 even from the service's own origin") {
    Service s;
    const auto alice = login(s.port, "alice", "password-123");
    auto r = s.browser("POST", "/api/customers", R"({"name":"Form post"})", alice, s.own(), "text/plain");
    CHECK(r.status == 415);
    CHECK(r.json()["error"] == "unsupported_media_type");
    CHECK(s.browser("POST", "/api/customers", R"({"name":"Form post","phones":["09121234560"]})", alice, s.own(), "application/json; charset=utf-8").status == 201);
}

TEST_CASE("a WebSocket opened with the cookie from a foreign page is refused; from the service's own page it opens") {
    Service s;
    const auto alice = login(s.port, "alice", "password-123");
    CHECK(BrowserSocket(s, alice, "http://evil.example").status != 101);
    CHECK(BrowserSocket(s, alice, "").status != 101);
    CHECK(BrowserSocket(s, alice, s.own()).status == 101);
    WsClient with_token(s.port, alice);  // ?token=, no cookie: unaffected
    with_token.send({{"type", "ping"}});
    CHECK(with_token.next_of("pong"));
}

TEST_CASE("logout closes that session's WebSockets with 1008 'signed out' and leaves the user's other sessions open") {
    Service s;
    const auto first = login(s.port, "alice", "password-123");
    const auto second = login(s.port, "alice", "password-123");
    BrowserSocket a(s, first, s.own());
    REQUIRE(a.status == 101);
    WsClient other(s.port, second);
    CHECK(s.browser("POST", "/api/logout", "", first, s.own()).status == 200);
    const auto reason = a.wait_closed();
    CHECK(reason.code == websocket::close_code::policy_error);
    CHECK(std::string(reason.reason.c_str()) == "signed out");
    other.send({{"type", "ping"}});
    CHECK(other.next_of("pong"));
}

TEST_CASE("one user's third WebSocket is refused 429 while two are open; closing one frees its place") {
    Service s;
    const auto alice = login(s.port, "alice", "password-123");
    auto one = std::make_unique<WsClient>(s.port, alice);
    WsClient two(s.port, alice);
    CHECK(BrowserSocket(s, alice, s.own()).status != 101);
    one->close();
    one.reset();
    bool opened = false;
    for (int i = 0; i < 50 && !opened; ++i) {
        opened = BrowserSocket(s, alice, s.own()).status == 101;
        if (!opened) std::this_thread::sleep_for(100ms);
    }
    CHECK(opened);
}

TEST_CASE("an agent gets 404 for the issues of a removed customer; a supervisor still reads them") {
    Service s;
    const auto alice = login(s.port, "alice", "password-123");
    const auto sam = login(s.port, "sam", "password-123");
    auto c = http(s.port, "POST", "/api/customers", R"({"name":"Soon gone","phones":["09121234567"]})", sam);
    REQUIRE(c.status == 201);
    const auto id = std::to_string(c.json()["id"].get<long long>());
    auto i = http(s.port, "POST", "/api/customers/" + id + "/issues", R"({"title":"Broken router"})", sam);
    REQUIRE(i.status == 201);
    const auto issue = "/api/issues/" + std::to_string(i.json()["id"].get<long long>());
    CHECK(http(s.port, "GET", issue, "", alice).status == 200);
    REQUIRE(http(s.port, "DELETE", "/api/customers/" + id, R"({"reason":"asked to be forgotten"})", sam).status == 200);
    CHECK(http(s.port, "GET", issue, "", alice).status == 404);
    CHECK(http(s.port, "PATCH", issue, R"({"status":"resolved"})", alice).status == 404);
    CHECK(http(s.port, "GET", issue, "", sam).status == 200);
}

TEST_CASE("a symlink inside web_root that leads out of it is not served; the files in it are") {
    Service s;
    CHECK(http(s.port, "GET", "/index.html").status == 200);
    auto leak = http(s.port, "GET", "/leak.txt");
    CHECK(leak.status == 404);
    CHECK(leak.body.find("not for the web") == std::string::npos);
}

TEST_CASE("/metrics from loopback under a foreign host name (DNS rebinding) needs an admin; under the address it is open") {
    Service s;
    CHECK(http(s.port, "GET", "/metrics", "", "", {{"Host", s.host()}}).status == 200);
    CHECK(http(s.port, "GET", "/metrics", "", "", {{"Host", "localhost:" + std::to_string(s.port)}}).status == 200);
    CHECK(http(s.port, "GET", "/metrics", "", "", {{"Host", "evil.example:" + std::to_string(s.port)}}).status == 401);
}

TEST_CASE("a flood of unsigned webhook POSTs is refused and logged once a minute, with the count of the rest") {
    Service s;
    for (int i = 0; i < 30; ++i)
        CHECK(http(s.port, "POST", "/hooks/pbx", R"({"event":"call.ringing"})").status == 401);
    stop_serve(s.ringside.get());
    const auto log = s.ringside->err();
    CHECK(count(log, "webhook refused") == 1);
}

namespace {

/// POST /api/login from this loopback source address (127.0.0.0/8 is all
/// the machine's own, so each stands for a different desk); the status.
int login_from(const Service& s, const std::string& source, const std::string& user, const std::string& password) {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(30s);
    stream.socket().open(asio::ip::tcp::v4());
    stream.socket().bind(asio::ip::tcp::endpoint(asio::ip::make_address(source), 0));
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port));
    beast::http::request<beast::http::string_body> req{beast::http::verb::post, "/api/login", 11};
    req.set(beast::http::field::host, s.host());
    req.set(beast::http::field::content_type, "application/json");
    req.body() = json{{"username", user}, {"password", password}}.dump();
    req.prepare_payload();
    beast::http::write(stream, req);
    beast::flat_buffer buf;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(stream, buf, res);
    return static_cast<int>(res.result_int());
}

}  // namespace

TEST_CASE("forty concurrent wrong passwords for one user from one address: at most five are checked; the owner signs in from another desk") {
    Service s;
    std::atomic<int> unauthorized{0}, refused{0}, other{0};
    std::vector<std::thread> guessers;
    for (int i = 0; i < 40; ++i)
        guessers.emplace_back([&] {
            const int status = login_from(s, "127.0.0.1", "alice", "wrong-guess");
            (status == 401 ? unauthorized : status == 429 || status == 503 ? refused : other)++;
        });
    for (auto& g : guessers) g.join();
    CHECK(unauthorized.load() >= 1);
    CHECK(unauthorized.load() <= 5);
    CHECK(refused.load() == 40 - unauthorized.load());
    CHECK(other.load() == 0);
    // That address is locked for alice, even with the right password...
    CHECK(login_from(s, "127.0.0.1", "alice", "password-123") == 429);
    // ...but alice at her own desk is not.
    CHECK(login_from(s, "127.0.0.2", "alice", "password-123") == 200);
    CHECK(login_from(s, "127.0.0.1", "sam", "password-123") == 200);
}

TEST_CASE("guesses spread over many addresses are limited per user, but never at a desk the user signed in from") {
    Service s;
    REQUIRE(login_from(s, "127.0.0.3", "alice", "password-123") == 200);   // alice's desk
    int unauthorized = 0, limited = 0;
    for (int i = 0; i < 30; ++i) {
        const int status = login_from(s, "127.0.1." + std::to_string(10 + i), "alice", "wrong-guess");
        if (status == 401) ++unauthorized;
        if (status == 429) ++limited;
    }
    CHECK(unauthorized == 20);
    CHECK(limited == 10);
    // A new address with the right password waits too; alice's desk does not.
    CHECK(login_from(s, "127.0.2.1", "alice", "password-123") == 429);
    CHECK(login_from(s, "127.0.0.3", "alice", "password-123") == 200);
}
