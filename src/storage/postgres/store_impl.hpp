#pragma once
// PostgresStore::Impl: what every part of the store shares (the pool and
// the schema version reached at open). Internal to src/storage/postgres.
#include <string>

#include "db.hpp"
#include "ringside/storage/postgres_store.hpp"

namespace ringside {

struct PostgresStore::Impl {
    pg::Pool pool;
    int version = 0;

    /// Connects and migrates (migrations.hpp).
    Impl(const std::string& url, std::size_t connections);
};

}  // namespace ringside
