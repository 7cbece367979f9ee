// Debian's nginx in front of the real `ringside serve`, both configured from
// docs/deploy-nginx.md itself (its toml and nginx blocks, only the ports and
// the certificate files changed): TLS at nginx, WebSockets through it, and
// the client nginx names in X-Forwarded-For counting for the sign-in limit
// and the audit log. Exits 77 (skipped) when nginx is not installed.
#include <doctest/doctest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

#include <boost/asio/connect.hpp>
#include <boost/beast/http.hpp>

#include "tls_client.hpp"

using namespace ringside::test;
using json = nlohmann::json;

namespace {

const std::filesystem::path nginx_binary = "/usr/sbin/nginx";

/// The first ```lang block of the deployment guide.
std::string guide_block(const std::string& lang) {
    const auto text = read_file(std::filesystem::path(RINGSIDE_SOURCE_DIR) / "docs" / "deploy-nginx.md");
    const auto open = text.find("```" + lang + "\n");
    REQUIRE(open != std::string::npos);
    const auto start = open + lang.size() + 4;
    const auto close = text.find("```", start);
    REQUIRE(close != std::string::npos);
    return text.substr(start, close - start);
}

/// `from` replaced by `to`, which must occur exactly once.
std::string replace_once(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "the guide no longer has: " << from);
    REQUIRE_MESSAGE(text.find(from, at + 1) == std::string::npos, "the guide has twice: " << from);
    return text.replace(at, from.size(), to);
}

struct Proxied {
    TempDir dir;
    unsigned short ringside_port = free_port();
    unsigned short https_port = free_port();
    unsigned short http_port = free_port();
    TestCert cert = make_cert(dir.path, "proxy");
    TlsClient tls{{cert.cert}};
    std::unique_ptr<Process> ringside;
    std::unique_ptr<Process> nginx;

    Proxied() {
        if (!std::filesystem::exists(nginx_binary)) {
            std::fprintf(stderr, "SKIPPED: %s is not installed (scripts/install-deps --test installs Debian's nginx)\n",
                         nginx_binary.c_str());
            std::fflush(stderr);
            std::_Exit(77);
        }
        const auto config = dir.path / "ringside.toml";
        write_file(config, replace_once(guide_block("toml"), "127.0.0.1:8080", "127.0.0.1:" + std::to_string(ringside_port)) +
                               "\n[database]\npath = \"" + (dir.path / "ringside.db").string() + "\"\n");
        REQUIRE(add_user(config, dir.path, "alice", "agent", "1001") == 0);
        REQUIRE(add_user(config, dir.path, "ada", "admin", "") == 0);
        ringside = serve(config, dir.path, ringside_port);

        auto site = guide_block("nginx");
        site = replace_once(site, "listen 80;", "listen 127.0.0.1:" + std::to_string(http_port) + ";");
        site = replace_once(site, "listen 443 ssl;", "listen 127.0.0.1:" + std::to_string(https_port) + " ssl;");
        site = replace_once(site, "server 127.0.0.1:8080;", "server 127.0.0.1:" + std::to_string(ringside_port) + ";");
        site = replace_once(site, "/etc/ringside/tls/fullchain.pem", cert.cert.string());
        site = replace_once(site, "/etc/ringside/tls/privkey.pem", cert.key.string());
        write_file(dir.path / "site.conf", site);
        const auto d = dir.path.string();
        // One process that keeps its user (no master dropping to another), everything under dir.
        write_file(dir.path / "nginx.conf",
                   "daemon off;\nmaster_process off;\npid " + d + "/nginx.pid;\nerror_log " + d + "/nginx-error.log info;\n"
                   "events { worker_connections 256; }\n"
                   "http {\n  access_log " + d + "/nginx-access.log;\n"
                   "  client_body_temp_path " + d + "/body;\n  proxy_temp_path " + d + "/proxy;\n"
                   "  fastcgi_temp_path " + d + "/fastcgi;\n  uwsgi_temp_path " + d + "/uwsgi;\n  scgi_temp_path " + d + "/scgi;\n"
                   "  include " + d + "/site.conf;\n}\n");
        nginx = std::make_unique<Process>(
            std::vector<std::string>{nginx_binary.string(), "-e", d + "/nginx-early.log", "-p", d, "-c", d + "/nginx.conf"},
            dir.path);
        if (!tls.wait_healthy(https_port)) {
            FAIL("nginx did not proxy /healthz: " << read_file(dir.path / "nginx-error.log") << nginx->err());
        }
    }
    ~Proxied() {
        if (nginx) {
            nginx->signal(SIGTERM);
            nginx->wait(10s);
        }
        stop_serve(ringside.get());
    }

    int login_status(const std::string& user, const std::string& password, const std::map<std::string, std::string>& h = {}) {
        return tls.request(https_port, "POST", "/api/login", json{{"username", user}, {"password", password}}.dump(), "", h).status;
    }
};

}  // namespace

TEST_CASE("through nginx: HTTPS with HSTS, plain HTTP redirected, sign-in, the origin check and a WebSocket") {
    Proxied p;
    auto health = p.tls.request(p.https_port, "GET", "/healthz");
    CHECK(health.status == 200);
    CHECK(health.headers["strict-transport-security"] == "max-age=31536000");
    auto plain = http(p.http_port, "GET", "/healthz");
    CHECK(plain.status == 301);
    CHECK(plain.headers["location"].starts_with("https://"));

    const auto alice = p.tls.login(p.https_port, "alice", "password-123");
    const std::map<std::string, std::string> cookie{{"Cookie", "ringside_session=" + alice},
                                                    {"Content-Type", "application/json"}};
    auto with = [&](const std::string& origin) {
        auto h = cookie;
        h["Origin"] = origin;
        return p.tls.request(p.https_port, "POST", "/api/customers", R"({"name":"Via nginx","phones":["09121234567"]})", "", h);
    };
    CHECK(with("https://ringside.example").status == 201);  // the public origin of allowed_origins
    CHECK(with("http://evil.example").status == 403);

    WssClient ws(p.tls, p.https_port, alice);
    ws.send({{"type", "ping"}});
    CHECK(ws.next_of("pong"));
}

TEST_CASE("through nginx each client has its own sign-in limit; a made-up X-Forwarded-For changes nothing; the audit log names the client") {
    Proxied p;
    p.tls.source = "127.0.0.5";
    for (int i = 0; i < 5; ++i) CHECK(p.login_status("alice", "wrong-guess") == 401);
    CHECK(p.login_status("alice", "password-123") == 429);
    CHECK(p.login_status("alice", "password-123", {{"X-Forwarded-For", "198.51.100.7"}}) == 429);
    CHECK(p.login_status("alice", "password-123", {{"Forwarded", "for=198.51.100.8"}}) == 429);
    // Another desk: without trusted_proxies it would be 127.0.0.1 too, and locked with the first.
    p.tls.source = "127.0.0.6";
    CHECK(p.login_status("alice", "password-123") == 200);
    const auto ada = p.tls.login(p.https_port, "ada", "password-123");
    const auto audit = p.tls.request(p.https_port, "GET", "/api/admin/audit", "", ada);
    REQUIRE(audit.status == 200);
    CHECK(audit.body.find("127.0.0.6") != std::string::npos);
    CHECK(audit.body.find("198.51.100") == std::string::npos);
}
