#pragma once
// PostgresStore::Impl: what every part of the store shares (the pool and
// the schema version reached at open). Internal to src/storage/postgres.
#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "db.hpp"
#include "ringside/storage/postgres_store.hpp"

namespace ringside {

struct PostgresStore::Impl {
    pg::Pool pool;
    int version = 0;

    /// Active customers per value score, for the pop's quartile segment,
    /// which may be a few seconds old (CustomerContext::score_histogram):
    /// read again at most every 10 s, so a pop does not count every customer.
    std::mutex hist_mutex;
    std::array<std::int64_t, 11> hist{};
    std::chrono::steady_clock::time_point hist_at{};
    bool hist_read = false;

    /// The histogram, counted again when older than 10 s.
    std::array<std::int64_t, 11> histogram(pg::Connection& c);

    /// Connects and migrates (migrations.hpp).
    Impl(const std::string& url, std::size_t connections);
};

}  // namespace ringside
