// SqliteStore: computed value scores (the rule is the core's
// compute_value_score), the lifetime-value quartiles they compare with, and
// the per-score histogram kept in memory for the pop.
#include "ringside/core/customers.hpp"
#include "store_impl.hpp"

#include <optional>
#include <utility>
#include <vector>

namespace ringside {
using namespace sqlite;

namespace {

void move_score(std::array<std::int64_t, 11>& h, std::optional<std::int64_t> before, std::optional<std::int64_t> after) {
    if (before && *before >= 1 && *before <= 10 && h[static_cast<std::size_t>(*before)] > 0)
        --h[static_cast<std::size_t>(*before)];
    if (after && *after >= 1 && *after <= 10) ++h[static_cast<std::size_t>(*after)];
}

}  // namespace

void SqliteStore::Impl::refresh_histogram(Connection& c) {
    // Exact while writes go on. The read's snapshot starts while no write is
    // between its commit and its hist_adjust (write() holds write_mutex for
    // both), and every score that moves after that is logged and applied on
    // top of the counts read, which do not see it. (Assigning the counts
    // read lost the moves of writes that committed during the read.)
    std::array<std::int64_t, 11> h{};
    static const std::string sql =
        "SELECT value_score, count(*) FROM customers WHERE status = 'active' AND value_score IS NOT NULL "
        "GROUP BY value_score";
    struct StopLog {
        Impl& impl;
        ~StopLog() {
            std::lock_guard lk(impl.hist_mutex);
            impl.hist_logging = false;
            impl.hist_log.clear();
        }
    };
    Transaction tx(c, "BEGIN");
    Query q(c, sql);
    bool row = false;
    std::optional<StopLog> stop;
    {
        std::lock_guard w(write_mutex);
        {
            std::lock_guard lk(hist_mutex);
            hist_log.clear();
            hist_logging = true;
        }
        stop.emplace(StopLog{*this});
        row = q.step();  // the snapshot starts here
    }
    for (; row; row = q.step()) {
        const auto s = q.i64(0);
        if (s >= 1 && s <= 10) h[static_cast<std::size_t>(s)] = q.i64(1);
    }
    tx.commit();
    std::lock_guard lk(hist_mutex);
    for (const auto& [before, after] : hist_log) move_score(h, before, after);
    hist = h;
    hist_at = std::chrono::steady_clock::now();
}

void SqliteStore::Impl::hist_adjust(std::optional<std::int64_t> before, std::optional<std::int64_t> after) {
    if (before == after) return;
    std::lock_guard lk(hist_mutex);
    move_score(hist, before, after);
    if (hist_logging) hist_log.emplace_back(before, after);
}

std::array<std::int64_t, 11> SqliteStore::Impl::histogram() {
    std::lock_guard lk(hist_mutex);
    return hist;
}

void SqliteStore::Impl::refresh_lifetime_quartiles(Connection& c) {
    std::array<std::int64_t, 3> qs{};
    std::int64_t n = 0;
    {
        Query q(c, "SELECT count(*) FROM customers WHERE lifetime_value > 0");
        if (q.step()) n = q.i64(0);
    }
    for (std::size_t k = 0; k < 3 && n > 0; ++k) {
        Query q(c, "SELECT lifetime_value FROM customers WHERE lifetime_value > 0 ORDER BY lifetime_value "
                   "LIMIT 1 OFFSET ?");
        q.bind(n * static_cast<std::int64_t>(k + 1) / 4);
        if (q.step()) qs[k] = q.i64(0);
    }
    std::lock_guard lk(ltv_mutex);
    ltv_quartiles = qs;
}

std::array<std::int64_t, 3> SqliteStore::Impl::lifetime_quartiles() {
    std::lock_guard lk(ltv_mutex);
    return ltv_quartiles;
}

void SqliteStore::Impl::rescore(Connection& c, std::int64_t id, Timestamp now) {
    ValueInputs in;
    std::optional<std::int64_t> score;
    bool active = false;
    {
        static const std::string sql =
            "SELECT value_score, value_score_computed, status, lifetime_value, coalesce(customer_since, created_at) "
            "FROM customers WHERE id = ?";
        Query q(c, sql);
        q.bind(id);
        if (!q.step()) return;
        score = q.opt_i64(0);
        if (!value_score_follows_history(score.has_value(), q.i64(1) != 0)) return;  // set by hand
        active = q.str(2) == "active";
        in.lifetime_value = q.opt_i64(3);
        in.customer_since = from_ms(q.i64(4));
    }
    in.lifetime_quartiles = lifetime_quartiles();
    {
        static const std::string sql =
            "SELECT at FROM interactions WHERE customer_id = ? ORDER BY at DESC LIMIT 1";
        Query q(c, sql);
        q.bind(id);
        if (q.step()) in.last_contact_at = from_ms(q.i64(0));
    }
    if (in.last_contact_at && now - *in.last_contact_at <= value_score_year) {
        static const std::string sql =
            "SELECT count(*) FROM (SELECT 1 FROM interactions WHERE customer_id = ? AND at >= ? LIMIT " +
            std::to_string(value_score_frequency_cap) + ")";
        Query q(c, sql);
        q.bind(id, now - value_score_year);
        if (q.step()) in.interactions_last_year = q.i64(0);
    }
    {
        static const std::string sql = "SELECT count(*) FROM issues WHERE customer_id = ? AND status = 'open'";
        Query q(c, sql);
        q.bind(id);
        if (q.step()) in.open_issues = q.i64(0);
    }
    const std::int64_t computed = compute_value_score(in, now);
    if (score == computed) return;
    static const std::string sql = "UPDATE customers SET value_score = ?, value_score_computed = 1 WHERE id = ?";
    Query(c, sql).bind(computed, id).exec();
    if (active) pending_moves.push_back({score, computed});
}

void SqliteStore::Impl::start_recount(Connection& c) { set_meta(c, "value_sweep_from", 0); }

std::array<std::int64_t, 11> SqliteStore::value_score_histogram() { return impl_->histogram(); }

void SqliteStore::recount_value_scores() {
    impl_->write("recount_value_scores", [&](Connection& c) { impl_->start_recount(c); });
    impl_->wake_upkeep();
}

}  // namespace ringside
