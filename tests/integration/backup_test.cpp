// Backups and restores of a live site: `ringside backup` while the real
// `ringside serve` takes calls from a simulated Asterisk, then `ringside
// restore` into the stopped service; and the command line's refusals.
#include <doctest/doctest.h>

#include <map>

#include <SQLiteCpp/SQLiteCpp.h>

#include "migrations.hpp"  // src/storage: a file as an older Ringside left it
#include "ringside/core/time.hpp"
#include "staffed.hpp"

using namespace ringside;
using namespace ringside::test;
using json = nlohmann::json;

namespace {

std::string bin() { return ringside_binary().string(); }

/// Milliseconds since the epoch of an ISO time from the API, as the database stores it.
std::int64_t ms(const json& iso) { return parse_iso(iso.get<std::string>())->time_since_epoch().count(); }

/// The finished calls of a calls list (an end, no longer ringing): id -> ended_at in ms.
std::map<std::string, std::int64_t> finished(const json& calls) {
    std::map<std::string, std::int64_t> out;
    for (const auto& c : calls)
        if (!c["ended_at"].is_null() && c["status"] != "ringing") out[c["id"]] = ms(c["ended_at"]);
    return out;
}

/// A customer CSV of n rows, so the database spans more than one backup step.
std::string customers_csv(int n) {
    std::string csv = "name,phones,notes\n";
    for (int i = 0; i < n; ++i)
        csv += "Customer " + std::to_string(i) + ",+98912" + std::to_string(3000000 + i) + "," +
               std::string(200, 'n') + "\n";
    return csv;
}

}  // namespace

TEST_CASE("a backup taken while calls are logged holds every call finished before it, and restores") {
    Staffed s;
    const auto db = s.site.dir.path / "ringside.db";
    write_file(s.site.dir.path / "c.csv", customers_csv(20000));
    REQUIRE(run({bin(), "import", "customers", (s.site.dir.path / "c.csv").string(), "--config", s.site.config.string()},
                s.site.dir.path)
                .status == 0);

    // Calls before the backup, and more ringing and ending all through it.
    std::vector<std::string> before_ids;
    for (int i = 0; i < 6; ++i)
        before_ids.push_back(s.site.call("+98912100000" + std::to_string(i), {i % 2 ? "1002" : "1001"},
                                         i % 3 ? sim::Outcome::answered : sim::Outcome::caller_cancels, 200ms, 300ms));
    for (const auto& id : before_ids) REQUIRE(s.site.wait_ended(s.sup, id, 15s));

    int placed = 0;
    auto place = [&] {
        s.site.call("+98912200" + std::to_string(1000 + placed), {placed % 2 ? "1001" : "1002"}, sim::Outcome::answered,
                    100ms, 200ms);
        ++placed;
    };
    for (int i = 0; i < 3; ++i) place();  // some of these are still ringing or talking below
    const auto done_before = finished(s.site.calls(s.sup));
    REQUIRE(done_before.size() >= before_ids.size());

    const auto out = s.site.dir.path / "backup.db";
    Process backup({bin(), "backup", "--config", s.site.config.string(), out.string()}, s.site.dir.path);
    std::optional<int> status;
    while (!(status = backup.wait(50ms))) place();
    INFO("backup stderr: " << backup.err());
    REQUIRE(*status == 0);
    CHECK(backup.out().find("integrity ok") != std::string::npos);
    for (int i = 0; i < 3; ++i) place();
    MESSAGE("calls placed while the backup ran or just after: " << placed);

    // The service kept taking calls: one placed now is logged to its end.
    auto after_id = s.site.call("+989123999999", {"1001"}, sim::Outcome::answered, 100ms, 200ms);
    REQUIRE(s.site.wait_ended(s.sup, after_id, 15s));

    {
        SQLite::Database b(out.string(), SQLite::OPEN_READONLY);
        CHECK(b.execAndGet("PRAGMA integrity_check").getString() == "ok");
        CHECK(b.execAndGet("PRAGMA journal_mode").getString() == "delete");
        SQLite::Statement q(b, "SELECT ended_at FROM calls WHERE id = ?");
        for (const auto& [id, ended] : done_before) {
            q.reset();
            q.bind(1, id);
            INFO("call " << id);
            REQUIRE(q.executeStep());
            REQUIRE_FALSE(q.getColumn(0).isNull());
            CHECK(q.getColumn(0).getInt64() == ended);
        }
        CHECK(b.execAndGet("SELECT count(*) FROM customers").getInt() == 20001);
        SQLite::Statement a(b, "SELECT count(*) FROM calls WHERE id = ?");
        a.bind(1, after_id);
        REQUIRE(a.executeStep());
        CHECK(a.getColumn(0).getInt() == 0);  // placed after the backup ended
    }

    // Refused while the service holds the database; nothing moved.
    auto refused = run({bin(), "restore", "--config", s.site.config.string(), out.string()}, s.site.dir.path);
    CHECK(refused.status == 1);
    CHECK(refused.err.find("in use by a running ringside serve") != std::string::npos);
    CHECK(refused.err.find("stop it first") != std::string::npos);

    CHECK(s.site.stop_ringside() == 0);
    auto restored = run({bin(), "restore", "--config", s.site.config.string(), out.string()}, s.site.dir.path);
    INFO("restore: " << restored.out << restored.err);
    REQUIRE(restored.status == 0);
    bool kept = false;
    for (const auto& e : std::filesystem::directory_iterator(s.site.dir.path))
        kept = kept || e.path().filename().string().rfind("ringside.db.before-restore-", 0) == 0;
    CHECK(kept);
    CHECK(std::filesystem::exists(db));

    s.site.start_ringside();
    auto sup = s.site.token("sam");
    auto calls = s.site.calls(sup);
    auto now = finished(calls);
    for (const auto& [id, ended] : done_before) {
        INFO("call " << id);
        REQUIRE(now.count(id) == 1);
        CHECK(now[id] == ended);
    }
    CHECK(count_id(calls, after_id) == 0);
}

TEST_CASE("backup and restore refuse with a reason naming what is wrong") {
    TempDir d;
    const auto cfg = (d.path / "r.toml").string();
    const auto db = d.path / "r.db";
    write_file(cfg, "[database]\npath = \"" + db.string() + "\"\n");

    auto no_config = run({bin(), "backup", "--config", (d.path / "missing.toml").string(), (d.path / "o.db").string()},
                         d.path);
    CHECK(no_config.status == 1);
    CHECK(no_config.err.find("cannot read") != std::string::npos);

    auto no_db = run({bin(), "backup", "--config", cfg, (d.path / "o.db").string()}, d.path);
    CHECK(no_db.status == 1);
    CHECK(no_db.err.find(db.string() + ": does not exist") != std::string::npos);

    REQUIRE(add_user(cfg, d.path, "alice", "agent", "1001") == 0);
    write_file(d.path / "taken.db", "keep me");
    auto taken = run({bin(), "backup", "--config", cfg, (d.path / "taken.db").string()}, d.path);
    CHECK(taken.status == 1);
    CHECK(taken.err.find("taken.db exists (--force replaces it)") != std::string::npos);
    CHECK(read_file(d.path / "taken.db") == "keep me");
    auto forced = run({bin(), "backup", "--config", cfg, "--force", (d.path / "taken.db").string()}, d.path);
    CHECK(forced.status == 0);
    CHECK(forced.out.find("1 users") != std::string::npos);

    auto onto_itself = run({bin(), "backup", "--config", cfg, "--force", db.string()}, d.path);
    CHECK(onto_itself.status == 1);
    CHECK(onto_itself.err.find("is the database itself") != std::string::npos);

    auto no_usage = run({bin(), "backup", "--config", cfg}, d.path);
    CHECK(no_usage.status == 2);

    write_file(d.path / "notes.txt", std::string(8192, 'x'));
    auto not_db = run({bin(), "restore", "--config", cfg, (d.path / "notes.txt").string()}, d.path);
    CHECK(not_db.status == 1);
    CHECK(not_db.err.find("notes.txt: not a SQLite database") != std::string::npos);
    {
        SQLite::Database other((d.path / "other.db").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        other.exec("CREATE TABLE t (x)");
    }
    auto foreign = run({bin(), "restore", "--config", cfg, (d.path / "other.db").string()}, d.path);
    CHECK(foreign.status == 1);
    CHECK(foreign.err.find("not a Ringside database") != std::string::npos);
    auto missing = run({bin(), "restore", "--config", cfg, (d.path / "nothing.db").string()}, d.path);
    CHECK(missing.status == 1);
    CHECK(missing.err.find("nothing.db: does not exist") != std::string::npos);

    // A dry run checks and says what it would do, and changes nothing.
    auto dry = run({bin(), "restore", "--config", cfg, "--dry-run", (d.path / "taken.db").string()}, d.path);
    CHECK(dry.status == 0);
    CHECK(dry.out.find("a Ringside database (schema version") != std::string::npos);
    CHECK(dry.out.find("dry run, nothing changed") != std::string::npos);
    for (const auto& e : std::filesystem::directory_iterator(d.path))
        CHECK(e.path().filename().string().find("before-restore") == std::string::npos);
}

TEST_CASE("a start that upgrades an existing database keeps the old file first and says where") {
    TempDir d;
    const auto db = d.path / "r.db";
    const int latest = storage_detail::latest_schema_version();
    const int old = latest - 1;
    {
        SQLite::Database raw(db.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        REQUIRE(storage_detail::migrate(raw, db.string(), old) == old);
        raw.exec("INSERT INTO users (username, name, role, password_hash) VALUES ('old', 'Old', 'agent', 'x')");
    }
    const auto port = free_port();
    write_file(d.path / "r.toml", "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n[database]\npath = \"" +
                                      db.string() + "\"\n");
    auto p = serve(d.path / "r.toml", d.path, port);
    const std::string said = "database upgraded from schema version " + std::to_string(old) + " to " +
                             std::to_string(latest) + "; the file as it was is kept at " + db.string() +
                             ".pre-migration-v" + std::to_string(old) + "-";
    const auto err = p->err();
    INFO(err);
    const auto at = err.find(said);
    REQUIRE(at != std::string::npos);
    const std::string marker = "the file as it was is kept at ";
    const auto k = err.find(marker, at) + marker.size();
    const std::filesystem::path kept = err.substr(k, err.find('\n', k) - k);
    CHECK(kept.filename().string().substr(kept.filename().string().size() - 3) == ".db");
    REQUIRE(std::filesystem::exists(kept));
    {
        SQLite::Database b(kept.string(), SQLite::OPEN_READONLY);
        CHECK(b.execAndGet("PRAGMA user_version").getInt() == old);
        CHECK(b.execAndGet("SELECT count(*) FROM users").getInt() == 1);
    }
    stop_serve(p.get());

    // Started again on the upgraded file: no second copy.
    auto again = serve(d.path / "r.toml", d.path, port);
    CHECK(again->err().find("database upgraded") == std::string::npos);
    stop_serve(again.get());
    int copies = 0;
    for (const auto& e : std::filesystem::directory_iterator(d.path))
        copies += e.path().filename().string().find(".pre-migration-") != std::string::npos;
    CHECK(copies == 1);
}
