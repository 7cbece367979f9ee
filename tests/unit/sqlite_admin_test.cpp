// The admin page's storage: the audit log read back newest first in pages,
// user changes (disabling and a new password end the user's sessions), and
// PBX connections added on the page. A real SQLite file.
#include <doctest/doctest.h>

#include <filesystem>

#include "ringside/storage/sqlite_store.hpp"
#include "ringside/storage/write_behind.hpp"
#include "store_fixture.hpp"

using namespace ringside;
using namespace std::chrono_literals;

namespace {

using TempDb = store_test::TempDir;

User agent(const std::string& name, const std::string& ext) {
    User u;
    u.username = AgentId(name);
    u.name = name;
    u.role = Role::agent;
    u.extension = Extension(ext);
    return u;
}

}  // namespace

TEST_CASE("the audit log reads newest first in pages that join up") {
    TempDb db;
    SqliteStore s(db.file());
    for (int i = 0; i < 7; ++i) s.audit("root", "act." + std::to_string(i), "{}", now_ms());
    auto first = s.list_audit(std::nullopt, 3);
    REQUIRE(first.size() == 3);
    CHECK(first[0].action == "act.6");
    CHECK(first[2].action == "act.4");
    auto second = s.list_audit(first.back().id, 3);
    REQUIRE(second.size() == 3);
    CHECK(second[0].action == "act.3");
    auto last = s.list_audit(second.back().id, 3);
    REQUIRE(last.size() == 1);
    CHECK(last[0].action == "act.0");
    CHECK(last[0].actor == "root");
}

TEST_CASE("disabling a user or giving them a new password ends their sessions; other changes keep them") {
    TempDb db;
    SqliteStore s(db.file());
    s.create_user(agent("alice", "1001"), "hash-1");
    const auto later = now_ms() + 1h;
    s.create_session("t1", AgentId("alice"), later);
    UserChange rename;
    rename.name = "Alice Smith";
    rename.extension.emplace(Extension("1009"));
    rename.role = Role::supervisor;
    REQUIRE(s.update_user(AgentId("alice"), rename));
    auto u = s.session_user("t1", now_ms());
    REQUIRE(u);
    CHECK(u->name == "Alice Smith");
    CHECK(u->role == Role::supervisor);
    CHECK(u->extension->value() == "1009");

    UserChange pw;
    pw.password_hash = "hash-2";
    REQUIRE(s.update_user(AgentId("alice"), pw));
    CHECK_FALSE(s.session_user("t1", now_ms()));
    CHECK(s.find_credentials(AgentId("alice"))->password_hash == "hash-2");

    s.create_session("t2", AgentId("alice"), later);
    UserChange off;
    off.disabled = true;
    REQUIRE(s.update_user(AgentId("alice"), off));
    CHECK_FALSE(s.session_user("t2", now_ms()));
    CHECK(s.find_user(AgentId("alice"))->disabled);

    UserChange clear;
    clear.extension.emplace(std::nullopt);
    REQUIRE(s.update_user(AgentId("alice"), clear));
    CHECK_FALSE(s.find_user(AgentId("alice"))->extension);
    CHECK_FALSE(s.update_user(AgentId("nobody"), off));
}

TEST_CASE("PBX connections added on the page are kept in order, unique by id, and remember enabled") {
    TempDb db;
    {
        SqliteStore inner(db.file());
        WriteBehindStore s(inner, [](const std::string&) {});
        s.create_pbx(StoredPbx{"b", "webhook", R"({"path":"/hooks/b"})", true, now_ms(), "root"});
        s.create_pbx(StoredPbx{"a", "asterisk-ami", R"({"host":"x"})", true, now_ms() + 1ms, "root"});
        CHECK_THROWS_AS(s.create_pbx(StoredPbx{"a", "webhook", "{}", true, now_ms(), "root"}), StorageConflict);
        CHECK(s.set_pbx_enabled("a", false));
        CHECK_FALSE(s.set_pbx_enabled("zz", false));
    }
    SqliteStore again(db.file());
    auto all = again.list_pbx();
    REQUIRE(all.size() == 2);
    CHECK(all[0].id == "b");
    CHECK(all[1].id == "a");
    CHECK_FALSE(all[1].enabled);
    CHECK(all[0].settings == R"({"path":"/hooks/b"})");
    CHECK(all[0].created_by == "root");
}

TEST_CASE("a stored PBX connection's settings can be replaced and the connection removed; others stay") {
    TempDb db;
    {
        SqliteStore inner(db.file());
        WriteBehindStore s(inner, [](const std::string&) {});
        s.create_pbx(StoredPbx{"a", "asterisk-ami", R"({"host":"x"})", true, now_ms(), "root"});
        s.create_pbx(StoredPbx{"b", "webhook", R"({"path":"/hooks/b"})", true, now_ms() + 1ms, "root"});
        CHECK(s.update_pbx("a", R"({"host":"y"})", false));
        CHECK_FALSE(s.update_pbx("zz", "{}", true));
        CHECK(s.remove_pbx("b"));
        CHECK_FALSE(s.remove_pbx("b"));
    }
    SqliteStore again(db.file());
    auto all = again.list_pbx();
    REQUIRE(all.size() == 1);
    CHECK(all[0].id == "a");
    CHECK(all[0].type == "asterisk-ami");
    CHECK(all[0].settings == R"({"host":"y"})");
    CHECK_FALSE(all[0].enabled);
}
