#pragma once
// Whole-file operations on a Ringside SQLite database: an online backup that
// a running service does not notice, the checks a restore makes before it
// puts a file in place, and the restore itself.
//
// Everything here throws StorageError with a sentence an operator can act
// on, naming the file ("database /var/lib/ringside/ringside.db: ...").
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace ringside {

struct BackupOptions {
    /// Pages copied per sqlite3_backup_step (4 KiB pages: 1 MiB a step).
    int pages_per_step = 256;
    /// Pause between steps, so the copy's disk reads leave room for the
    /// service's own writes and checkpoints.
    std::chrono::milliseconds pause{10};
    /// Replace `to` if it exists (otherwise an existing `to` is refused).
    bool overwrite = false;
    /// Called after every step with the pages still to copy and the total.
    std::function<void(int remaining, int total)> progress;
};

/// Copies the Ringside database `from` into a new file `to` with SQLite's
/// online backup API, while other connections (a running `ringside serve`)
/// keep reading and writing it.
///
/// The copy is one consistent snapshot: a read transaction is held on the
/// source for the whole copy, which under WAL never blocks a writer (their
/// commits go to the WAL; only checkpointing past the snapshot waits until
/// the copy ends), and keeps the backup from restarting at every commit the
/// service makes meanwhile. The result is a single self-contained file
/// (rollback journal mode, no -wal beside it), written under a temporary
/// name and renamed into place only when complete.
///
/// Throws StorageError when `from` is missing or not a Ringside database,
/// when `to` exists and !overwrite, when `to` is `from`, or on I/O errors.
void backup_database(const std::filesystem::path& from, const std::filesystem::path& to,
                     const BackupOptions& options = {});

/// What check_database found in a file that passed.
struct DatabaseInfo {
    int schema_version = 0;
    std::uintmax_t bytes = 0;
    std::int64_t users = 0;
    std::int64_t customers = 0;
    std::int64_t calls = 0;
};

/// Checks that `file` is a Ringside database this build can open and that it
/// is whole: SQLite opens it, its application id is Ringside's, its schema
/// version is 1 to latest_schema_version(), and PRAGMA integrity_check
/// answers ok. Opens the file read-only and changes nothing. Throws
/// StorageError naming the file and the first thing wrong.
DatabaseInfo check_database(const std::filesystem::path& file);

/// The schema version this build writes (the newest a restore accepts).
int latest_database_schema_version();

struct RestoreResult {
    DatabaseInfo restored;
    /// Where the database that was replaced went (with its -wal/-shm
    /// beside it under the same name, if it had them); nullopt when there
    /// was none.
    std::optional<std::filesystem::path> kept;
};

/// Puts the Ringside database `in` in place of `db`, which no process may
/// have open (the caller makes sure: `ringside restore` holds the service
/// lock). Checks `in` first (check_database); then renames `db` and its
/// -wal and -shm files, if any, to `<db>.before-restore-<stamp>` (+ -wal,
/// -shm, so SQLite opens that set as it was), and copies `in` with the
/// backup API to a temporary file beside `db` that is renamed to `db`. `in`
/// itself is never changed. Throws StorageError before anything moved when
/// `in` fails its check; `stamp` is e.g. "20261202T050000Z".
RestoreResult restore_database(const std::filesystem::path& in, const std::filesystem::path& db,
                               const std::string& stamp);

/// "20261202T050312Z": the UTC time of `t` for file names (sortable, no colons).
std::string file_stamp(std::chrono::system_clock::time_point t = std::chrono::system_clock::now());

}  // namespace ringside
