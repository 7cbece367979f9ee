#pragma once
// Schema migrations of the PostgreSQL store (private to src/storage).
//
// The same version numbers as SQLite's (src/storage/migrations.cpp), each in
// PostgreSQL's dialect: a version N database holds the same tables, columns
// and rules on either backend. The version lives in ringside_schema, and
// every step runs in one transaction under an advisory lock, so two nodes
// starting at once migrate one after the other.
#include "db.hpp"

namespace ringside::pg {

/// The schema version this build writes and understands (SQLite's too).
int latest_schema_version();

/// Brings the database to latest_schema_version() (or `up_to`, for tests).
/// Throws StorageError naming the server when the database belongs to
/// something else or was written by a newer Ringside. Returns the version.
int migrate(Connection& c, int up_to = 0);

}  // namespace ringside::pg
