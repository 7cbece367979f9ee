#pragma once
// Moving an installation from its SQLite file to PostgreSQL
// (`ringside migrate --from FILE.db --to postgresql://...`).
//
// Every table both schemas hold is copied, in the order their references
// need, each in one PostgreSQL transaction that also marks the table done
// (store_meta "copied.<table>"). An interrupted copy is resumed by running
// the command again: tables marked done are skipped, the one that was in
// flight was rolled back whole and is copied again, so no row is copied
// twice and none is missed. What PostgreSQL keeps by itself is rebuilt,
// not copied: the report rollups (its trigger fills them as calls arrive),
// the name-search words, the identity counters. SQLite's own tables (full
// text, its upkeep bookkeeping) stay behind.
//
// The SQLite file is opened as the store opens it (upgraded to this
// build's schema first, with the upgrade's copy of the file kept) and is
// only read. The PostgreSQL database must be new: one holding rows in a
// table this command has not marked is refused, so two installations never
// mix. Stop the service first: calls taken during the copy would not move.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ringside {

struct TableCopy {
    std::string table;
    std::int64_t rows = 0;      // in the SQLite file
    std::int64_t copied = 0;    // rows written now (0 when it was done before)
    bool earlier = false;       // copied by an earlier run
    std::int64_t in_postgres = 0;  // rows the table holds in PostgreSQL after the copy
};

/// Copies `from` into the PostgreSQL database at `to_url`; `progress` hears
/// each table as it is done. Throws StorageError naming the table and what
/// failed; what was copied before stays marked, for the next run.
std::vector<TableCopy> copy_sqlite_to_postgres(const std::filesystem::path& from, const std::string& to_url,
                                               const std::function<void(const TableCopy&)>& progress = {});

}  // namespace ringside
