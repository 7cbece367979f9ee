#include <doctest/doctest.h>

#include <string>

#include "ringside/server/auth.hpp"
#include "ringside/server/client_address.hpp"
#include "ringside/server/http_util.hpp"
#include "ringside/server/router.hpp"

using namespace ringside;
using namespace ringside::server;
namespace http = boost::beast::http;

TEST_CASE("the route table tells an unknown path (404) from a known path with the wrong verb (405)") {
    Router<int> r;
    r.add(http::verb::get, "/api/calls", 1);
    r.add(http::verb::get, "/api/calls.csv", 2);
    r.add(http::verb::post, "/api/calls/{id}/disposition", 3);
    r.add(http::verb::get, "/api/customers/{id}", 4);
    r.add(http::verb::post, "/api/customers", 5);
    r.add(http::verb::get, "/api/customers", 6);

    auto m = r.match(http::verb::post, "/api/calls/main-17.3/disposition");
    REQUIRE(m.handler);
    CHECK(*m.handler == 3);
    REQUIRE(m.params.size() == 1);
    CHECK(m.params[0] == "main-17.3");
    CHECK(m.pattern == "/api/calls/{id}/disposition");

    CHECK(*r.match(http::verb::get, "/api/calls.csv").handler == 2);
    CHECK(*r.match(http::verb::get, "/api/customers").handler == 6);
    CHECK(*r.match(http::verb::post, "/api/customers").handler == 5);

    auto not_allowed = r.match(http::verb::delete_, "/api/customers");
    CHECK_FALSE(not_allowed.handler);
    CHECK(not_allowed.allow == "POST, GET");

    auto missing = r.match(http::verb::get, "/api/nothing");
    CHECK_FALSE(missing.handler);
    CHECK(missing.allow.empty());
    CHECK(missing.pattern.empty());

    // A capture never matches an empty segment; a trailing slash is another path.
    CHECK_FALSE(r.match(http::verb::get, "/api/customers/").handler);
    CHECK_FALSE(r.match(http::verb::get, "/api/calls/").handler);
}

TEST_CASE("a bearer header yields its token only for the Bearer scheme and a token-shaped value") {
    const std::string token(64, 'a');
    CHECK(parse_bearer("Bearer " + token) == token);
    CHECK(parse_bearer("bearer   " + token + " ") == token);
    CHECK_FALSE(parse_bearer("Basic " + token));
    CHECK_FALSE(parse_bearer("Bearer"));
    CHECK_FALSE(parse_bearer("Bearer "));
    CHECK_FALSE(parse_bearer("Bearer short"));
    CHECK_FALSE(parse_bearer("Bearer " + std::string(40, 'a') + ";drop"));
    CHECK_FALSE(parse_bearer(""));
}

TEST_CASE("the session cookie is found among others and an empty one counts as none") {
    CHECK(cookie_value("a=1; ringside_session=abc; b=2", "ringside_session") == "abc");
    CHECK(cookie_value("ringside_session=\"q\"", "ringside_session") == "q");
    CHECK_FALSE(cookie_value("x_ringside_session=abc", "ringside_session"));
    CHECK_FALSE(cookie_value("ringside_session=", "ringside_session"));
    CHECK_FALSE(cookie_value("", "ringside_session"));
    const auto c = session_cookie("tok", std::chrono::seconds(60), false);
    CHECK(c.find("HttpOnly") != std::string::npos);
    CHECK(c.find("SameSite=Strict") != std::string::npos);
    CHECK(c.find("Secure") == std::string::npos);
    CHECK(session_cookie("tok", std::chrono::seconds(60), true).find("; Secure") != std::string::npos);
}

TEST_CASE("five failed logins in a minute lock the key until the oldest leaves the window") {
    LoginThrottle t(5, std::chrono::seconds(60));
    const auto t0 = LoginThrottle::clock::time_point{} + std::chrono::hours(1);
    for (int i = 0; i < 4; ++i) t.record_failure("user:alice", t0 + std::chrono::seconds(i));
    CHECK(t.retry_after("user:alice", t0 + std::chrono::seconds(5)).count() == 0);
    t.record_failure("user:alice", t0 + std::chrono::seconds(5));
    CHECK(t.retry_after("user:alice", t0 + std::chrono::seconds(6)).count() == 54);
    CHECK(t.retry_after("user:bob", t0 + std::chrono::seconds(6)).count() == 0);
    CHECK(t.retry_after("user:alice", t0 + std::chrono::seconds(61)).count() == 0);
    t.record_success("user:alice");
    CHECK(t.retry_after("user:alice", t0 + std::chrono::seconds(7)).count() == 0);
}

TEST_CASE("the throttle forgets the oldest keys beyond its bound") {
    LoginThrottle t(1, std::chrono::seconds(60), 2);
    const auto now = LoginThrottle::clock::now();
    t.record_failure("a", now);
    t.record_failure("b", now);
    t.record_failure("c", now);
    CHECK(t.retry_after("a", now).count() == 0);
    CHECK(t.retry_after("c", now).count() > 0);
}

TEST_CASE("an attempt counts from when it starts: five in flight hold the places, the sixth waits") {
    LoginThrottle t(5, std::chrono::seconds(60));
    const auto t0 = LoginThrottle::clock::time_point{} + std::chrono::hours(1);
    for (int i = 0; i < 5; ++i) CHECK(t.try_begin("alice", t0).count() == 0);
    CHECK(t.try_begin("alice", t0).count() > 0);   // nothing recorded yet, but five checks are running
    CHECK(t.try_begin("bob", t0).count() == 0);
    t.finish("bob", LoginThrottle::Outcome::abandoned, t0);
    // Abandoned (the check never ran): the place comes back uncounted.
    t.finish("alice", LoginThrottle::Outcome::abandoned, t0);
    CHECK(t.try_begin("alice", t0).count() == 0);
    for (int i = 0; i < 5; ++i) t.finish("alice", LoginThrottle::Outcome::failed, t0 + std::chrono::seconds(1));
    CHECK(t.retry_after("alice", t0 + std::chrono::seconds(2)).count() == 59);
    CHECK(t.try_begin("alice", t0 + std::chrono::seconds(2)).count() == 59);
}

TEST_CASE("each lock after the first lasts twice as long as the one before; a success starts over") {
    LoginThrottle t(2, std::chrono::seconds(60), 100, std::chrono::seconds(600));
    auto now = LoginThrottle::clock::time_point{} + std::chrono::hours(1);
    const auto lock_after_two_failures = [&] {
        for (int i = 0; i < 2; ++i) {
            REQUIRE(t.try_begin("k", now).count() == 0);
            t.finish("k", LoginThrottle::Outcome::failed, now);
        }
        const auto wait = t.retry_after("k", now);
        now += wait;
        return wait.count();
    };
    CHECK(lock_after_two_failures() == 60);
    CHECK(lock_after_two_failures() == 120);
    CHECK(lock_after_two_failures() == 240);
    CHECK(lock_after_two_failures() == 480);
    CHECK(lock_after_two_failures() == 600);   // at most max_lock
    REQUIRE(t.try_begin("k", now).count() == 0);
    t.finish("k", LoginThrottle::Outcome::succeeded, now);
    CHECK(lock_after_two_failures() == 60);
}

TEST_CASE("a desk is known from a user's sign-in there until it is older than keep") {
    KnownDesks d(std::chrono::hours(24));
    const auto t0 = KnownDesks::clock::time_point{} + std::chrono::hours(100);
    CHECK_FALSE(d.known("alice", "10.0.0.5", t0));
    d.remember("alice", "10.0.0.5", t0);
    CHECK(d.known("alice", "10.0.0.5", t0 + std::chrono::hours(23)));
    CHECK_FALSE(d.known("alice", "10.0.0.6", t0));
    CHECK_FALSE(d.known("bob", "10.0.0.5", t0));
    CHECK_FALSE(d.known("alice", "10.0.0.5", t0 + std::chrono::hours(25)));
}

TEST_CASE("CSV fields are quoted when needed and never start a spreadsheet formula") {
    CHECK(csv_field("plain") == "plain");
    CHECK(csv_field("a,b") == "\"a,b\"");
    CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_field("two\nlines") == "\"two\nlines\"");
    CHECK(csv_field("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"");
    CHECK(csv_field("@SUM(A1)") == "'@SUM(A1)");
    CHECK(csv_field("-2+3") == "'-2+3");
    CHECK(csv_field("+989121234567") == "+989121234567");
    CHECK(csv_field("") == "");
    CHECK(csv_field("سارا احمدی") == "سارا احمدی");
}

TEST_CASE("a call becomes one CSV row in the header's column order") {
    CallRecord c;
    c.id = CallId("main-1.2");
    c.pbx = PbxId("main");
    c.from = "+989121234567";
    c.from_raw = "09121234567";
    c.to = "1001";
    c.agent = AgentId("alice");
    c.status = CallStatus::answered;
    c.started_at = Timestamp(std::chrono::milliseconds(1795442400123));
    c.notes = "called back, \"happy\"";
    const auto header = calls_csv_header();
    const auto row = calls_csv_row(c);
    CHECK(header.starts_with("id,pbx,direction,from,from_raw,to,customer_id,agent,"));
    CHECK(row.starts_with("main-1.2,main,inbound,+989121234567,09121234567,1001,,alice,,,answered,2026-11-23T14:00:00.123Z,,,0,0,,"));
    CHECK(row.find("\"called back, \"\"happy\"\"\"") != std::string::npos);
    CHECK(row.ends_with("\r\n"));
    const auto commas = [](const std::string& s) { return std::count(s.begin(), s.end(), ','); };
    CHECK(commas(header) == 20);
    // The hang-up side comes last, after the columns older exports had.
    CHECK(header.ends_with(",from_name,hangup_by,hangup_extension\r\n"));
    CHECK(row.ends_with(",,\r\n"));  // unknown side: both empty
    c.hangup_by = HangupBy::agent;
    c.hangup_extension = Extension("1001");
    CHECK(calls_csv_row(c).ends_with(",agent,1001\r\n"));
}

TEST_CASE("query strings and paths are percent-decoded and malformed escapes refused") {
    auto q = parse_query("phone=%2B98%20912&limit=10&phone=second&flag");
    REQUIRE(q);
    CHECK(q->at("phone") == "+98 912");
    CHECK(q->at("limit") == "10");
    CHECK(q->at("flag") == "");
    CHECK(parse_query("a=b+c")->at("a") == "b c");
    CHECK_FALSE(parse_query("a=%zz"));
    CHECK_FALSE(parse_query("a=%2"));
    CHECK_FALSE(url_decode("/a%00b", false));
    CHECK(url_decode("/a+b", false) == "/a+b");
    auto [path, query] = split_target("/api/calls?limit=5");
    CHECK(path == "/api/calls");
    CHECK(query == "limit=5");
}

TEST_CASE("static paths stay inside the web root") {
    const std::filesystem::path root = "/srv/web";
    CHECK(static_file_path(root, "/") == root / "index.html");
    CHECK(static_file_path(root, "/app.js") == root / "app.js");
    CHECK(static_file_path(root, "/img/a.png") == root / "img" / "a.png");
    CHECK_FALSE(static_file_path(root, "/../etc/passwd"));
    CHECK_FALSE(static_file_path(root, "/img/../../x"));
    CHECK_FALSE(static_file_path(root, "/.git/config"));
    CHECK_FALSE(static_file_path(root, "/a\\..\\b"));
    CHECK_FALSE(static_file_path(root, "//etc/passwd"));
    CHECK_FALSE(static_file_path(root, "relative"));
    CHECK(mime_type("index.html") == "text/html; charset=utf-8");
    CHECK(mime_type("app.js") == "text/javascript; charset=utf-8");
    CHECK(mime_type("style.css") == "text/css; charset=utf-8");
    CHECK(mime_type("blob") == "application/octet-stream");
}

TEST_CASE("every domain failure maps to one HTTP status and code") {
    CHECK(status_for(DomainError::invalid_argument) == http::status::bad_request);
    CHECK(status_for(DomainError::unauthenticated) == http::status::unauthorized);
    CHECK(status_for(DomainError::forbidden) == http::status::forbidden);
    CHECK(status_for(DomainError::not_found) == http::status::not_found);
    CHECK(status_for(DomainError::conflict) == http::status::conflict);
    CHECK(status_for(DomainError::rate_limited) == http::status::too_many_requests);
    CHECK(error_code_name(DomainError::forbidden) == "forbidden");
    CHECK(error_body("invalid_json", "bad") == R"({"error":"invalid_json","message":"bad"})");
}

TEST_CASE("a literal path segment wins over a capture whatever the order the routes were added in") {
    Router<int> r;
    r.add(http::verb::get, "/api/calls/{id}", 1);
    r.add(http::verb::post, "/api/calls/dial", 2);

    auto dial = r.match(http::verb::post, "/api/calls/dial");
    REQUIRE(dial.handler);
    CHECK(*dial.handler == 2);
    CHECK(dial.params.empty());

    auto call = r.match(http::verb::get, "/api/calls/main-17.3");
    REQUIRE(call.handler);
    CHECK(*call.handler == 1);
    CHECK(call.params == std::vector<std::string>{"main-17.3"});

    auto wrong = r.match(http::verb::post, "/api/calls/main-17.3");
    CHECK_FALSE(wrong.handler);
    CHECK(wrong.allow == "GET");
}

namespace {
IpAddress ip(const char* text) {
    auto a = parse_ip(text);
    REQUIRE(a);
    return *a;
}
std::vector<AddressRange> ranges(std::initializer_list<const char*> list) {
    std::vector<AddressRange> out;
    for (auto t : list) {
        auto r = parse_address_range(t);
        REQUIRE(r);
        out.push_back(*r);
    }
    return out;
}
}  // namespace

TEST_CASE("address ranges: single addresses, IPv4 and IPv6 blocks; host bits and bad prefixes are refused") {
    CHECK(parse_address_range("10.0.0.0/8")->contains(ip("10.200.1.2")));
    CHECK_FALSE(parse_address_range("10.0.0.0/8")->contains(ip("11.0.0.1")));
    CHECK(parse_address_range("127.0.0.1")->contains(ip("::ffff:127.0.0.1")));
    CHECK_FALSE(parse_address_range("127.0.0.1")->contains(ip("127.0.0.2")));
    CHECK(parse_address_range("fd00::/8")->contains(ip("fd12:3456::1")));
    CHECK_FALSE(parse_address_range("fd00::/8")->contains(ip("fe80::1")));
    CHECK(parse_address_range("0.0.0.0/0")->contains(ip("203.0.113.9")));
    CHECK_FALSE(parse_address_range("0.0.0.0/0")->contains(ip("2001:db8::1")));
    CHECK(parse_address_range("172.16.0.0/12")->contains(ip("172.31.255.255")));
    CHECK_FALSE(parse_address_range("172.16.0.0/12")->contains(ip("172.32.0.0")));
    for (auto bad : {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "proxy.example", "", "::/129", "1.2.3.4:80"})
        CHECK_MESSAGE(!parse_address_range(bad), bad);
    CHECK(to_string(ip("::ffff:192.0.2.7")) == "192.0.2.7");
    CHECK(to_string(ip("2001:db8:0::1")) == "2001:db8::1");
    CHECK(is_loopback(ip("127.1.2.3")));
    CHECK(is_loopback(ip("::1")));
    CHECK_FALSE(is_loopback(ip("10.0.0.1")));
}

TEST_CASE("the client is the nearest untrusted hop of X-Forwarded-For (else Forwarded), and only a trusted peer is believed") {
    const auto proxies = ranges({"127.0.0.1", "10.0.0.0/8"});
    const auto peer = ip("127.0.0.1");
    CHECK(to_string(client_address(peer, proxies, "203.0.113.7", "")) == "203.0.113.7");
    // A value the client wrote itself stands to the left of what the proxy appended.
    CHECK(to_string(client_address(peer, proxies, "6.6.6.6, 203.0.113.7", "")) == "203.0.113.7");
    // Through two proxies of ours.
    CHECK(to_string(client_address(peer, proxies, "203.0.113.7, 10.1.1.1", "")) == "203.0.113.7");
    // Only proxies all the way: the leftmost.
    CHECK(to_string(client_address(peer, proxies, "10.2.2.2, 10.1.1.1", "")) == "10.2.2.2");
    // Garbage stops at the last hop we trust.
    CHECK(to_string(client_address(peer, proxies, "203.0.113.7, unknown", "")) == "127.0.0.1");
    CHECK(to_string(client_address(peer, proxies, "", "")) == "127.0.0.1");
    // An untrusted peer is the client whatever it says.
    CHECK(to_string(client_address(ip("192.0.2.1"), proxies, "203.0.113.7", "for=203.0.113.8")) == "192.0.2.1");
    // RFC 7239: quoted IPv6 with a port, several elements, other parameters, case.
    CHECK(to_string(client_address(peer, proxies, "", R"(for="[2001:db8:cafe::17]:4711";proto=https)")) == "2001:db8:cafe::17");
    CHECK(to_string(client_address(peer, proxies, "", R"(for=192.0.2.60;by=10.0.0.1, For="192.0.2.61:8080")")) == "192.0.2.61");
    CHECK(to_string(client_address(peer, proxies, "", "for=_hidden, for=192.0.2.62")) == "192.0.2.62");
    CHECK(to_string(client_address(peer, proxies, "", "for=unknown")) == "127.0.0.1");
    // X-Forwarded-For wins when both are there.
    CHECK(to_string(client_address(peer, proxies, "203.0.113.7", "for=192.0.2.60")) == "203.0.113.7");
    CHECK(x_forwarded_for_hops("1.2.3.4:5678, [2001:db8::1]:80, 2001:db8::2").size() == 3);
    for (const auto& hop : x_forwarded_for_hops("1.2.3.4:5678, [2001:db8::1]:80, 2001:db8::2")) CHECK(hop.has_value());
}

TEST_CASE("the Host header's name is compared without its port, IPv6 without brackets, ASCII case ignored") {
    const std::vector<std::string> names{"localhost", "127.0.0.1", "::1", "ringside.lan"};
    CHECK(host_is_one_of("localhost:8080", names));
    CHECK(host_is_one_of("LocalHost", names));
    CHECK(host_is_one_of("[::1]:8080", names));
    CHECK(host_is_one_of("127.0.0.1", names));
    CHECK(host_is_one_of("ringside.lan:443", names));
    CHECK_FALSE(host_is_one_of("evil.example:8080", names));
    CHECK_FALSE(host_is_one_of("10.0.0.1:8080", names));
    CHECK_FALSE(host_is_one_of("::1", names));  // IPv6 in Host needs brackets
    CHECK_FALSE(host_is_one_of("", names));
    CHECK_FALSE(host_is_one_of("[::1]x", names));
}
