// PostgresStore's upkeep (Maintenance): retention in short batches, the
// recount of computed value scores on the store's upkeep thread, and the
// value-score histogram.
//
// Several nodes share the database, so the upkeep's state lives in it
// (store_meta: value_sweep_from, value_sweep_at and the quartiles the sweep
// compares with), and each batch takes a transaction-scoped advisory lock:
// two nodes sweeping at once take turns batch by batch and never redo each
// other's work, and a node that stops mid-sweep leaves the rest to any other.
#include <algorithm>

#include "ringside/core/privacy.hpp"
#include "ringside/core/time.hpp"
#include "ringside/storage/postgres_store.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace pg;

namespace {

constexpr std::int64_t retention_batch = 2000;  // rows per transaction
constexpr std::int64_t sweep_ids = 2000;        // customer ids per transaction
constexpr std::int64_t sweep_lock = 0x52675376;  // 'RgSv'

std::optional<std::int64_t> meta(Connection& c, const char* key) {
    auto r = c.run("store_meta", "SELECT value FROM store_meta WHERE key = $1", std::string(key));
    if (!r.rows()) return std::nullopt;
    return r.i64(0, 0);
}

void set_meta(Connection& c, const char* key, std::optional<std::int64_t> v) {
    if (v)
        c.run("store_meta",
              "INSERT INTO store_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = "
              "EXCLUDED.value",
              std::string(key), *v);
    else
        c.run("store_meta", "DELETE FROM store_meta WHERE key = $1", std::string(key));
}

}  // namespace

// ---- retention

RetentionReport PostgresStore::apply_retention(const RetentionCutoffs& cut, Timestamp now) {
    // Short transactions of a few thousand rows each: the call writes of
    // every node wait for one batch at most, never for the whole run.
    auto drain = [&](auto&& one_batch) {
        std::int64_t total = 0;
        for (;;) {
            auto c = impl_->pool.lease();
            Transaction tx(*c);
            const std::int64_t n = one_batch(*c);
            tx.commit();
            total += n;
            if (n < retention_batch) return total;
        }
    };
    RetentionReport r;
    if (cut.call_notes_before) {
        const auto before = *cut.call_notes_before;
        r.call_notes_blanked = drain([&](Connection& c) {
            return c.run("apply_retention",
                         "UPDATE calls SET notes = '' WHERE id IN "
                         "(SELECT id FROM calls WHERE started_at < $1 AND notes <> '' LIMIT $2)",
                         before, retention_batch)
                .affected();
        });
        drain([&](Connection& c) {
            return c.run("apply_retention",
                         "UPDATE interactions SET notes = '' WHERE id IN (SELECT id FROM interactions "
                         "WHERE at < $1 AND call_id IS NOT NULL AND notes <> '' LIMIT $2)",
                         before, retention_batch)
                .affected();
        });
    }
    if (cut.call_records_before) {
        const auto before = *cut.call_records_before;
        r.call_records_deleted = drain([&](Connection& c) {
            return c.run("apply_retention",
                         "DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE started_at < $1 LIMIT $2)", before,
                         retention_batch)
                .affected();
        });
    }
    if (cut.audit_before) {
        const auto before = *cut.audit_before;
        r.audit_entries_deleted = drain([&](Connection& c) {
            // The append-only trigger lets entries older than this key go,
            // and only inside this transaction: no other sees the key.
            set_meta(c, "audit_retention_before", to_ms(before));
            const auto n = c.run("apply_retention",
                                 "DELETE FROM audit_log WHERE id IN "
                                 "(SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2)",
                                 before, retention_batch)
                               .affected();
            set_meta(c, "audit_retention_before", std::nullopt);
            return n;
        });
    }
    audit("system", "retention.apply", retention_audit_details(r, cut), now);
    return r;
}

RetentionReport PostgresStore::preview_retention(const RetentionCutoffs& cut) {
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");  // one snapshot for the three counts
    RetentionReport r;
    // The same rows apply_retention's batches pick.
    if (cut.call_notes_before)
        r.call_notes_blanked = c->run("preview_retention",
                                      "SELECT count(*) FROM calls WHERE started_at < $1 AND notes <> ''",
                                      *cut.call_notes_before)
                                   .i64(0, 0);
    if (cut.call_records_before)
        r.call_records_deleted =
            c->run("preview_retention", "SELECT count(*) FROM calls WHERE started_at < $1", *cut.call_records_before)
                .i64(0, 0);
    if (cut.audit_before)
        r.audit_entries_deleted =
            c->run("preview_retention", "SELECT count(*) FROM audit_log WHERE at < $1", *cut.audit_before).i64(0, 0);
    tx.commit();
    return r;
}

// ---- value scores

std::array<std::int64_t, 11> PostgresStore::value_score_histogram() {
    auto c = impl_->pool.lease();
    return impl_->histogram(*c, /*fresh=*/true);
}

void PostgresStore::recount_value_scores() {
    {
        // Asked for, and from the start: the request survives a restart and
        // is seen by every node.
        auto c = impl_->pool.lease();
        Transaction tx(*c);
        impl_->start_recount(*c);
        tx.commit();
    }
    impl_->wake_upkeep();
}

void PostgresStore::wait_for_upkeep() {
    std::unique_lock lk(impl_->upkeep_mutex);
    const auto asked = impl_->upkeep_asked;
    impl_->upkeep_cv.wait(lk, [&] { return impl_->upkeep_done >= asked || impl_->upkeep_stopping; });
}

bool PostgresStore::Impl::sweep_batch(Timestamp now) {
    auto c = pool.lease();
    Transaction tx(*c);
    c->run("sweep_value_scores", "SELECT pg_advisory_xact_lock($1)", sweep_lock);
    auto from = meta(*c, "value_sweep_from");
    if (!from) {
        const auto at = meta(*c, "value_sweep_at");
        if (at && now - from_ms(*at) < std::chrono::hours(24)) return false;
        from = 0;  // the daily recount: recency ages without any write
    }
    std::array<std::int64_t, 3> quartiles{};
    if (*from == 0) {
        // Every score of one recount compares with the same quartiles.
        quartiles = lifetime_quartiles(*c);
        set_meta(*c, "value_sweep_q1", quartiles[0]);
        set_meta(*c, "value_sweep_q2", quartiles[1]);
        set_meta(*c, "value_sweep_q3", quartiles[2]);
    } else {
        quartiles = {meta(*c, "value_sweep_q1").value_or(0), meta(*c, "value_sweep_q2").value_or(0),
                     meta(*c, "value_sweep_q3").value_or(0)};
    }
    // A bounded id range, so a file of scores set by hand is walked in short
    // steps too; only the scores that follow the history.
    auto ids = c->run("sweep_value_scores",
                      "SELECT id FROM customers WHERE id > $1 AND id <= $2 AND status = 'active' "
                      "AND (value_score_computed OR value_score IS NULL)",
                      *from, *from + sweep_ids);
    for (int i = 0; i < ids.rows(); ++i) rescore(*c, ids.i64(i, 0), now, quartiles);
    const auto last = c->run("sweep_value_scores", "SELECT coalesce(max(id), 0) FROM customers").i64(0, 0);
    const bool done = *from + sweep_ids >= last;
    set_meta(*c, "value_sweep_from", done ? std::nullopt : std::optional<std::int64_t>(*from + sweep_ids));
    if (done) set_meta(*c, "value_sweep_at", to_ms(now));
    tx.commit();
    return true;
}

void PostgresStore::Impl::start_recount(Connection& c) {
    // A batch in flight on another node finishes first; the sweep then
    // starts again from the first id.
    c.run("recount_value_scores", "SELECT pg_advisory_xact_lock($1)", sweep_lock);
    set_meta(c, "value_sweep_from", 0);
}

void PostgresStore::Impl::wake_upkeep() {
    {
        std::lock_guard lk(upkeep_mutex);
        ++upkeep_asked;
    }
    upkeep_cv.notify_all();
}

// The upkeep thread: a recount when asked, and a look every 10 minutes at
// whether the daily one is due. Each batch is its own short transaction;
// failures (the server restarting) are retried at the next round, since the
// work resumes where the database says it stopped.
void PostgresStore::Impl::run_upkeep() {
    std::uint64_t seen = 0;
    bool first = true;  // at open: a recount left unfinished, or the daily one, is taken up at once
    for (;;) {
        if (!std::exchange(first, false)) {
            std::unique_lock lk(upkeep_mutex);
            upkeep_cv.wait_for(lk, std::chrono::minutes(10),
                               [&] { return upkeep_stopping || upkeep_asked != seen; });
            if (upkeep_stopping) return;
            seen = upkeep_asked;
        }
        try {
            for (;;) {
                {
                    std::lock_guard lk(upkeep_mutex);
                    if (upkeep_stopping) return;
                }
                if (!sweep_batch(now_ms())) break;
            }
            std::lock_guard lk(hist_mutex);
            hist_read = false;  // scores moved: the pops' histogram is counted again
        } catch (const StorageError&) {
            // The next round resumes from value_sweep_from.
        }
        {
            std::lock_guard lk(upkeep_mutex);
            upkeep_done = seen;
        }
        upkeep_cv.notify_all();
    }
}

void PostgresStore::Impl::start_upkeep() {
    upkeep = std::thread([this] { run_upkeep(); });
}

void PostgresStore::Impl::stop_upkeep() {
    {
        std::lock_guard lk(upkeep_mutex);
        upkeep_stopping = true;
    }
    upkeep_cv.notify_all();
    if (upkeep.joinable()) upkeep.join();
}

}  // namespace ringside
