// The real Server on 127.0.0.1 (port 0) with a real SqliteStore in a temp
// directory, driven by real Beast HTTP and WebSocket clients.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "ringside/core/call_service.hpp"
#include "ringside/core/csv.hpp"
#include "ringside/core/dialer.hpp"
#include "ringside/core/password.hpp"
#include "ringside/core/phone.hpp"
#include "ringside/server/pop_hub.hpp"
#include "ringside/server/server.hpp"
#include "ringside/storage/sqlite_store.hpp"

using namespace ringside;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using json = nlohmann::json;

namespace {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() / ("ringside-server-test-" + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

using Response = http::response<http::string_body>;

/// The whole service, minus the PBX: store, hub, engine, server on two threads.
struct Service {
    TempDir dir;
    SqliteStore store{dir.path / "ringside.db"};
    PhoneNormalizer phones{"IR"};
    server::PopHub hub;
    CallService calls{store, hub, phones};
    net::io_context ioc;
    net::strand<net::io_context::executor_type> engine{net::make_strand(ioc)};
    std::unique_ptr<server::Server> srv;
    net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
    std::vector<std::thread> threads;

    explicit Service(server::ServerOptions o = {}) {
        o.listen = "127.0.0.1:0";
        std::filesystem::create_directories(dir.path / "web");
        {
            std::ofstream(dir.path / "web" / "index.html") << "<!doctype html><title>t</title>";
        }
        o.web_root = dir.path / "web";
        add_user("alice", Role::agent, "1001", "alice-pass");
        add_user("bob", Role::agent, "1002", "bob-pass");
        add_user("sam", Role::supervisor, "", "sam-pass");
        srv = std::make_unique<server::Server>(ioc, o, store, hub, calls, engine, phones);
        srv->start();
        for (int i = 0; i < 2; ++i) threads.emplace_back([this] { ioc.run(); });
    }
    ~Service() {
        srv->stop();
        work.reset();
        ioc.stop();
        for (auto& t : threads) t.join();
    }

    void add_user(const std::string& name, Role role, const std::string& ext, const std::string& password) {
        User u;
        u.username = AgentId(name);
        u.name = name;
        u.role = role;
        if (!ext.empty()) u.extension = Extension(ext);
        store.create_user(u, hash_password(password));
    }

    Response request(http::verb v, const std::string& target, const std::string& body = "", const std::string& token = "",
                     const std::string& content_type = "application/json") {
        net::io_context client;
        beast::tcp_stream s(client);
        s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), srv->port()));
        http::request<http::string_body> req{v, target, 11};
        req.set(http::field::host, "127.0.0.1");
        if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
        if (!body.empty()) {
            req.set(http::field::content_type, content_type);
            req.body() = body;
        }
        req.prepare_payload();
        http::write(s, req);
        beast::flat_buffer buf;
        http::response_parser<http::string_body> p;
        p.body_limit(64 * 1024 * 1024);
        http::read(s, buf, p);
        return p.release();
    }

    std::string login(const std::string& user, const std::string& password) {
        auto r = request(http::verb::post, "/api/login", json{{"username", user}, {"password", password}}.dump());
        REQUIRE(r.result() == http::status::ok);
        return json::parse(r.body())["token"].get<std::string>();
    }
};

/// A synchronous WebSocket client.
struct WsClient {
    net::io_context ioc;
    websocket::stream<tcp::socket> ws{ioc};
    beast::flat_buffer buf;

    /// Throws beast::system_error when refused; *status gets the HTTP status of the answer.
    void connect(std::uint16_t port, const std::string& target, const std::string& token = "",
                 int receive_buffer = 0, http::status* status = nullptr) {
        auto& sock = ws.next_layer();
        sock.open(tcp::v4());
        if (receive_buffer > 0) sock.set_option(net::socket_base::receive_buffer_size(receive_buffer));
        sock.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        if (!token.empty())
            ws.set_option(websocket::stream_base::decorator(
                [token](websocket::request_type& r) { r.set(http::field::authorization, "Bearer " + token); }));
        websocket::response_type res;
        try {
            ws.handshake(res, "127.0.0.1", target);
        } catch (...) {
            if (status) *status = res.result();
            throw;
        }
        if (status) *status = res.result();
    }
    json read() {
        buf.consume(buf.size());
        ws.read(buf);
        return json::parse(beast::buffers_to_string(buf.data()));
    }
    void send(const json& j) { ws.write(net::buffer(j.dump())); }
    /// Everything the server had queued before a ping: read up to its pong.
    std::vector<json> drain() {
        send({{"type", "ping"}});
        std::vector<json> out;
        for (auto m = read(); m["type"] != "pong"; m = read()) out.push_back(m);
        return out;
    }
};

json ringing(const std::string& id) { return {{"type", "call.ringing"}, {"call", {{"id", id}}}, {"customer", nullptr}}; }

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (p()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return p();
}

CallRecord call(const std::string& id, const std::string& agent, int minute, const std::string& notes) {
    CallRecord c;
    c.id = CallId(id);
    c.pbx = PbxId("main");
    c.from = "+989121234567";
    c.from_raw = "09121234567";
    c.to = "1001";
    c.agent = AgentId(agent);
    c.extension = Extension("1001");
    c.status = CallStatus::answered;
    c.started_at = Timestamp(std::chrono::milliseconds(1795442400000LL + minute * 60000LL));
    c.answered_at = c.started_at + std::chrono::seconds(3);
    c.ended_at = c.started_at + std::chrono::seconds(63);
    c.wait_seconds = 3;
    c.talk_seconds = 60;
    c.notes = notes;
    return c;
}

}  // namespace

TEST_CASE("login answers a token, the user and an HttpOnly cookie; a wrong password or unknown user is 401 alike") {
    Service svc;
    auto ok = svc.request(http::verb::post, "/api/login", R"({"username":"alice","password":"alice-pass"})");
    REQUIRE(ok.result() == http::status::ok);
    auto body = json::parse(ok.body());
    CHECK(body["token"].get<std::string>().size() == 64);
    CHECK(body["user"]["username"] == "alice");
    CHECK(body["user"]["role"] == "agent");
    CHECK(body["user"]["extension"] == "1001");
    const std::string cookie(ok[http::field::set_cookie]);
    CHECK(cookie.find("ringside_session=" + body["token"].get<std::string>()) == 0);
    CHECK(cookie.find("HttpOnly") != std::string::npos);
    CHECK(cookie.find("SameSite=Strict") != std::string::npos);

    auto me = svc.request(http::verb::get, "/api/me", "", body["token"]);
    CHECK(me.result() == http::status::ok);
    CHECK(json::parse(me.body())["user"]["username"] == "alice");

    auto wrong = svc.request(http::verb::post, "/api/login", R"({"username":"alice","password":"nope"})");
    auto unknown = svc.request(http::verb::post, "/api/login", R"({"username":"mallory","password":"nope"})");
    CHECK(wrong.result() == http::status::unauthorized);
    CHECK(unknown.result() == http::status::unauthorized);
    CHECK(wrong.body() == unknown.body());
    CHECK(json::parse(wrong.body())["error"] == "invalid_credentials");
}

TEST_CASE("repeated failed logins for one user are refused with 429 and Retry-After") {
    Service svc;
    for (int i = 0; i < 5; ++i)
        CHECK(svc.request(http::verb::post, "/api/login", R"({"username":"bob","password":"x"})").result() ==
              http::status::unauthorized);
    auto limited = svc.request(http::verb::post, "/api/login", R"({"username":"bob","password":"bob-pass"})");
    CHECK(limited.result() == http::status::too_many_requests);
    CHECK(json::parse(limited.body())["error"] == "rate_limited");
    CHECK_FALSE(limited[http::field::retry_after].empty());
}

TEST_CASE("a route needs credentials (401) and the right role (403); unknown paths are 404 and wrong verbs 405") {
    Service svc;
    auto none = svc.request(http::verb::get, "/api/calls");
    CHECK(none.result() == http::status::unauthorized);
    CHECK(json::parse(none.body())["error"] == "unauthenticated");
    CHECK(svc.request(http::verb::get, "/api/calls", "", std::string(64, 'f')).result() == http::status::unauthorized);

    const auto alice = svc.login("alice", "alice-pass");
    auto csv = svc.request(http::verb::get, "/api/calls.csv", "", alice);
    CHECK(csv.result() == http::status::forbidden);
    CHECK(json::parse(csv.body())["error"] == "forbidden");

    CHECK(svc.request(http::verb::get, "/api/nope", "", alice).result() == http::status::not_found);
    auto wrong_verb = svc.request(http::verb::delete_, "/api/calls", "", alice);
    CHECK(wrong_verb.result() == http::status::method_not_allowed);
    CHECK(wrong_verb[http::field::allow] == "GET");

    CHECK(svc.request(http::verb::get, "/healthz").body() == R"({"status":"ok"})");
    auto page = svc.request(http::verb::get, "/");
    CHECK(page.result() == http::status::ok);
    CHECK(page[http::field::content_type] == "text/html; charset=utf-8");
    CHECK(svc.request(http::verb::get, "/%2e%2e/ringside.db").result() == http::status::not_found);

    auto metrics = svc.request(http::verb::get, "/metrics");
    CHECK(metrics.result() == http::status::ok);
    CHECK(metrics.body().find("ringside_http_requests_total{route=\"/api/calls\",status=\"401\"} 2") != std::string::npos);
    CHECK(metrics.body().find("ringside_calls_active 0") != std::string::npos);
}

TEST_CASE("creating a customer: unknown fields, bad JSON and bad phones are 400 naming the problem; a good one is 201") {
    Service svc;
    const auto alice = svc.login("alice", "alice-pass");
    auto unknown = svc.request(http::verb::post, "/api/customers", R"({"name":"Sara","phones":["09121234567"],"age":3})", alice);
    CHECK(unknown.result() == http::status::bad_request);
    CHECK(json::parse(unknown.body())["message"].get<std::string>().find("'age'") != std::string::npos);

    auto bad_json = svc.request(http::verb::post, "/api/customers", "{\"name\":", alice);
    CHECK(bad_json.result() == http::status::bad_request);
    CHECK(json::parse(bad_json.body())["error"] == "invalid_json");

    auto bad_phone = svc.request(http::verb::post, "/api/customers", R"({"name":"Sara","phones":["09121234567","12"]})", alice);
    CHECK(bad_phone.result() == http::status::bad_request);
    CHECK(json::parse(bad_phone.body())["message"].get<std::string>().find("phones[1]") != std::string::npos);

    auto created = svc.request(http::verb::post, "/api/customers",
                               R"({"name":"سارا احمدی","phones":["0912 123 4567"],"email":"s@example.com","tier":"gold","tags":["vip"]})",
                               alice);
    REQUIRE(created.result() == http::status::created);
    const auto id = json::parse(created.body())["id"].get<std::int64_t>();

    auto found = svc.request(http::verb::get, "/api/customers?phone=%2B989121234567", "", alice);
    REQUIRE(found.result() == http::status::ok);
    CHECK(json::parse(found.body())["customers"][0]["id"] == id);
    CHECK(svc.request(http::verb::get, "/api/customers?phone=abc", "", alice).result() == http::status::bad_request);
    CHECK(svc.request(http::verb::get, "/api/customers", "", alice).result() == http::status::bad_request);

    auto issue = svc.request(http::verb::post, "/api/customers/" + std::to_string(id) + "/issues",
                             R"({"title":"Refund not received","description":"since Monday"})", alice);
    REQUIRE(issue.result() == http::status::created);
    const auto issue_id = json::parse(issue.body())["id"].get<std::int64_t>();
    CHECK(json::parse(issue.body())["status"] == "open");

    auto ctx = svc.request(http::verb::get, "/api/customers/" + std::to_string(id), "", alice);
    REQUIRE(ctx.result() == http::status::ok);
    CHECK(json::parse(ctx.body())["open_issues"].size() == 1);
    CHECK(json::parse(ctx.body())["phones"][0] == "+989121234567");

    auto resolved = svc.request(http::verb::patch, "/api/issues/" + std::to_string(issue_id), R"({"status":"resolved"})", alice);
    CHECK(resolved.result() == http::status::ok);
    CHECK(json::parse(resolved.body())["status"] == "resolved");
    CHECK(svc.request(http::verb::patch, "/api/issues/999", R"({"status":"resolved"})", alice).result() ==
          http::status::not_found);
    CHECK(svc.request(http::verb::patch, "/api/issues/1", R"({"status":"closed"})", alice).result() ==
          http::status::bad_request);
    CHECK(svc.request(http::verb::get, "/api/customers/999", "", alice).result() == http::status::not_found);
}

TEST_CASE("a body over the limit is answered 413") {
    server::ServerOptions o;
    o.max_body_bytes = 1024;
    Service svc(o);
    const auto alice = svc.login("alice", "alice-pass");
    auto big = svc.request(http::verb::post, "/api/customers", "{\"name\":\"" + std::string(4000, 'x') + "\"}", alice);
    CHECK(big.result() == http::status::payload_too_large);
}

TEST_CASE("the disposition runs through the call engine: the agent who took the call may set it, another agent may not") {
    Service svc;
    svc.store.upsert_call(call("main-1.1", "alice", 0, ""));
    const auto alice = svc.login("alice", "alice-pass");
    const auto bob = svc.login("bob", "bob-pass");
    auto ok = svc.request(http::verb::post, "/api/calls/main-1.1/disposition",
                          R"({"disposition":"resolved","notes":"card 4111 1111 1111 1111"})", alice);
    REQUIRE(ok.result() == http::status::ok);
    CHECK(json::parse(ok.body())["call"]["disposition"] == "resolved");
    CHECK(json::parse(ok.body())["call"]["notes"].get<std::string>().find("4111 1111 1111 1111") == std::string::npos);
    CHECK(svc.request(http::verb::post, "/api/calls/main-1.1/disposition", R"({"disposition":"x"})", bob).result() ==
          http::status::forbidden);
    CHECK(svc.request(http::verb::post, "/api/calls/main-9.9/disposition", R"({"disposition":"x"})", alice).result() ==
          http::status::not_found);
}

TEST_CASE("an agent's call list holds only the calls they answered; the CSV export streams the same calls") {
    Service svc;
    for (int i = 0; i < 300; ++i)
        svc.store.upsert_call(call("main-100." + std::to_string(i), i % 3 == 0 ? "bob" : "alice", i,
                                   i % 7 == 0 ? "said \"call back\", twice\nthen hung up" : "=1+2"));
    const auto bob = svc.login("bob", "bob-pass");
    auto mine = svc.request(http::verb::get, "/api/calls?agent=alice&limit=1000", "", bob);
    REQUIRE(mine.result() == http::status::ok);
    const auto bob_calls = json::parse(mine.body())["calls"];
    CHECK(bob_calls.size() == 100);
    for (const auto& c : bob_calls) CHECK(c["agent"] == "bob");
    CHECK(svc.request(http::verb::get, "/api/calls?limit=0", "", bob).result() == http::status::bad_request);
    CHECK(svc.request(http::verb::get, "/api/calls?since=yesterday", "", bob).result() == http::status::bad_request);

    const auto sam = svc.login("sam", "sam-pass");
    auto list = svc.request(http::verb::get, "/api/calls?limit=1000&since=2026-11-23T14:10:00.000Z", "", sam);
    REQUIRE(list.result() == http::status::ok);
    const auto calls = json::parse(list.body())["calls"];
    CHECK(calls.size() == 290);
    auto csv = svc.request(http::verb::get, "/api/calls.csv?since=2026-11-23T14:10:00.000Z", "", sam);
    REQUIRE(csv.result() == http::status::ok);
    CHECK(csv.chunked());
    CHECK(csv[http::field::content_type] == "text/csv; charset=utf-8");
    std::string error;
    const auto rows = csv::parse(csv.body(), &error);
    CHECK(error.empty());
    REQUIRE(rows.size() == calls.size() + 1);
    CHECK(rows[0][0] == "id");
    for (std::size_t i = 0; i < calls.size(); ++i) {
        CHECK(rows[i + 1][0] == calls[i]["id"].get<std::string>());
        const auto notes = calls[i]["notes"].get<std::string>();
        CHECK(rows[i + 1][17] == (notes.starts_with("=") ? "'" + notes : notes));
    }
}

TEST_CASE("/ws refuses an upgrade without credentials with 401") {
    Service svc;
    // The upgrade request as a browser sends it, and the answer read as plain HTTP.
    const auto upgrade = [&](const std::string& target) {
        net::io_context client;
        beast::tcp_stream s(client);
        s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), svc.srv->port()));
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::upgrade, "websocket");
        req.set(http::field::connection, "upgrade");
        req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
        req.set(http::field::sec_websocket_version, "13");
        http::write(s, req);
        beast::flat_buffer buf;
        Response res;
        http::read(s, buf, res);
        return res;
    };
    auto none = upgrade("/ws");
    CHECK(none.result() == http::status::unauthorized);
    CHECK(json::parse(none.body())["error"] == "unauthenticated");
    CHECK(upgrade("/ws?token=" + std::string(64, 'a')).result() == http::status::unauthorized);
    WsClient c;
    CHECK_THROWS(c.connect(svc.srv->port(), "/ws"));
    const auto alice = svc.login("alice", "alice-pass");
    WsClient ok;
    CHECK_NOTHROW(ok.connect(svc.srv->port(), "/ws?token=" + alice));
}

TEST_CASE("a message sent to the hub reaches only that user's sockets; ping answers pong, nonsense an error") {
    Service svc;
    const auto alice = svc.login("alice", "alice-pass");
    const auto bob = svc.login("bob", "bob-pass");
    WsClient a, b, a2;
    a.connect(svc.srv->port(), "/ws", alice);
    a2.connect(svc.srv->port(), "/ws?token=" + alice);
    b.connect(svc.srv->port(), "/ws", bob);
    REQUIRE(eventually([&] { return svc.hub.subscriber_count(AgentId("alice")) == 2 && svc.hub.subscriber_count(AgentId("bob")) == 1; }));
    svc.hub.send(AgentId("alice"), ringing("main-1.1"));
    auto m = a.read();
    CHECK(m["type"] == "call.ringing");
    CHECK(m["seq"] == 1);
    CHECK(m["call"]["id"] == "main-1.1");
    CHECK(a2.read()["call"]["id"] == "main-1.1");
    CHECK(b.drain().empty());

    b.send(json{{"type", "dance"}});
    auto err = b.read();
    CHECK(err["type"] == "error");
    b.ws.write(net::buffer(std::string("not json")));
    CHECK(b.read()["type"] == "error");
    CHECK(b.drain().empty());   // still connected
}

TEST_CASE("resume after a reconnect gets exactly the missed messages, in order, then live ones") {
    Service svc;
    const auto alice = svc.login("alice", "alice-pass");
    {
        WsClient a;
        a.connect(svc.srv->port(), "/ws", alice);
        REQUIRE(eventually([&] { return svc.hub.subscriber_count(AgentId("alice")) == 1; }));
        svc.hub.send(AgentId("alice"), ringing("c1"));
        CHECK(a.read()["seq"] == 1);
        a.ws.close(websocket::close_code::normal);
    }
    REQUIRE(eventually([&] { return svc.hub.subscriber_count(AgentId("alice")) == 0; }));
    svc.hub.send(AgentId("alice"), ringing("c2"));
    svc.hub.send(AgentId("alice"), ringing("c3"));

    WsClient a;
    a.connect(svc.srv->port(), "/ws", alice);
    REQUIRE(eventually([&] { return svc.hub.subscriber_count(AgentId("alice")) == 1; }));
    // c4 may reach the session before or after the resume: either way the
    // browser sees 2, 3, 4.
    svc.hub.send(AgentId("alice"), ringing("c4"));
    a.send({{"type", "resume"}, {"after_seq", 1}});
    std::vector<std::uint64_t> seqs;
    for (int i = 0; i < 3; ++i) seqs.push_back(a.read()["seq"].get<std::uint64_t>());
    CHECK(seqs == std::vector<std::uint64_t>{2, 3, 4});
    CHECK(a.drain().empty());
    a.send({{"type", "resume"}, {"after_seq", -1}});
    CHECK(a.read()["type"] == "error");
}

TEST_CASE("a WebSocket client that never reads is closed once its queue is full instead of buffering") {
    server::ServerOptions o;
    o.ws_queue_limit = 8;
    Service svc(o);
    const auto alice = svc.login("alice", "alice-pass");
    WsClient slow;
    slow.connect(svc.srv->port(), "/ws", alice, 4096);
    REQUIRE(eventually([&] { return svc.hub.subscriber_count(AgentId("alice")) == 1; }));
    slow.send({{"type", "ping"}});   // ends the resume window: from here on messages are written, not held
    json big = ringing("big");
    big["padding"] = std::string(256 * 1024, 'x');
    for (int i = 0; i < 200 && svc.hub.subscriber_count(AgentId("alice")) == 1; ++i) svc.hub.send(AgentId("alice"), big);
    CHECK(eventually([&] { return svc.hub.subscriber_count(AgentId("alice")) == 0; }));
    CHECK(svc.hub.stats().dropped > 0);
    auto metrics = svc.request(http::verb::get, "/metrics");
    CHECK(metrics.body().find("ringside_ws_queue_overflow_total 1") != std::string::npos);
    CHECK(eventually([&] {
        return svc.request(http::verb::get, "/metrics").body().find("ringside_ws_connections_open 0") != std::string::npos;
    }));
}

TEST_CASE("a dial's outcome reaches the agent through the call engine, never around it") {
    // The outcome arrives on the PBX link's thread. The hub numbers a user's
    // messages in send() order and a socket drops a seq lower than one it
    // has, so only the engine strand may send: while the engine is busy the
    // outcome waits behind it instead of racing the engine's own messages.
    struct NowDialer final : Dialer {
        DialStart dial(const DialRequest&, std::function<void(const DialOutcome&)> done) override {
            std::thread([done = std::move(done)] { done(DialOutcome{true, ""}); }).join();  // "any thread"
            return DialStart::accepted;
        }
    } dialer;
    Service svc;
    svc.srv->set_dialer(&dialer);
    const auto alice = svc.login("alice", "alice-pass");
    WsClient a;
    a.connect(svc.srv->port(), "/ws", alice);
    REQUIRE(a.drain().empty());

    std::promise<void> release;
    std::atomic<bool> busy{false};
    net::post(svc.engine, [&, go = release.get_future().share()] {
        busy = true;
        go.wait();
    });
    REQUIRE(eventually([&] { return busy.load(); }));
    auto r = svc.request(http::verb::post, "/api/calls/dial", json{{"number", "09121234567"}}.dump(), alice);
    REQUIRE(r.result() == http::status::accepted);
    // The engine is busy: the outcome is queued behind it, not sent around it.
    const auto early = a.drain();
    release.set_value();
    CHECK(early.empty());
    if (!early.empty()) return;  // sent around the engine: nothing more will come
    auto m = a.read();
    CHECK(m["type"] == "dial.result");
    CHECK(m["ok"] == true);
    CHECK(m["number"] == "+989121234567");
}

TEST_CASE("the call log's phone filter takes a number as people type it; the report profiles all 24 hours of the day") {
    Service svc;
    for (int i = 0; i < 6; ++i) {
        auto c = call("main-200." + std::to_string(i), "alice", i * 60, "");
        if (i % 2) c.from = "+989131234567";
        svc.store.upsert_call(c);
    }
    const auto sam = svc.login("sam", "sam-pass");
    const auto ids = [&](const std::string& target) {
        auto r = svc.request(http::verb::get, target, "", sam);
        REQUIRE(r.result() == http::status::ok);
        const auto body = json::parse(r.body());
        std::vector<std::string> out;
        for (const auto& c : body["calls"]) out.push_back(c["id"].get<std::string>());
        std::sort(out.begin(), out.end());
        return out;
    };
    const std::vector<std::string> odd = {"main-200.1", "main-200.3", "main-200.5"};
    CHECK(ids("/api/calls?phone=0913%20123%204567") == odd);
    CHECK(ids("/api/calls?phone=%2B98%20(913)%20123-4567") == odd);
    CHECK(ids("/api/calls?phone=00989131234567") == odd);
    // Persian digits, as a Persian keyboard types them.
    CHECK(ids("/api/calls?phone=%DB%B0%DB%B9%DB%B1%DB%B3%DB%B1%DB%B2%DB%B3%DB%B4%DB%B5%DB%B6%DB%B7") == odd);
    CHECK(ids("/api/calls?phone=1001").size() == 6);  // an extension, matched as its digits
    auto bad = svc.request(http::verb::get, "/api/calls?phone=call%20me", "", sam);
    CHECK(bad.result() == http::status::bad_request);
    CHECK(json::parse(bad.body())["message"].get<std::string>().find("'phone'") != std::string::npos);

    // The calls start 14:00Z to 19:00Z, one an hour: 17:30 to 22:30 in Tehran (+03:30).
    auto rep = svc.request(http::verb::get,
                           "/api/reports?since=2026-11-23T00:00:00Z&until=2026-11-24T12:00:00Z&utc_offset=210", "", sam);
    REQUIRE(rep.result() == http::status::ok);
    const auto hod = json::parse(rep.body())["hour_of_day"];
    REQUIRE(hod.size() == 24);
    for (int h = 0; h < 24; ++h) {
        CAPTURE(h);
        CHECK(hod[h]["hour"] == h);
        CHECK(hod[h]["answered"] == (h >= 17 && h <= 22 ? 1 : 0));
        CHECK(hod[h]["missed"] == 0);
    }
}
