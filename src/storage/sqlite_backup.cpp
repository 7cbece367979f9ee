#include "ringside/storage/sqlite_backup.hpp"

#include <cerrno>
#include <cstdio>  // renameat2
#include <cstring>
#include <ctime>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include "migrations.hpp"
#include "ringside/storage/store.hpp"

namespace ringside {
namespace {

namespace fs = std::filesystem;

constexpr int busy_timeout_ms = 5000;

[[noreturn]] void fail(const fs::path& file, const std::string& why) {
    throw StorageError("database " + file.string() + ": " + why);
}

/// Opens `file` read-only; a file that does not exist is an error here
/// rather than an empty database SQLite would happily create.
SQLite::Database open_read_only(const fs::path& file) {
    std::error_code ec;
    if (!fs::exists(file, ec)) fail(file, "does not exist");
    if (!fs::is_regular_file(file, ec)) fail(file, "is not a file");
    try {
        return SQLite::Database(file.string(), SQLite::OPEN_READONLY, busy_timeout_ms);
    } catch (const SQLite::Exception& e) {
        fail(file, std::string("cannot open: ") + e.what());
    }
}

/// The identity and version checks migrate() makes, without writing.
int checked_version(SQLite::Database& db, const fs::path& file) {
    int app = 0, version = 0;
    try {
        app = db.execAndGet("PRAGMA application_id").getInt();
        version = db.execAndGet("PRAGMA user_version").getInt();
    } catch (const SQLite::Exception& e) {
        if (e.getErrorCode() == SQLITE_NOTADB) fail(file, "not a SQLite database");
        fail(file, std::string("cannot read: ") + e.what());
    }
    const int latest = storage_detail::latest_schema_version();
    if (app != storage_detail::application_id) fail(file, "not a Ringside database (another application id, or none)");
    if (version < 1) fail(file, "a Ringside database with no schema yet (version 0)");
    if (version > latest)
        fail(file, "written by a newer Ringside (schema version " + std::to_string(version) + ", this build knows up to " +
                       std::to_string(latest) + ")");
    return version;
}

void fsync_path(const fs::path& p, bool directory) {
    int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

/// Renames from to to unless to exists, atomically where the file system
/// allows: a file that appeared during the copy is never replaced.
std::error_code rename_no_replace(const fs::path& from, const fs::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
    const int err = errno;
    if (err != EINVAL && err != ENOSYS && err != ENOTSUP) return {err, std::generic_category()};
    // No RENAME_NOREPLACE here (some network and FAT file systems): check, then rename.
    std::error_code ec;
    if (fs::exists(to, ec)) return std::make_error_code(std::errc::file_exists);
    fs::rename(from, to, ec);
    return ec;
}

/// Copies the open source connection's "main" into a new file `tmp`, in
/// steps, inside one read transaction on the source (see the header).
void copy_with_backup_api(SQLite::Database& src, const fs::path& src_name, const fs::path& tmp,
                          const BackupOptions& o) {
    SQLite::Database dst(tmp.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    // Pin one snapshot for the whole copy: without it every commit the
    // service makes between two steps restarts the backup from page 1.
    src.exec("BEGIN");
    src.execAndGet("SELECT count(*) FROM sqlite_master");
    sqlite3_backup* b = sqlite3_backup_init(dst.getHandle(), "main", src.getHandle(), "main");
    if (!b) fail(tmp, std::string("cannot start the backup: ") + sqlite3_errmsg(dst.getHandle()));
    int rc = SQLITE_OK;
    int busy_rounds = 0;
    for (;;) {
        rc = sqlite3_backup_step(b, o.pages_per_step > 0 ? o.pages_per_step : -1);
        if (o.progress) o.progress(sqlite3_backup_remaining(b), sqlite3_backup_pagecount(b));
        if (rc == SQLITE_DONE) break;
        if (rc == SQLITE_OK) {
            busy_rounds = 0;
        } else if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && ++busy_rounds < 500) {
            // Only the destination can be busy (nobody else knows the temporary file); retry a while.
        } else {
            break;
        }
        if (o.pause.count() > 0) std::this_thread::sleep_for(o.pause);
    }
    sqlite3_backup_finish(b);
    src.exec("COMMIT");
    if (rc != SQLITE_DONE)
        fail(src_name, std::string("backup to ") + tmp.string() + " failed: " + sqlite3_errstr(rc));
    // The copy carries the source's WAL flag; a backup is one file that
    // opens anywhere, read-only media included.
    dst.exec("PRAGMA journal_mode = DELETE");
}

}  // namespace

std::string file_stamp(std::chrono::system_clock::time_point t) {
    std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

int latest_database_schema_version() { return storage_detail::latest_schema_version(); }

void backup_database(const fs::path& from, const fs::path& to, const BackupOptions& options) {
    std::error_code ec;
    if (fs::exists(to, ec)) {
        if (fs::exists(from, ec) && fs::equivalent(from, to, ec))
            fail(from, "the backup file " + to.string() + " is the database itself");
        if (!options.overwrite) throw StorageError("backup file " + to.string() + " exists (--force replaces it)");
        if (!fs::is_regular_file(to, ec)) throw StorageError("backup file " + to.string() + " exists and is not a file");
    }
    auto src = open_read_only(from);
    checked_version(src, from);

    const fs::path dir = to.has_parent_path() ? to.parent_path() : fs::path(".");
    if (!fs::is_directory(dir, ec)) throw StorageError("backup file " + to.string() + ": no directory " + dir.string());
    const fs::path tmp = dir / ("." + to.filename().string() + ".partial-" + std::to_string(::getpid()));
    fs::remove(tmp, ec);
    try {
        copy_with_backup_api(src, from, tmp, options);
    } catch (const SQLite::Exception& e) {
        fs::remove(tmp, ec);
        fail(from, std::string("backup to ") + to.string() + " failed: " + e.what());
    } catch (...) {
        fs::remove(tmp, ec);
        throw;
    }
    fsync_path(tmp, false);
    if (options.overwrite) fs::rename(tmp, to, ec);
    else ec = rename_no_replace(tmp, to);
    if (ec == std::errc::file_exists) {
        std::error_code ignored;
        fs::remove(tmp, ignored);
        throw StorageError("backup file " + to.string() + " exists (--force replaces it)");
    }
    if (ec) {
        std::error_code ignored;
        fs::remove(tmp, ignored);
        throw StorageError("backup file " + to.string() + ": cannot put in place: " + ec.message());
    }
    fsync_path(dir, true);
}

DatabaseInfo check_database(const fs::path& file) {
    auto db = open_read_only(file);
    DatabaseInfo info;
    info.schema_version = checked_version(db, file);
    std::error_code ec;
    info.bytes = fs::file_size(file, ec);
    try {
        SQLite::Statement q(db, "PRAGMA integrity_check(5)");
        std::string problems;
        while (q.executeStep()) {
            std::string row = q.getColumn(0).getString();
            if (row == "ok") break;
            problems += (problems.empty() ? "" : "; ") + row;
        }
        if (!problems.empty()) fail(file, "fails SQLite's integrity check: " + problems);
        info.users = db.execAndGet("SELECT count(*) FROM users").getInt64();
        info.customers = db.execAndGet("SELECT count(*) FROM customers").getInt64();
        info.calls = db.execAndGet("SELECT count(*) FROM calls").getInt64();
    } catch (const SQLite::Exception& e) {
        fail(file, std::string("cannot read: ") + e.what());
    }
    return info;
}

RestoreResult restore_database(const fs::path& in, const fs::path& db, const std::string& stamp) {
    std::error_code ec;
    if (fs::exists(db, ec) && fs::equivalent(in, db, ec)) fail(db, "cannot restore a database onto itself");
    RestoreResult r;
    r.restored = check_database(in);

    const fs::path dir = db.has_parent_path() ? db.parent_path() : fs::path(".");
    fs::create_directories(dir, ec);
    if (ec) fail(db, "cannot create its directory: " + ec.message());
    const fs::path tmp = dir / ("." + db.filename().string() + ".restoring-" + std::to_string(::getpid()));
    fs::remove(tmp, ec);
    try {
        auto src = open_read_only(in);
        BackupOptions fast;
        fast.pages_per_step = -1;  // nobody else has either file open
        fast.pause = std::chrono::milliseconds(0);
        copy_with_backup_api(src, in, tmp, fast);
    } catch (const SQLite::Exception& e) {
        fs::remove(tmp, ec);
        fail(in, std::string("cannot copy: ") + e.what());
    } catch (...) {
        fs::remove(tmp, ec);
        throw;
    }
    fsync_path(tmp, false);

    if (fs::exists(db, ec)) {
        fs::path kept = db;
        kept += ".before-restore-" + stamp;
        for (int n = 2; fs::exists(kept, ec); ++n) {
            kept = db;
            kept += ".before-restore-" + stamp + "-" + std::to_string(n);
        }
        // The WAL holds committed transactions the main file may not have
        // yet: it moves with the file, under the name SQLite looks for.
        for (const char* side : {"-wal", "-shm"}) {
            fs::path s = db;
            s += side;
            if (fs::exists(s, ec)) {
                fs::path k = kept;
                k += side;
                fs::rename(s, k, ec);
                if (ec) fail(db, "cannot move " + s.string() + " aside: " + ec.message());
            }
        }
        fs::rename(db, kept, ec);
        if (ec) fail(db, "cannot move it aside to " + kept.string() + ": " + ec.message());
        r.kept = kept;
    }
    fs::rename(tmp, db, ec);
    if (ec) fail(db, "cannot put " + tmp.string() + " in place: " + ec.message());
    fsync_path(dir, true);
    return r;
}

}  // namespace ringside
