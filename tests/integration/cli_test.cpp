// The command line of docs/interface.md: exit statuses, one-line reasons, and the demo.
#include <doctest/doctest.h>

#include <csignal>

#include "harness.hpp"

using namespace ringside::test;
using json = nlohmann::json;

namespace {
std::string bin() { return ringside_binary().string(); }
}  // namespace

TEST_CASE("check-config explains each mistake with its key path and line and exits 1") {
    TempDir d;
    write_file(d.path / "bad.toml",
               "[server]\nlisten = \"nowhere\"\n[[pbx]]\nid = \"Main\"\ntype = \"asterisk-ami\"\nport = 70000\n");
    auto r = run({bin(), "check-config", (d.path / "bad.toml").string()}, d.path);
    CHECK(r.status == 1);
    CHECK(r.out.find(":2: server.listen") != std::string::npos);
    CHECK(r.out.find(":4: pbx[0].id") != std::string::npos);
    CHECK(r.out.find(":6: pbx[0].port") != std::string::npos);
    auto ok = run({bin(), "check-config", std::string(RINGSIDE_SOURCE_DIR) + "/config/ringside.example.toml"}, d.path);
    CHECK(ok.status == 0);
}

TEST_CASE("user add refuses a duplicate and a weak password with a clear reason") {
    TempDir d;
    write_file(d.path / "r.toml", "[database]\npath = \"" + (d.path / "r.db").string() + "\"\n");
    auto cfg = (d.path / "r.toml").string();
    std::vector<std::string> add{bin(), "user", "add", "--username", "alice", "--role", "agent", "--extension", "1001",
                                 "--password-stdin", "--config", cfg};
    CHECK(run(add, d.path, "long-enough-pw\n").status == 0);
    auto dup = run(add, d.path, "long-enough-pw\n");
    CHECK(dup.status != 0);
    CHECK(dup.err.find("already exists") != std::string::npos);
    add[4] = "bob";
    auto weak = run(add, d.path, "short\n");
    CHECK(weak.status != 0);
    CHECK(weak.err.find("at least 8") != std::string::npos);
    auto bad_role = run({bin(), "user", "add", "--username", "x", "--role", "king", "--password-stdin", "--config", cfg},
                        d.path, "long-enough-pw\n");
    CHECK(bad_role.status != 0);
    CHECK(bad_role.err.find("--role") != std::string::npos);
}

TEST_CASE("import customers reports rejected rows and imports nothing twice") {
    TempDir d;
    write_file(d.path / "r.toml", "[database]\npath = \"" + (d.path / "r.db").string() + "\"\n");
    auto cfg = (d.path / "r.toml").string();
    write_file(d.path / "c.csv",
               "name,phones,email,tier,tags\n"
               "Sara Ahmadi,0912 123 4567,sara@example.com,gold,vip;refund\n"
               "\"Karimi, Ali\",۰۹۳۵۱۱۱۲۲۳۳,,silver,\n"
               ",09120000000,,,\n"
               "Bad Phone,hello,,,\n"
               "Dup In Other Format,+98 912 123 4567,,,\n");
    auto first = run({bin(), "import", "customers", (d.path / "c.csv").string(), "--config", cfg}, d.path);
    CHECK(first.out.find("imported 2, already present 1, rejected 2") != std::string::npos);
    CHECK(first.err.find("row 4 rejected: name is empty") != std::string::npos);
    CHECK(first.err.find("row 5 rejected: phone \"hello\"") != std::string::npos);
    auto again = run({bin(), "import", "customers", (d.path / "c.csv").string(), "--config", cfg}, d.path);
    CHECK(again.out.find("imported 0, already present 3, rejected 2") != std::string::npos);
}

TEST_CASE("an unknown command or option exits non-zero with a one-line reason") {
    TempDir d;
    auto r = run({bin(), "frobnicate"}, d.path);
    CHECK(r.status == 2);
    CHECK(r.err.rfind("ringside: unknown command", 0) == 0);
    auto s = run({bin(), "serve", "--config", (d.path / "missing.toml").string()}, d.path);
    CHECK(s.status == 1);
    CHECK(s.err.find("cannot read") != std::string::npos);
}

TEST_CASE("the demo seeds data, prints the logins and pops a call on a signed-in agent") {
    TempDir d;
    auto port = free_port();
    Process demo({bin(), "demo", "--listen", "127.0.0.1:" + std::to_string(port), "--data", (d.path / "demo").string()},
                 d.path);
    REQUIRE(wait_healthy(port));
    CHECK(demo.out().find("alice / agent-demo") != std::string::npos);
    auto token = login(port, "alice", "agent-demo");
    WsClient alice(port, token);
    auto ring = alice.next_of("call.ringing", 20s);
    REQUIRE(ring);
    CHECK((*ring)["call"]["to"].is_string());
    auto page = http(port, "GET", "/");
    CHECK(page.status == 200);
    CHECK(page.headers["content-type"].find("text/html") == 0);
    demo.signal(SIGTERM);
    CHECK(demo.wait(15s) == 0);
}
