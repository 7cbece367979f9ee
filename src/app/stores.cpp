#include "stores.hpp"

#include "ringside/storage/postgres_store.hpp"

namespace ringside::app {

OpenedStore open_store(const Config& cfg) {
    OpenedStore o;
    if (!cfg.database_url.empty()) {
        auto pg = std::make_unique<PostgresStore>(cfg.database_url);
        o.schema_version = pg->schema_version();
        o.description = "PostgreSQL at " + pg->server();
        o.store = std::move(pg);
        return o;
    }
    auto sq = std::make_unique<SqliteStore>(cfg.database);
    o.sqlite = sq.get();
    o.schema_version = sq->schema_version();
    o.description = "the SQLite file " + cfg.database.string();
    o.store = std::move(sq);
    return o;
}

}  // namespace ringside::app
