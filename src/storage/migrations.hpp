#pragma once
// Schema migrations of the SQLite store (private to src/storage).
//
// The schema version lives in PRAGMA user_version and the file is marked as
// Ringside's with PRAGMA application_id, so a foreign SQLite file is refused
// instead of being "migrated".
#include <string>

namespace SQLite {
class Database;
}

namespace ringside::storage_detail {

/// 'RgSd': PRAGMA application_id of every Ringside database.
inline constexpr int application_id = 0x52675364;

/// The schema version this build writes and understands.
int latest_schema_version();

/// Brings db (a read-write connection) to latest_schema_version(), one
/// transaction per migration, so an interrupted upgrade resumes where it
/// stopped. Safe against another process migrating the same file: each step
/// re-reads the version under BEGIN IMMEDIATE.
/// Throws StorageError naming `file` when the file is not a Ringside
/// database or was written by a newer Ringside. Returns the version reached.
/// `up_to` stops at an earlier version: only for tests that need a file as
/// an older Ringside left it (an upgrade's pre-migration backup).
int migrate(SQLite::Database& db, const std::string& file, int up_to = 0);

/// PRAGMA user_version of a file without changing it, and whether it holds
/// a schema at all (0 for a new, empty file). For the pre-migration backup.
int stored_schema_version(SQLite::Database& db);

}  // namespace ringside::storage_detail
