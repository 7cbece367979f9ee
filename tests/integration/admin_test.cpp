// The admin API against the real binary: roles, users (create, disable,
// password reset, role), PBX connections added at runtime (connect, test,
// disable, still there after a restart), and the audit log in pages.
#include <doctest/doctest.h>

#include <algorithm>

#include "harness.hpp"
#include "site.hpp"

using namespace ringside::test;
using json = nlohmann::json;

namespace {

json connection(const Site& site, const std::string& token, const std::string& id) {
    const json all = http(site.port, "GET", "/api/admin/pbx", "", token).json();
    for (const auto& c : all["connections"])
        if (c["id"] == id) return c;
    return nullptr;
}

bool wait_state(const Site& site, const std::string& token, const std::string& id, const std::string& state) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        if (connection(site, token, id).value("state", "") == state) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

}  // namespace

TEST_CASE("admins manage users and PBX connections at runtime; every change is in the audit log") {
    Site site;
    site.start_pbx();
    REQUIRE(site.add_user("root", "admin", "") == 0);
    REQUIRE(site.add_user("sam", "supervisor", "") == 0);
    site.start_ringside();
    REQUIRE(site.wait_pbx_linked());
    const auto root = site.token("root");
    const auto sam = site.token("sam");

    // Only admins.
    CHECK(http(site.port, "GET", "/api/admin/users", "", sam).status == 403);
    CHECK(http(site.port, "GET", "/api/admin/audit").status == 401);
    CHECK(http(site.port, "POST", "/api/admin/pbx", "{}", sam).status == 403);

    // Users: create, sign in, disable ends the session, enable, reset password.
    auto created = http(site.port, "POST", "/api/admin/users",
                        json{{"username", "dana"}, {"name", "Dana"}, {"role", "agent"}, {"extension", "1005"},
                             {"password", "dana-password"}}.dump(), root);
    REQUIRE(created.status == 201);
    CHECK(created.json()["user"]["extension"] == "1005");
    CHECK(created.body.find("dana-password") == std::string::npos);
    CHECK(http(site.port, "POST", "/api/admin/users",
               json{{"username", "dana"}, {"role", "agent"}, {"password", "dana-password"}}.dump(), root).status == 409);
    auto weak = http(site.port, "POST", "/api/admin/users",
                     json{{"username", "eve"}, {"role", "agent"}, {"password", "short"}}.dump(), root);
    CHECK(weak.status == 400);
    CHECK(weak.json()["message"].get<std::string>().find("field 'password'") != std::string::npos);
    const auto dana = site.token("dana", "dana-password");
    CHECK(http(site.port, "GET", "/api/me", "", dana).status == 200);
    WsClient dana_console(site.port, dana);
    CHECK(http(site.port, "PATCH", "/api/admin/users/dana", R"({"disabled":true})", root).status == 200);
    CHECK(http(site.port, "GET", "/api/me", "", dana).status == 401);
    // Her open console is closed by the server now, not at its next reconnect.
    for (int i = 0; i < 50 && !dana_console.closed(); ++i) {
        try {
            dana_console.next(100ms);
        } catch (const std::runtime_error&) {  // the read failed: closed
        }
    }
    CHECK(dana_console.closed());
    CHECK_THROWS(site.token("dana", "dana-password"));
    CHECK(http(site.port, "PATCH", "/api/admin/users/dana", R"({"disabled":false,"role":"supervisor","extension":null})", root)
              .json()["user"] == json{{"username", "dana"}, {"name", "Dana"}, {"role", "supervisor"}, {"extension", nullptr},
                                      {"disabled", false}});
    const auto dana2 = site.token("dana", "dana-password");
    CHECK(http(site.port, "POST", "/api/admin/users/dana/password", R"({"password":"new-dana-password"})", root).status == 200);
    CHECK(http(site.port, "GET", "/api/me", "", dana2).status == 401);
    CHECK_NOTHROW(site.token("dana", "new-dana-password"));
    CHECK(http(site.port, "PATCH", "/api/admin/users/root", R"({"disabled":true})", root).status == 409);
    CHECK(http(site.port, "PATCH", "/api/admin/users/nobody", R"({"disabled":true})", root).status == 404);
    CHECK(http(site.port, "PATCH", "/api/admin/users/dana", R"({"role":"boss"})", root).json()["message"] ==
          "field 'role' must be agent, supervisor or admin");
    const json users = http(site.port, "GET", "/api/admin/users", "", root).json();
    CHECK(users.dump().find("hash") == std::string::npos);

    // A PBX connection added at runtime connects, tests, and stops when disabled.
    auto added = http(site.port, "POST", "/api/admin/pbx",
                      json{{"id", "branch"}, {"type", "asterisk-ami"}, {"host", "127.0.0.1"}, {"port", site.pbx->port()},
                           {"username", "ringside"}, {"secret", site.opts.sim_secret}}.dump(), root);
    REQUIRE(added.status == 201);
    CHECK(added.body.find(site.opts.sim_secret) == std::string::npos);
    REQUIRE(wait_state(site, root, "branch", "connected"));
    auto verdict = http(site.port, "POST", "/api/admin/pbx/branch/test", "", root).json();
    CHECK(verdict["ok"] == true);
    CHECK(verdict["state"] == "connected");
    REQUIRE(http(site.port, "POST", "/api/admin/pbx",
                 json{{"id", "wrong"}, {"type", "asterisk-ami"}, {"host", "127.0.0.1"}, {"port", site.pbx->port()},
                      {"username", "ringside"}, {"secret", "not-it"}, {"enabled", false}}.dump(), root).status == 201);
    CHECK(connection(site, root, "wrong")["state"] == "disabled");
    verdict = http(site.port, "POST", "/api/admin/pbx/wrong/test", "", root).json();
    CHECK(verdict["ok"] == false);
    CHECK(verdict["state"] == "login_refused");
    auto bad = http(site.port, "POST", "/api/admin/pbx", json{{"id", "x"}, {"type", "asterisk-ami"}}.dump(), root);
    CHECK(bad.status == 400);
    CHECK(bad.json()["message"] == "field 'username' is required for asterisk-ami");
    CHECK(http(site.port, "PATCH", "/api/admin/pbx/branch", R"({"enabled":false})", root).status == 200);
    CHECK(wait_state(site, root, "branch", "disabled"));
    CHECK(http(site.port, "PATCH", "/api/admin/pbx/main", R"({"enabled":"no"})", root).status == 400);

    // The audit log has it all, newest first, in pages.
    const json page1 = http(site.port, "GET", "/api/admin/audit?limit=3", "", root).json();
    REQUIRE(page1["entries"].size() == 3);
    CHECK(page1["entries"][0]["action"] == "pbx.disable");
    REQUIRE(page1["next_before"].is_number());
    const json page2 = http(site.port, "GET", "/api/admin/audit?limit=500&before=" +
                                                  std::to_string(page1["next_before"].get<long long>()), "", root).json();
    std::vector<std::string> actions;
    for (const auto& e : page1["entries"]) actions.push_back(e["action"]);
    for (const auto& e : page2["entries"]) actions.push_back(e["action"]);
    for (const char* a : {"pbx.add", "pbx.disable", "user.create", "user.disable", "user.enable", "user.password_reset"})
        CHECK_MESSAGE(std::find(actions.begin(), actions.end(), a) != actions.end(), a);
    CHECK(page2.dump().find("new-dana-password") == std::string::npos);
    CHECK(page2.dump().find(site.opts.sim_secret) == std::string::npos);

    // After a restart the page's connections are back as they were left.
    REQUIRE(site.stop_ringside() == 0);
    site.start_ringside();
    const auto root2 = site.token("root");
    CHECK(connection(site, root2, "branch")["state"] == "disabled");
    CHECK(connection(site, root2, "branch")["source"] == "database");
    CHECK(connection(site, root2, "main")["source"] == "config");
}

TEST_CASE("a connection added on the page can be corrected and removed; config connections stay read-only") {
    Site site;
    site.start_pbx();
    REQUIRE(site.add_user("root", "admin", "") == 0);
    site.start_ringside();
    REQUIRE(site.wait_pbx_linked());
    const auto root = site.token("root");

    // Added with a mistyped secret: the PBX refuses the login.
    REQUIRE(http(site.port, "POST", "/api/admin/pbx",
                 json{{"id", "office"}, {"type", "asterisk-ami"}, {"host", "127.0.0.1"}, {"port", site.pbx->port()},
                      {"username", "ringside"}, {"secret", "typo"}}.dump(), root).status == 201);
    REQUIRE(wait_state(site, root, "office", "login_refused"));

    // Corrected: the link restarts with the new secret and logs in.
    auto fixed = http(site.port, "PATCH", "/api/admin/pbx/office", json{{"secret", site.opts.sim_secret}}.dump(), root);
    REQUIRE(fixed.status == 200);
    CHECK(fixed.body.find(site.opts.sim_secret) == std::string::npos);
    REQUIRE(wait_state(site, root, "office", "connected"));
    // An empty secret (the page never shows the stored one) keeps it.
    REQUIRE(http(site.port, "PATCH", "/api/admin/pbx/office", R"({"host":"127.0.0.1","secret":""})", root).status == 200);
    CHECK(wait_state(site, root, "office", "connected"));

    auto retype = http(site.port, "PATCH", "/api/admin/pbx/office", R"({"type":"webhook"})", root);
    CHECK(retype.status == 400);
    CHECK(retype.json()["message"].get<std::string>().find("field 'type'") != std::string::npos);
    auto bad_port = http(site.port, "PATCH", "/api/admin/pbx/office", R"({"port":70000})", root);
    CHECK(bad_port.status == 400);
    CHECK(bad_port.json()["message"] == "field 'port' must be a whole number from 1 to 65535");
    CHECK(connection(site, root, "office")["port"] == site.pbx->port());  // the bad change stored nothing
    CHECK(http(site.port, "PATCH", "/api/admin/pbx/main", R"({"host":"10.0.0.1"})", root).status == 409);
    CHECK(http(site.port, "DELETE", "/api/admin/pbx/main", "", root).status == 409);
    CHECK(http(site.port, "PATCH", "/api/admin/pbx/nowhere", R"({"host":"10.0.0.1"})", root).status == 404);

    // Removed: gone from the list now and after a restart; the audit keeps what it was.
    auto removed = http(site.port, "DELETE", "/api/admin/pbx/office", "", root);
    REQUIRE(removed.status == 200);
    CHECK(removed.json()["removed"] == "office");
    CHECK(connection(site, root, "office").is_null());
    CHECK(http(site.port, "DELETE", "/api/admin/pbx/office", "", root).status == 404);
    const json audit = http(site.port, "GET", "/api/admin/audit?limit=10", "", root).json();
    REQUIRE(audit["entries"].size() >= 3);
    CHECK(audit["entries"][0]["action"] == "pbx.remove");
    CHECK(audit["entries"][1]["action"] == "pbx.update");
    CHECK(audit.dump().find(site.opts.sim_secret) == std::string::npos);
    CHECK(audit.dump().find("typo") == std::string::npos);
    REQUIRE(site.stop_ringside() == 0);
    site.start_ringside();
    CHECK(connection(site, site.token("root"), "office").is_null());
    CHECK(connection(site, site.token("root"), "main")["state"].is_string());
}
