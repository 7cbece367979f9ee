#include "stores.hpp"

#include "ringside/storage/postgres_store.hpp"

namespace ringside::app {

namespace {

/// The URL without its password, as the store names its server in errors.
std::string without_password(const std::string& url) {
    const auto scheme = url.find("://");
    const auto at = url.find('@');
    if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
    const auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon) + url.substr(at);
}

}  // namespace

OpenedStore open_store(const Config& cfg) {
    OpenedStore o;
    if (!cfg.database_url.empty()) {
        auto pg = std::make_unique<PostgresStore>(cfg.database_url);
        o.schema_version = pg->schema_version();
        o.description = "PostgreSQL at " + without_password(cfg.database_url);
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
