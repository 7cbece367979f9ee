#pragma once
// SqliteStore's state and the pieces its aggregates share. Each part of the
// store (users.cpp, customers.cpp, calls.cpp, ...) defines its SqliteStore
// methods over this one Impl: the aggregates share one writer connection,
// one reader pool and one write lock, and several writes span aggregates in
// one transaction (a finished call writes its record, the customer's history
// and the customer's score; an erasure touches calls, history, issues and the
// audit trail).
//
// Concurrency model: one read-write connection behind a mutex serialises all
// writes (SQLite allows one writer anyway), and a pool of read-only
// connections serves reads in parallel under WAL, each read seeing a
// committed snapshot. The pool grows on demand and keeps a few idle
// connections, so a reader never waits for another (for_each_call can hold one
// for a long export, and its callback may itself use the store).
// Every connection caches its prepared statements; a statement is reset when
// its call ends so no read snapshot outlives the call that took it.
#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "db.hpp"
#include "ringside/core/stored_records.hpp"
#include "ringside/storage/sqlite_store.hpp"

namespace ringside {

struct SqliteStore::Impl {
    using Connection = sqlite::Connection;

    std::string path;
    int version = 0;
    /// Writes to the users table through this store (user_writes()).
    std::atomic<std::uint64_t> user_writes{0};
    /// Counts one users write when it is over, whether it succeeded or threw.
    struct UserWrite {
        Impl& m;
        ~UserWrite() { m.user_writes.fetch_add(1, std::memory_order_release); }
    };
    std::optional<SqliteStore::MigrationBackup> migration_backup;

    ~Impl();

    // ---- connections (store.cpp)

    std::mutex write_mutex;
    std::unique_ptr<Connection> writer;

    std::mutex pool_mutex;
    std::vector<std::unique_ptr<Connection>> idle_readers;

    std::unique_ptr<Connection> open_reader();

    // A reader connection for the caller's scope, returned to the pool after.
    class ReadLease {
    public:
        explicit ReadLease(Impl& impl);
        ~ReadLease();
        ReadLease(const ReadLease&) = delete;
        ReadLease& operator=(const ReadLease&) = delete;
        Connection& operator*() { return *c_; }

    private:
        Impl& impl_;
        std::unique_ptr<Connection> c_;
    };

    // Runs f and turns SQLite's exceptions into StorageError naming the file.
    template <class F>
    auto guarded(const char* op, F&& f) -> decltype(f()) {
        try {
            return f();
        } catch (const StorageError&) {
            throw;
        } catch (const SQLite::Exception& e) {
            std::string msg = "storage: " + std::string(op) + " failed on " + path + ": " + e.what();
            if (sqlite::is_unique_violation(e)) throw StorageConflict(msg);
            throw StorageError(msg);
        }
    }

    template <class F>
    auto read(const char* op, F&& f) {
        return guarded(op, [&] {
            ReadLease lease(*this);
            return f(*lease);
        });
    }

    // Writes hold the one writer connection. Score changes recorded during
    // the write (pending_moves) reach the histogram only when it returns
    // normally; a write that rolls back on purpose (a dry run) discards them.
    template <class F>
    auto write(const char* op, F&& f) {
        return guarded(op, [&] {
            std::lock_guard lk(write_mutex);
            pending_moves.clear();
            struct Settle {
                Impl& impl;
                bool done = false;
                ~Settle() {
                    if (done)
                        for (const auto& m : impl.pending_moves) impl.hist_adjust(m.before, m.after);
                    impl.pending_moves.clear();
                }
            } settle{*this};
            if constexpr (std::is_void_v<decltype(f(*writer))>) {
                f(*writer);
                settle.done = true;
            } else {
                auto r = f(*writer);
                settle.done = true;
                return r;
            }
        });
    }

    // ---- customers (customers.cpp); the caller holds the connection.

    /// Phones and their labels into the customer.
    void load_phones(Connection& c, Customer& cu);
    /// The pop's context of a customer row: phones, open issues, recent history, counts.
    CustomerContext context_of(Connection& c, Customer customer);
    /// Inside the caller's write transaction: inserts with the initial score.
    std::int64_t insert_scored(Connection& c, const Customer& cu, Timestamp now);

    // ---- value scores and their histogram (value_scores.cpp)

    // value_score_histogram's cache: refreshed by the checkpointer thread, so
    // a pop never waits for the count.
    std::mutex hist_mutex;
    std::array<std::int64_t, 11> hist{};
    std::chrono::steady_clock::time_point hist_at{};
    std::atomic<bool> hist_dirty{true};
    // While refresh_histogram reads: the score moves since its snapshot began.
    bool hist_logging = false;
    std::vector<std::pair<std::optional<std::int64_t>, std::optional<std::int64_t>>> hist_log;

    void refresh_histogram(Connection& c);
    /// Keeps the counts current between full refreshes: a customer's
    /// active score moved from `before` to `after` (nullopt: none, or not active).
    void hist_adjust(std::optional<std::int64_t> before, std::optional<std::int64_t> after);
    std::array<std::int64_t, 11> histogram();

    /// An active customer's score went from before to after in the write
    /// under way (write_mutex held); the histogram follows when it succeeds.
    struct ScoreMove {
        std::optional<std::int64_t> before, after;
    };
    std::vector<ScoreMove> pending_moves;

    std::mutex ltv_mutex;
    std::array<std::int64_t, 3> ltv_quartiles{};

    /// Lifetime values at 25/50/75% among customers with one, read by offset
    /// from the partial index customers_lifetime_value.
    void refresh_lifetime_quartiles(Connection& c);
    std::array<std::int64_t, 3> lifetime_quartiles();
    /// Inside the caller's write transaction: recomputes the customer's score
    /// from the stored history, unless a score was set by hand. Four indexed
    /// reads; the row is written only when the score changes.
    void rescore(Connection& c, std::int64_t id, Timestamp now);
    /// Inside a write: the recount starts over from the first customer
    /// (an unfinished one restarts, since the quartiles changed under it).
    void start_recount(Connection& c);

    // ---- issues and interactions (issues.cpp)

    /// The customer of an issue, for rescore; nullopt if no such issue.
    std::optional<std::int64_t> issue_customer(Connection& c, std::int64_t issue_id);
    /// Inside the caller's transaction. The caller rescores the customer
    /// (once per customer when it writes many interactions).
    std::int64_t upsert_interaction(Connection& c, const Interaction& i, const std::string& notes);

    // ---- calls (calls.cpp)

    /// A call of an erased customer is kept the way erase_customer left its
    /// records (the caller's number as erased_number, no caller name, no
    /// notes, history text blank): a call in progress at the erasure, or a
    /// note saved after it, brings nothing of the person back. One primary
    /// key lookup, only for calls linked to a customer.
    void keep_erased(Connection& c, const CallId& call, std::int64_t customer);
    /// After a call's disposition is stored (set_disposition and
    /// set_disposition_if, in their transaction): its history entry gets
    /// the same text, and keep_erased applies.
    void disposition_stored(Connection& c, const CallId& call, const std::string& disposition,
                            const std::string& masked_notes);
    /// keep: apply keep_erased here (finish_call_in, which writes the
    /// history entry after this, applies it once at its end instead).
    /// Returns the agent's disposition and notes as the row now holds them
    /// (before keep_erased); nullopt when the record removed the call (merged).
    std::optional<SavedDisposition> upsert_call(Connection& c, const CallRecord& r, bool keep = true);
    /// The calls row alone, only the columns that changed.
    struct RowWrite {
        bool was_stored = false;     // the call had a row before
        SavedDisposition agent_text;  // its disposition and notes now
    };
    RowWrite write_call_row(Connection& c, const CallRecord& r);
    bool rings_stored(Connection& c, const CallRecord& r);
    bool legs_stored(Connection& c, const CallRecord& r);
    void write_rings(Connection& c, const CallRecord& r);
    void write_legs(Connection& c, const CallRecord& r);
    /// finish_call's body, inside the caller's transaction.
    void finish_call_in(Connection& c, const CallRecord& r, const std::optional<Interaction>& history);

    // ---- maintenance: checkpoints, upkeep, backfill (maintenance.cpp)

    // WAL checkpoints copy pages into the database file and fsync it, which
    // can take tens of milliseconds. Left to SQLite (autocheckpoint) they run
    // inside whichever commit crosses the threshold, stalling the call
    // engine mid-call. A thread of its own does them instead, on its own
    // connection; PASSIVE never blocks writers or readers.
    std::thread checkpointer;
    std::mutex checkpoint_mutex;
    std::condition_variable checkpoint_cv;
    bool stopping = false;
    void run_checkpoints();

    // Background upkeep: work too long for the open or a request, done in
    // batches on a thread of its own so writes interleave.
    std::thread upkeep;
    std::atomic<bool> names_ready{true};   // customer_names holds every customer's words
    std::mutex upkeep_mutex;
    std::condition_variable upkeep_cv;
    bool upkeep_settled = false;           // the jobs due at open are done
    bool upkeep_wanted = false;            // under checkpoint_mutex: work was asked for

    std::optional<std::int64_t> meta(Connection& c, const char* key);
    void set_meta(Connection& c, const char* key, std::optional<std::int64_t> v);
    bool stop_requested();
    void wake_upkeep();
    std::int64_t last_customer_id(Connection& c);
    /// One batch of the trigram fill; false when the index is complete.
    bool fill_names_batch();
    /// One batch of the daily recount of computed scores; false when none is due.
    bool sweep_scores_batch(Timestamp now);
    void run_upkeep();
    /// Customers stored before search terms existed (or by an older build)
    /// get theirs: folding is C++ (ICU), not SQL, so a migration cannot.
    void backfill_search_terms();
};

namespace sqlite {

// ---- helpers of one part that others use; each inside the caller's transaction.

/// customers.cpp: the customer's folded words in the trigram index
/// (customer_names), for name search inside words; the caller has removed
/// any earlier row.
void write_customer_words(Connection& c, std::int64_t id, const std::vector<std::string>& terms);
/// customers.cpp: every field of the row from cu, and its phones, words and labels.
void update_customer_row(Connection& c, const Customer& cu, Timestamp at);
/// issues.cpp: the issue's history, oldest first.
std::vector<IssueChange> read_issue_history(Connection& c, std::int64_t issue_id);
/// audit.cpp: appends one audit entry.
void insert_audit(Connection& c, const std::string& actor, const std::string& action, const std::string& detail,
                  Timestamp at);
/// audit.cpp: one customer's audit entries, newest first, id < before_id, at most limit.
std::vector<AuditEntry> read_customer_audit(Connection& c, std::int64_t customer_id, std::int64_t before_id,
                                            std::int64_t limit);

}  // namespace sqlite
}  // namespace ringside
