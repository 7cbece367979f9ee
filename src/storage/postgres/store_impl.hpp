#pragma once
// PostgresStore::Impl: what every part of the store shares (the pool and
// the schema version reached at open). Internal to src/storage/postgres.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "db.hpp"
#include "ringside/storage/postgres_store.hpp"

namespace ringside {

namespace pg {

// Statements more than one file of the store runs, each inside the
// caller's transaction (defined in store.cpp).

/// The columns of a customer row (alias c), as read_customer reads them.
extern const std::string customer_columns;
Customer read_customer(const Result& r, int row);
extern const std::string issue_columns;
Issue read_issue(const Result& r, int row);
/// interaction_columns' last column is the agent's call notes, which
/// read_interaction folds into the summary (as SQLite's reader does).
extern const std::string interaction_columns;
Interaction read_interaction(const Result& r, int row);
/// "SELECT <a call's columns, rings and legs> FROM calls", for read_call.
extern const std::string call_select;
CallRecord read_call(const Result& r, int row);
/// The customer's phones and their labels, in order.
void load_phones(Connection& c, Customer& cu);
/// Throws std::invalid_argument, naming `what`, unless every phone is E.164.
void require_e164(const Customer& cu, const char* what);
/// Inserts a customer whose value score is already set
/// (with_initial_value_score), with its phones, search terms, tags and
/// groups. Returns the new id.
std::int64_t insert_customer(Connection& c, const Customer& scored);
/// A customer's phones, search terms, tags and groups as `cu` has them;
/// `replace` deletes the stored ones first.
void write_customer_children(Connection& c, std::int64_t id, const Customer& cu,
                             const std::vector<std::string>& terms, bool replace);
/// Replaces the stored customer's fields (by cu.id) and children with
/// cu's, stored_form applied; updated_at becomes `at`.
void update_customer_row(Connection& c, const Customer& cu, Timestamp at);
/// A history entry; one with the call_id of a stored one replaces it
/// (a call's entry is written once), keeping its disposition and notes
/// when the new ones are empty.
void upsert_interaction(Connection& c, const Interaction& i, const std::string& notes);
/// The lifetime-value quartiles the value score compares with, read now.
std::array<std::int64_t, 3> lifetime_quartiles(Connection& c);
/// Recomputes a customer's value score from its history (unless set by hand).
void rescore(Connection& c, std::int64_t id, Timestamp now, const std::array<std::int64_t, 3>& quartiles);
void insert_audit(Connection& c, const std::string& actor, const std::string& action, const std::string& detail,
                  Timestamp at);
/// Email keys are the address in ASCII lower case, as SQLite keeps them.
std::string lower_ascii(std::string s);
/// The text as a LIKE pattern's literal part: \, % and _ escaped.
std::string like_literal(const std::string& s);

}  // namespace pg

struct PostgresStore::Impl {
    pg::Pool pool;
    int version = 0;

    /// Writes to users through this store (user_writes()).
    std::atomic<std::uint64_t> user_writes{0};
    /// Counts one users write when it is over, whether it succeeded or threw.
    struct UserWrite {
        Impl& m;
        ~UserWrite() { m.user_writes.fetch_add(1, std::memory_order_release); }
    };

    /// Active customers per value score, for the pop's quartile segment,
    /// which may be a few seconds old (CustomerContext::score_histogram):
    /// read again at most every 10 s, so a pop does not count every customer.
    std::mutex hist_mutex;
    std::array<std::int64_t, 11> hist{};
    std::chrono::steady_clock::time_point hist_at{};
    bool hist_read = false;

    /// The histogram, counted again when older than 10 s, or now when
    /// `fresh` (Customers::value_score_histogram: one index-only count of
    /// the active customers' scores, tens of milliseconds a million).
    std::array<std::int64_t, 11> histogram(pg::Connection& c, bool fresh = false);

    /// The upkeep thread (maintenance.cpp): recounts of value scores.
    std::thread upkeep;
    std::mutex upkeep_mutex;
    std::condition_variable upkeep_cv;
    std::uint64_t upkeep_asked = 0;        // recount requests so far
    std::uint64_t upkeep_done = 0;         // requests the thread has finished
    bool upkeep_stopping = false;
    void start_upkeep();
    void stop_upkeep();
    /// Asks for a recount from the first id, in the caller's transaction;
    /// wake_upkeep after its commit.
    void start_recount(pg::Connection& c);
    void wake_upkeep();
    void run_upkeep();
    /// One batch of the recount, in its own transaction; false when none is due.
    bool sweep_batch(Timestamp now);

    /// Connects and migrates (migrations.hpp).
    Impl(const std::string& url, std::size_t connections);
};

}  // namespace ringside
