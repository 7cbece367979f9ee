// Whole-file operations of the SQLite store: the online backup under a busy
// writer, the checks a restore makes, the restore, and the copy an upgrade
// keeps before it migrates. Real files, no sockets.
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "migrations.hpp"  // src/storage: to build a file as an older Ringside left it
#include "ringside/core/password.hpp"
#include "ringside/storage/sqlite_backup.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "store_fixture.hpp"

using namespace ringside;
namespace fs = std::filesystem;
using store_test::TempDir;

namespace {

User user(const std::string& name) {
    User u;
    u.username = AgentId{name};
    u.name = name;
    u.role = Role::agent;
    return u;
}

std::vector<fs::path> files_starting(const fs::path& dir, const std::string& prefix) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
    return out;
}

/// A Ringside database as a build that knew only schema versions 1..v wrote it.
void make_old_database(const fs::path& file, int v) {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA foreign_keys = ON");
    REQUIRE(storage_detail::migrate(db, file.string(), v) == v);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("INSERT INTO users (username, name, role, password_hash) VALUES ('old', 'Old', 'agent', 'x')");
}

std::string what(const std::function<void()>& f) {
    try {
        f();
    } catch (const StorageError& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("a backup taken while another connection keeps writing is one consistent, whole snapshot") {
    TempDir dir;
    SqliteStore store(dir.file());
    for (int i = 0; i < 300; ++i) store.create_user(user("seed" + std::to_string(i)), std::string(2000, 'h'));

    std::atomic<bool> stop{false};
    std::atomic<int> written{0};
    std::thread writer([&] {
        while (!stop) store.create_user(user("live" + std::to_string(written++)), std::string(2000, 'h'));
    });
    BackupOptions o;
    o.pages_per_step = 8;  // many steps, many commits in between
    o.pause = std::chrono::milliseconds(2);
    int steps = 0;
    o.progress = [&](int, int) { ++steps; };
    const int before = written.load();
    backup_database(dir.file(), dir.file("copy.db"), o);
    const int after = written.load();
    stop = true;
    writer.join();

    CHECK(steps > 10);
    CHECK(after > before);  // the writer was not held up by the copy
    auto info = check_database(dir.file("copy.db"));
    CHECK(info.schema_version == store.schema_version());
    CHECK(info.users >= 300 + before - 1);  // one create may have been counted, not committed
    CHECK(info.users <= 300 + after);
    CHECK_FALSE(fs::exists(dir.file("copy.db-wal")));
    CHECK(files_starting(dir.path, ".copy.db").empty());  // no temporary left
}

TEST_CASE("a backup refuses an existing file unless told, and never the database itself") {
    TempDir dir;
    { SqliteStore s(dir.file()); }
    { std::ofstream(dir.file("out.db")) << "precious"; }
    CHECK(what([&] { backup_database(dir.file(), dir.file("out.db")); }).find("out.db exists (--force replaces it)") !=
          std::string::npos);
    BackupOptions force;
    force.overwrite = true;
    backup_database(dir.file(), dir.file("out.db"), force);
    CHECK(check_database(dir.file("out.db")).users == 0);
    CHECK(what([&] { backup_database(dir.file(), dir.file(), force); }).find("is the database itself") !=
          std::string::npos);
    CHECK(what([&] { backup_database(dir.file("none.db"), dir.file("x.db")); }).find("none.db: does not exist") !=
          std::string::npos);
    CHECK(what([&] { backup_database(dir.file(), dir.path / "no" / "such" / "x.db"); }).find("no directory") !=
          std::string::npos);
}

TEST_CASE("check_database names what is wrong with a file that is not a usable Ringside database") {
    TempDir dir;
    { std::ofstream(dir.file("text.db")) << std::string(4096, 'x'); }
    CHECK(what([&] { check_database(dir.file("text.db")); }).find("not a SQLite database") != std::string::npos);
    {
        SQLite::Database other(dir.file("other.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        other.exec("CREATE TABLE t (x)");
    }
    CHECK(what([&] { check_database(dir.file("other.db")); }).find("not a Ringside database") != std::string::npos);
    { SqliteStore s(dir.file("new.db")); }
    {
        SQLite::Database db(dir.file("new.db").string(), SQLite::OPEN_READWRITE);
        db.exec("PRAGMA user_version = " + std::to_string(latest_database_schema_version() + 1));
    }
    CHECK(what([&] { check_database(dir.file("new.db")); }).find("written by a newer Ringside") != std::string::npos);
}

TEST_CASE("a restore keeps the replaced database with its WAL and puts a clean copy in place") {
    TempDir dir;
    { SqliteStore s(dir.file("backup.db")); s.create_user(user("from-backup"), "x"); }
    SqliteStore live(dir.file());
    live.create_user(user("live-only"), "x");
    // A crash leaves the WAL beside the file: copy both as they are now.
    fs::copy_file(dir.file(), dir.file("crashed.db"));
    fs::copy_file(dir.file("ringside.db-wal"), dir.file("crashed.db-wal"));
    const auto target = dir.file("crashed.db");

    auto r = restore_database(dir.file("backup.db"), target, "20261202T050000Z");
    REQUIRE(r.kept);
    CHECK(r.kept->filename() == "crashed.db.before-restore-20261202T050000Z");
    CHECK(fs::exists(r.kept->string() + "-wal"));
    CHECK_FALSE(fs::exists(target.string() + "-wal"));
    CHECK(r.restored.users == 1);
    {
        SqliteStore restored(target);
        CHECK(restored.find_user(AgentId{"from-backup"}));
        CHECK_FALSE(restored.find_user(AgentId{"live-only"}));
    }
    {
        SqliteStore kept(*r.kept);  // opens with its WAL: nothing committed was lost
        CHECK(kept.find_user(AgentId{"live-only"}));
    }
    // The same stamp again does not overwrite the first kept copy.
    auto again = restore_database(dir.file("backup.db"), target, "20261202T050000Z");
    CHECK(again.kept->filename() == "crashed.db.before-restore-20261202T050000Z-2");
    // A bad file moves nothing.
    { std::ofstream(dir.file("junk.db")) << std::string(4096, 'j'); }
    CHECK(what([&] { restore_database(dir.file("junk.db"), target, "X"); }).find("not a SQLite database") !=
          std::string::npos);
    CHECK(files_starting(dir.path, "crashed.db.before-restore-X").empty());
}

TEST_CASE("opening a database of an older schema copies it first; a new or current one is not copied") {
    TempDir dir;
    const int latest = latest_database_schema_version();
    REQUIRE(latest >= 2);
    {
        SqliteStore fresh(dir.file("fresh.db"));
        CHECK_FALSE(fresh.pre_migration_backup());
    }
    {
        SqliteStore current(dir.file("fresh.db"));
        CHECK_FALSE(current.pre_migration_backup());
    }
    CHECK(files_starting(dir.path, "fresh.db.pre-migration").empty());

    for (int old : {1, latest - 1}) {
        CAPTURE(old);
        const auto file = dir.file(("v" + std::to_string(old) + ".db").c_str());
        make_old_database(file, old);
        SqliteStore s(file);
        CHECK(s.schema_version() == latest);
        auto b = s.pre_migration_backup();
        REQUIRE(b);
        CHECK(b->from_version == old);
        const std::string name = b->file.filename().string();
        CHECK(name.rfind(file.filename().string() + ".pre-migration-v" + std::to_string(old) + "-", 0) == 0);
        CHECK(name.substr(name.size() - 3) == ".db");
        CHECK(b->file.parent_path() == file.parent_path());
        // The copy is the file as it was: the old version, its rows, and whole.
        auto info = check_database(b->file);
        CHECK(info.schema_version == old);
        CHECK(info.users == 1);
        CHECK(s.find_user(AgentId{"old"}));
    }
}
