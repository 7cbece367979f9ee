#pragma once
// Which store a config names: the SQLite file of [database] path (the
// embedded default), or the PostgreSQL database of [database] url, shared by
// the nodes of a site. The server and the one-shot commands open it here
// and see only Storage.
#include <memory>

#include "ringside/app/config.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "ringside/storage/store.hpp"

namespace ringside::app {

struct OpenedStore {
    std::unique_ptr<Storage> store;
    /// The same object when it is the SQLite file (backups, the upgrade's
    /// copy of the file); null on PostgreSQL.
    SqliteStore* sqlite = nullptr;
    int schema_version = 0;
    /// "the SQLite file var/ringside.db" or "PostgreSQL at user@host/db", for logs.
    std::string description;
};

/// Opens (and migrates) the config's database. Throws StorageError in an
/// operator's words when it cannot.
OpenedStore open_store(const Config& cfg);

}  // namespace ringside::app
