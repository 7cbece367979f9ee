// Attacks against the real binary, each refused, with the legitimate request
// beside it still served: cross-site writes and WebSocket hijacking with the
// session cookie, sockets left open after logout, removed customers' issues,
// symlinks out of web_root, DNS rebinding of /metrics, sockets per user,
// webhook log flooding, floods of idle connections, slow headers, large
// bodies sent before signing in, and addresses forged in forwarding headers.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
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

    /// `extra_server`: more lines for the [server] table.
    explicit Service(const std::string& extra_server = "") {
        std::filesystem::create_directories(web);
        write_file(web / "index.html", "<!doctype html><title>console</title>");
        write_file(dir.path / "secret.txt", "not for the web");
        std::filesystem::create_symlink(dir.path / "secret.txt", web / "leak.txt");
        write_file(config, "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\nweb_root = \"" + web.string() +
                               "\"\nallowed_origins = [\"https://crm.example\"]\nmax_websockets_per_user = 2\n" + extra_server +
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

// ---------------------------------------------------------------- connections, headers, bodies, proxies

namespace {

/// A raw TCP connection to the service from this loopback source address.
struct Conn {
    asio::io_context ioc;
    beast::tcp_stream stream{ioc};
    beast::flat_buffer buf;

    Conn(const Service& s, const std::string& source) {
        stream.socket().open(asio::ip::tcp::v4());
        stream.socket().bind(asio::ip::tcp::endpoint(asio::ip::make_address(source), 0));
        stream.expires_after(10s);
        stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), s.port));
        stream.expires_never();
    }
    void send(const std::string& bytes) {
        stream.expires_after(30s);
        asio::write(stream, asio::buffer(bytes));
    }
    /// One answer (throws when the connection ends first).
    beast::http::response<beast::http::string_body> answer() {
        stream.expires_after(30s);
        beast::http::response<beast::http::string_body> res;
        beast::http::read(stream, buf, res);
        return res;
    }
    /// Reads until the connection ends: true when the server closed it (EOF
    /// or reset), false when it was still open at the 30 s deadline.
    bool closed_by_server() {
        stream.expires_after(30s);
        char scratch[4096];
        beast::error_code ec;
        while (!ec) stream.read_some(asio::buffer(scratch), ec);
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    }
};

/// A request's head as bytes: request line, Host, and these header lines ("Name: value").
std::string head_of(const Service& s, const std::string& method, const std::string& target,
                    const std::vector<std::string>& headers) {
    std::string out = method + " " + target + " HTTP/1.1\r\nHost: " + s.host() + "\r\n";
    for (const auto& h : headers) out += h + "\r\n";
    return out + "\r\n";
}

/// GET /healthz from this source address on a new connection: the status, 0 when the connection was closed unanswered.
int healthz_from(const Service& s, const std::string& source) {
    try {
        Conn c(s, source);
        c.send(head_of(s, "GET", "/healthz", {"Connection: close"}));
        return static_cast<int>(c.answer().result_int());
    } catch (const std::exception&) {
        return 0;
    }
}

/// Polls healthz_from until it answers 200 (50 tries, 100 ms apart): true when it did.
bool eventually_healthy(const Service& s, const std::string& source) {
    for (int i = 0; i < 50; ++i) {
        if (healthz_from(s, source) == 200) return true;
        std::this_thread::sleep_for(100ms);
    }
    return false;
}

/// One request from `source` on a new connection, with these extra header lines.
HttpResponse request_from(const Service& s, const std::string& source, const std::string& method,
                          const std::string& target, const std::string& body, std::vector<std::string> headers) {
    Conn c(s, source);
    headers.push_back("Connection: close");
    if (!body.empty()) headers.push_back("Content-Type: application/json");
    headers.push_back("Content-Length: " + std::to_string(body.size()));
    c.send(head_of(s, method, target, headers) + body);
    auto res = c.answer();
    HttpResponse r;
    r.status = static_cast<int>(res.result_int());
    r.body = res.body();
    return r;
}

std::string metrics_text(const Service& s) { return http(s.port, "GET", "/metrics", "", "", {{"Host", s.host()}}).body; }

}  // namespace

TEST_CASE("over [server] max_connections_per_address a new socket from that address is closed unanswered; other addresses are served; closing frees the places") {
    Service s("max_connections = 64\nmax_connections_per_address = 5\nheader_timeout_seconds = 120\n");
    std::vector<std::unique_ptr<Conn>> idle;
    for (int i = 0; i < 5; ++i) idle.push_back(std::make_unique<Conn>(s, "127.0.0.5"));
    for (int i = 0; i < 3; ++i) {
        Conn over(s, "127.0.0.5");
        CHECK(over.closed_by_server());
    }
    CHECK(healthz_from(s, "127.0.0.6") == 200);
    CHECK(metrics_text(s).find("ringside_http_connections_refused_total 3\n") != std::string::npos);
    idle.clear();
    CHECK(eventually_healthy(s, "127.0.0.5"));
    stop_serve(s.ringside.get());
    // Three refusals, one warning: a flood cannot flood the log.
    CHECK(count(s.ringside->err(), "connection refused") == 1);
    CHECK(count(s.ringside->err(), "max_connections_per_address") == 1);
}

TEST_CASE("over [server] max_connections every new socket is closed unanswered, /healthz too, until idle ones close") {
    Service s("max_connections = 16\nmax_connections_per_address = 4\nheader_timeout_seconds = 120\n");
    std::vector<std::unique_ptr<Conn>> idle;
    for (int i = 0; i < 16; ++i) idle.push_back(std::make_unique<Conn>(s, "127.0.1." + std::to_string(1 + i / 4)));
    Conn over(s, "127.0.1.9");
    CHECK(over.closed_by_server());
    CHECK(healthz_from(s, "127.0.1.10") == 0);
    idle.clear();
    CHECK(eventually_healthy(s, "127.0.1.10"));
}

TEST_CASE("a client that sends half its headers is closed after [server] header_timeout_seconds; a kept-alive connection may idle longer") {
    Service s("header_timeout_seconds = 1\n");
    Conn slow(s, "127.0.0.7");
    slow.send("GET /healthz HTTP/1.1\r\nHost: " + s.host() + "\r\nUser-Agent: slow");
    CHECK(slow.closed_by_server());
    // Between requests the keep-alive idle time applies, not the header deadline.
    Conn kept(s, "127.0.0.8");
    kept.send(head_of(s, "GET", "/healthz", {}));
    CHECK(kept.answer().result_int() == 200);
    std::this_thread::sleep_for(2500ms);
    kept.send(head_of(s, "GET", "/healthz", {}));
    CHECK(kept.answer().result_int() == 200);
}

TEST_CASE("an unauthenticated 1 MiB POST is answered 401 from its headers, before a byte of its body is sent") {
    Service s;
    Conn c(s, "127.0.0.1");
    c.send(head_of(s, "POST", "/api/customers", {"Content-Type: application/json", "Content-Length: 1048576"}));
    auto res = c.answer();  // no body sent at all
    CHECK(res.result_int() == 401);
    CHECK_FALSE(res.keep_alive());
    CHECK(c.closed_by_server());
    // A bad token is no better; a body far over every limit is refused the same way.
    Conn forged(s, "127.0.0.1");
    forged.send(head_of(s, "POST", "/api/customers/import",
                        {"Authorization: Bearer not-a-token", "Content-Type: text/csv", "Content-Length: 900000"}));
    CHECK(forged.answer().result_int() == 401);
}

TEST_CASE("a 200 KiB JSON body on an ordinary route is refused 413 naming the 64 KiB limit; the 1 MiB import still works") {
    Service s;
    const auto sam = login(s.port, "sam", "password-123");
    const std::string big = R"({"name":")" + std::string(200 * 1024, 'x') + R"(","phones":["09121234567"]})";
    auto r = http(s.port, "POST", "/api/customers", big, sam);
    CHECK(r.status == 413);
    CHECK(r.json()["error"] == "payload_too_large");
    CHECK(r.json()["message"].get<std::string>().find("64 KiB") != std::string::npos);
    // Said by its Content-Length: refused before the body is sent.
    Conn c(s, "127.0.0.1");
    c.send(head_of(s, "POST", "/api/customers",
                   {"Authorization: Bearer " + sam, "Content-Type: application/json", "Content-Length: 204800"}));
    CHECK(c.answer().result_int() == 413);
    // Under the limit: served.
    CHECK(http(s.port, "POST", "/api/customers", R"({"name":"Small","phones":["09121234599"]})", sam).status == 201);

    std::string csv = "name,phones\r\n";
    for (int i = 0; csv.size() < 1000 * 1000; ++i)
        csv += "Customer " + std::to_string(i) + " with a long name to fill the file,0912" + std::to_string(1000000 + i) + "\r\n";
    REQUIRE(csv.size() < 1024 * 1024);
    auto imported = http(s.port, "POST", "/api/customers/import?dry_run=1", csv, sam, {{"Content-Type", "text/csv"}});
    CHECK(imported.status == 200);
    auto over = http(s.port, "POST", "/api/customers/import?dry_run=1", csv + std::string(60 * 1024, 'x'), sam,
                     {{"Content-Type", "text/csv"}});
    CHECK(over.status == 413);
    CHECK(over.json()["message"].get<std::string>().find("1 MiB") != std::string::npos);
}

TEST_CASE("behind a trusted proxy the forwarded client counts: for /metrics, the sign-in limit, the audit log and the connection cap; elsewhere the header is ignored") {
    Service s("trusted_proxies = [\"127.0.0.1\"]\nmax_connections_per_address = 3\n");
    REQUIRE(add_user(s.config, s.dir.path, "ada", "admin", "") == 0);
    const auto proxied = [&](const std::string& method, const std::string& target, const std::string& body,
                             const std::vector<std::string>& headers) {
        return request_from(s, "127.0.0.1", method, target, body, headers);
    };
    // A client far away, through the proxy on loopback: /metrics is not its to read.
    CHECK(proxied("GET", "/metrics", "", {"X-Forwarded-For: 203.0.113.7"}).status == 401);
    CHECK(proxied("GET", "/metrics", "", {"Forwarded: for=203.0.113.7;proto=https"}).status == 401);
    CHECK(proxied("GET", "/metrics", "", {}).status == 200);  // the proxy host itself
    // A header a client wrote itself, before the proxy appended the real address, does not count.
    CHECK(proxied("GET", "/metrics", "", {"X-Forwarded-For: 127.0.0.1, 203.0.113.7"}).status == 401);
    // From a peer that is not trusted, the header is ignored: it is the peer that counts.
    CHECK(request_from(s, "127.0.0.2", "GET", "/metrics", "", {"X-Forwarded-For: 203.0.113.7"}).status == 200);

    // The sign-in limit is per forwarded client: one desk's guesses lock only that desk.
    const std::string wrong = R"({"username":"alice","password":"wrong-guess"})";
    const std::string right = R"({"username":"alice","password":"password-123"})";
    for (int i = 0; i < 5; ++i)
        CHECK(proxied("POST", "/api/login", wrong, {"X-Forwarded-For: 198.51.100.1"}).status == 401);
    CHECK(proxied("POST", "/api/login", right, {"X-Forwarded-For: 198.51.100.1"}).status == 429);
    CHECK(proxied("POST", "/api/login", right, {"X-Forwarded-For: 198.51.100.2"}).status == 200);
    CHECK(proxied("POST", "/api/login", right, {"Forwarded: for=\"[2001:db8::5]:4711\""}).status == 200);
    // A client that is not behind the proxy cannot dodge the limit by naming new addresses.
    const std::string sam_wrong = R"({"username":"sam","password":"wrong-guess"})";
    for (int i = 0; i < 5; ++i)
        CHECK(request_from(s, "127.0.0.9", "POST", "/api/login", sam_wrong, {"X-Forwarded-For: 198.51.100." + std::to_string(20 + i)})
                  .status == 401);
    CHECK(request_from(s, "127.0.0.9", "POST", "/api/login", sam_wrong, {"X-Forwarded-For: 198.51.100.99"}).status == 429);

    // The audit log names the client, not the proxy.
    const auto ada = login(s.port, "ada", "password-123");
    const auto audit = http(s.port, "GET", "/api/admin/audit", "", ada).body;
    CHECK(audit.find("198.51.100.2") != std::string::npos);
    CHECK(audit.find("2001:db8::5") != std::string::npos);

    // max_connections_per_address counts the forwarded client, not the proxy.
    std::vector<std::unique_ptr<Conn>> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(std::make_unique<Conn>(s, "127.0.0.1"));
        held.back()->send(head_of(s, "GET", "/healthz", {"X-Forwarded-For: 192.0.2.50"}));
        CHECK(held.back()->answer().result_int() == 200);  // kept alive, its place held
    }
    Conn fourth(s, "127.0.0.1");
    fourth.send(head_of(s, "GET", "/healthz", {"X-Forwarded-For: 192.0.2.50"}));
    auto refused = fourth.answer();
    CHECK(refused.result_int() == 503);
    CHECK(refused.body().find("too_many_connections") != std::string::npos);
    CHECK(proxied("GET", "/healthz", "", {"X-Forwarded-For: 192.0.2.51"}).status == 200);
}

TEST_CASE("/metrics without credentials answers only to the Host names of this machine: localhost, 127.0.0.1, [::1]") {
    Service s;
    const auto port = std::to_string(s.port);
    CHECK(http(s.port, "GET", "/metrics", "", "", {{"Host", "127.0.0.1"}}).status == 200);
    CHECK(http(s.port, "GET", "/metrics", "", "", {{"Host", "[::1]:" + port}}).status == 200);
    CHECK(http(s.port, "GET", "/metrics", "", "", {{"Host", "LOCALHOST:" + port}}).status == 200);
    // An address of another machine, or a rebinding name that resolves to loopback: not local.
    CHECK(http(s.port, "GET", "/metrics", "", "", {{"Host", "10.1.2.3:" + port}}).status == 401);
    CHECK(http(s.port, "GET", "/metrics", "", "", {{"Host", "127.0.0.1.evil.example:" + port}}).status == 401);
    CHECK(http(s.port, "GET", "/metrics", "", "", {{"Host", ""}}).status == 401);
}
