// SqliteStore's maintenance, off the request paths: WAL checkpoints on a
// thread of their own, the upkeep thread's resumable batches (the trigram
// fill after its migration, the daily recount of computed scores), and the
// backfill of search words at open.
#include "ringside/core/customers.hpp"
#include "ringside/core/time.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

void SqliteStore::Impl::run_checkpoints() {
    std::unique_ptr<SQLite::Database> db;
    try {
        db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX, busy_timeout_ms);
    } catch (const SQLite::Exception&) {
        // No connection of its own: let SQLite checkpoint in the writer's commits again.
        std::lock_guard wl(write_mutex);
        try {
            writer->db.exec("PRAGMA wal_autocheckpoint = 1000");
        } catch (const SQLite::Exception&) {
        }
        return;
    }
    std::unique_lock lk(checkpoint_mutex);
    while (!stopping) {
        checkpoint_cv.wait_for(lk, std::chrono::milliseconds(500));
        lk.unlock();
        try {
            db->exec("PRAGMA wal_checkpoint(PASSIVE)");
        } catch (const SQLite::Exception&) {
            // Busy or I/O trouble: the next round tries again; the WAL keeps the data.
        }
        if (hist_dirty.exchange(false) ||
            std::chrono::steady_clock::now() - hist_at > std::chrono::seconds(10)) {
            try {
                ReadLease lease(*this);
                refresh_histogram(*lease);
            } catch (const SQLite::Exception&) {
                hist_dirty = true;  // try again next round
            }
        }
        lk.lock();
    }
    lk.unlock();
    try {
        db->exec("PRAGMA wal_checkpoint(TRUNCATE)");  // leave a compact file behind
    } catch (const SQLite::Exception&) {
    }
}

std::optional<std::int64_t> SqliteStore::Impl::meta(Connection& c, const char* key) {
    Query q(c, "SELECT value FROM store_meta WHERE key = ?");
    q.bind(std::string(key));
    if (!q.step()) return std::nullopt;
    return q.i64(0);
}

void SqliteStore::Impl::set_meta(Connection& c, const char* key, std::optional<std::int64_t> v) {
    if (v) Query(c, "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
               .bind(std::string(key), *v).exec();
    else Query(c, "DELETE FROM store_meta WHERE key = ?").bind(std::string(key)).exec();
}

bool SqliteStore::Impl::stop_requested() {
    std::lock_guard lk(checkpoint_mutex);
    return stopping;
}

void SqliteStore::Impl::wake_upkeep() {
    {
        std::lock_guard lk(checkpoint_mutex);
        upkeep_wanted = true;
    }
    checkpoint_cv.notify_all();
}

std::int64_t SqliteStore::Impl::last_customer_id(Connection& c) {
    Query q(c, "SELECT coalesce(max(id), 0) FROM customers");
    return q.step() ? q.i64(0) : 0;
}

void SqliteStore::Impl::backfill_search_terms() {
    guarded("backfill_search_terms", [&] {
        std::lock_guard lk(write_mutex);
        auto& c = *writer;
        for (;;) {
            std::vector<Customer> batch;
            {
                Query q(c, "SELECT id, name, company FROM customers WHERE terms_version IS NULL LIMIT 5000");
                while (q.step()) {
                    Customer cu;
                    cu.id = q.i64(0);
                    cu.name = q.str(1);
                    cu.company = q.str(2);
                    batch.push_back(std::move(cu));
                }
            }
            if (batch.empty()) return;
            Transaction tx(c, "BEGIN IMMEDIATE");
            for (const auto& cu : batch) {
                const auto terms = search_terms(cu);
                for (const auto& t : terms)
                    Query(c, "INSERT OR IGNORE INTO customer_terms (term, customer_id) VALUES (?, ?)").bind(t, cu.id).exec();
                Query(c, "DELETE FROM customer_names WHERE rowid = ?").bind(cu.id).exec();
                write_customer_words(c, cu.id, terms);
                Query(c, "UPDATE customers SET terms_version = 1 WHERE id = ?").bind(cu.id).exec();
            }
            tx.commit();
        }
    });
}

bool SqliteStore::Impl::fill_names_batch() {
    constexpr std::int64_t batch = 20000;  // customers per transaction: ~0.2 s at most under the write lock
    return write("fill_customer_names", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const auto from = meta(c, "customer_names_fill_from");
        if (!from) {
            names_ready = true;
            return false;
        }
        // Customers written since the fill began are in the index already.
        Query(c, "INSERT INTO customer_names (rowid, words) "
                 "SELECT customer_id, group_concat(term, ' ') FROM customer_terms "
                 "WHERE customer_id >= ?1 AND customer_id < ?2 "
                 "AND customer_id NOT IN (SELECT rowid FROM customer_names WHERE rowid >= ?1 AND rowid < ?2) "
                 "GROUP BY customer_id")
            .bind(*from, *from + batch)
            .exec();
        const auto last = last_customer_id(c);
        const bool done = *from + batch > last;
        set_meta(c, "customer_names_fill_from", done ? std::nullopt : std::optional<std::int64_t>(*from + batch));
        tx.commit();
        if (done) names_ready = true;
        return !done;
    });
}

bool SqliteStore::Impl::sweep_scores_batch(Timestamp now) {
    constexpr std::int64_t batch = 2000;  // ids per transaction: at most a few hundred ms under the write lock
    return write("sweep_value_scores", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        auto from = meta(c, "value_sweep_from");
        if (!from) {
            const auto at = meta(c, "value_sweep_at");
            if (at && now - from_ms(*at) < std::chrono::hours(24)) return false;
            from = 0;
        }
        if (*from == 0) refresh_lifetime_quartiles(c);  // every score of the recount compares with the same ones
        std::vector<std::int64_t> ids;
        {
            // A bounded id range: a file of scores set by hand is walked in
            // short steps too, never in one long scan under the lock. The
            // scores that follow the history (value_score_follows_history).
            Query q(c, "SELECT id FROM customers WHERE id > ? AND id <= ? AND status = 'active' "
                       "AND (value_score_computed = 1 OR value_score IS NULL)");
            q.bind(*from, *from + batch);
            while (q.step()) ids.push_back(q.i64(0));
        }
        for (const auto id : ids) rescore(c, id, now);
        const auto last = last_customer_id(c);
        const bool done = *from + batch >= last;
        set_meta(c, "value_sweep_from", done ? std::nullopt : std::optional<std::int64_t>(*from + batch));
        if (done) set_meta(c, "value_sweep_at", to_ms(now));
        tx.commit();
        return true;
    });
}

// The upkeep thread: first the trigram fill left by a migration, then the
// daily recount of computed scores (recency ages without any write), then
// a look every 10 minutes (or when asked) at whether a recount is due. Each
// batch is its own short write; a pause between batches lets calls and edits
// in. Failures are retried at the next round: the work is idempotent and
// resumable.
void SqliteStore::Impl::run_upkeep() {
    // Waits up to d, less when work is asked for (wake_upkeep). nullopt when
    // the store is closing, else whether work was asked for.
    auto pause = [&](auto d) -> std::optional<bool> {
        std::unique_lock lk(checkpoint_mutex);
        checkpoint_cv.wait_for(lk, d, [&] { return stopping || upkeep_wanted; });
        if (stopping) return std::nullopt;
        return std::exchange(upkeep_wanted, false);
    };
    auto settle = [&] {
        std::lock_guard lk(upkeep_mutex);
        upkeep_settled = true;
        upkeep_cv.notify_all();
    };
    for (;;) {
        try {
            while (!stop_requested() && fill_names_batch()) pause(std::chrono::milliseconds(5));
            bool swept = false;
            while (!stop_requested() && sweep_scores_batch(now_ms())) {
                swept = true;
                pause(std::chrono::milliseconds(5));
            }
            if (swept) hist_dirty = true;
        } catch (const StorageError&) {
            // Busy or I/O trouble: the next round resumes where this one stopped.
        }
        settle();
        if (!pause(std::chrono::minutes(10))) return;
        // Asked for work (an import's batches ask one after another): start
        // once the asking has paused for a moment, not between batches.
        for (;;) {
            const auto asked = pause(std::chrono::seconds(2));
            if (!asked) return;
            if (!*asked) break;
        }
        try {
            ReadLease lease(*this);
            refresh_lifetime_quartiles(*lease);
        } catch (const SQLite::Exception&) {
        }
    }
}

void SqliteStore::wait_for_upkeep() {
    std::unique_lock lk(impl_->upkeep_mutex);
    impl_->upkeep_cv.wait(lk, [&] { return impl_->upkeep_settled; });
}

}  // namespace ringside
