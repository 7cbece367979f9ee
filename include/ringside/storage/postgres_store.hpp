#pragma once
// The PostgreSQL store, for sites whose nodes share one database: a whole
// Storage (store.hpp), with the same contracts as the SQLite store, which
// tests/contract checks case by case on both.
//
// What differs, because several nodes write one database:
// - value_score_histogram is counted in the database when asked (one
//   index-only count), and the pops' copy of it is at most 10 s old;
// - the value-score recount's progress lives in the database (store_meta),
//   so any node takes up a recount another left unfinished;
// - the user list is read from the database on every call (no cache).
//
// Thread safety: every method may be called from any thread; each leases a
// connection of its own from a small pool and blocks on the network for
// the length of its statements (docs/internals.md "Storage").
// Errors: infrastructure failures throw StorageError in an operator's words
// (the server, what failed); "no such row" is an empty optional or false.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ringside/storage/store.hpp"

namespace ringside {

class PostgresStore final : public Storage {
public:
    /// Connects to `url` (a libpq URL: postgresql://user:pass@host:port/db?sslmode=...)
    /// and applies pending migrations, one transaction each. At most
    /// `connections` connections are open at once.
    explicit PostgresStore(const std::string& url, std::size_t connections = 4);
    ~PostgresStore() override;

    int schema_version() const;
    /// Where the store connects, without the password ("user@host:port/db"), for logs.
    std::string server() const;

    // ---- CallLog
    void upsert_call(const CallRecord& c) override;
    void finish_call(const CallRecord& c, const std::optional<Interaction>& history) override;
    void write_calls(const std::vector<CallWrite>& batch) override;
    std::optional<CallRecord> find_call(const CallId& id) override;
    std::vector<CallRecord> open_calls(const PbxId& pbx) override;
    bool set_disposition(const CallId& id, const std::string& disposition, const std::string& notes) override;

    /// One UPDATE ... WHERE disposition IS NOT DISTINCT FROM previous: a
    /// second writer waits for the first's row lock, then finds the row no
    /// longer matching, on any node.
    DispositionWrite set_disposition_if(const CallId& id, const std::string& disposition, const std::string& notes,
                                        const std::string& previous) override;

    // ---- CustomerContexts
    std::optional<CustomerContext> customer_context_by_phone(const std::string& e164) override;
    std::optional<CustomerContext> customer_context(std::int64_t customer_id) override;

    // ---- Customers (same contracts)
    std::vector<Customer> customers_by_phone(const std::string& e164) override;
    /// phones must already be E.164. Returns the new id.
    std::int64_t create_customer(const Customer& c) override;
    std::optional<Customer> find_customer(std::int64_t id) override;
    std::int64_t create_issue(const Issue& i) override;
    std::int64_t add_interaction(const Interaction& i) override;
    std::size_t customer_count() override;
    // Customers' contracts (ports/customers.hpp); writes that read before
    // they write lock the row they read (FOR UPDATE).
    std::vector<std::int64_t> create_customers(const std::vector<Customer>& batch) override;
    std::int64_t create_customer_audited(const Customer& c, const std::string& actor, const std::string& detail,
                                         Timestamp at) override;
    bool update_customer(const Customer& after, const std::string& actor, const std::string& action,
                         const std::string& detail, Timestamp at) override;
    std::optional<Issue> find_issue(std::int64_t id) override;
    bool set_issue_status(std::int64_t id, const std::string& status, Timestamp at) override;
    std::vector<Issue> customer_issues(std::int64_t customer_id) override;
    bool update_issue(const Issue& after, const std::vector<IssueChange>& changes) override;
    std::vector<IssueChange> issue_history(std::int64_t issue_id) override;
    void for_each_issue(const std::function<bool(const Issue&)>& fn) override;
    void add_interactions(const std::vector<Interaction>& batch) override;
    std::vector<Interaction> customer_timeline(std::int64_t customer_id, std::optional<Timestamp> before,
                                               std::size_t limit) override;
    std::vector<AuditEntry> list_customer_audit(std::optional<std::int64_t> customer_id,
                                                std::optional<std::int64_t> before_id, std::size_t limit) override;
    /// Customers::search_customers' contract. Name words of 3 characters or
    /// more are an ILIKE on the folded name words, answered by a pg_trgm index.
    std::vector<Customer> search_customers(const CustomerQuery& q) override;
    /// Customers::for_each_customer's contract: one snapshot, oldest first,
    /// read a page at a time.
    void for_each_customer(const CustomerQuery& q, const std::function<bool(const Customer&)>& fn) override;
    /// Customers::customer_data's contract, in one REPEATABLE READ snapshot.
    std::optional<CustomerData> customer_data(std::int64_t id) override;
    /// Customers::erase_customer's contract. The customer's row is locked
    /// (FOR UPDATE) for the erasure; earlier audit entries about it keep
    /// who, what and when, reduced to {"id", "erased": true}.
    std::optional<EraseReport> erase_customer(std::int64_t id, const std::string& actor, const std::string& reason,
                                              Timestamp at) override;
    /// Customers::import_customers' contract. Two imports of one number or
    /// email at once (from any nodes) store one customer: the second waits
    /// for the first and matches it.
    std::vector<ImportMatch> import_customers(const std::vector<Customer>& batch, bool dry_run,
                                              const std::string& actor, Timestamp at) override;
    /// Customers::import_orders' contract. Imports touching one customer at
    /// once add up: each waits for the other's lifetime value.
    std::vector<ImportRowResult> import_orders(const std::vector<OrderRow>& batch, bool dry_run,
                                               const std::string& actor, Timestamp at) override;
    /// Counted in the database now: one index-only count of the active
    /// customers' scores (tens of milliseconds a million), since other
    /// nodes' writes move them too.
    std::array<std::int64_t, 11> value_score_histogram() override;

    // ---- AuditLog, and the admin page's pages of it (Storage::list_audit's contract)
    void audit(const std::string& actor, const std::string& action, const std::string& detail, Timestamp at) override;
    std::vector<AuditEntry> list_audit(std::optional<std::int64_t> before_id, std::size_t limit) override;

    // ---- UserDirectory, and creating a user (Storage::create_user's contract)
    std::vector<User> users_by_extension(const Extension& ext) override;
    std::optional<User> find_user(const AgentId& username) override;
    std::vector<User> list_users() override;
    /// Throws StorageConflict if the username is taken. Returns the new id.
    std::int64_t create_user(const User& u, const std::string& password_hash) override;

    // ---- sign-in and sessions (Storage's contracts; token_hash is the token's hex SHA-256)
    std::optional<StoredCredentials> find_credentials(const AgentId& username) override;
    void create_session(const std::string& token_hash, const AgentId& username, Timestamp expires_at) override;
    /// The session's user if the session exists, has not expired at `now`, and the user is enabled.
    std::optional<User> session_user(const std::string& token_hash, Timestamp now) override;
    void delete_session(const std::string& token_hash) override;

    // ---- PbxSettings
    std::vector<StoredPbx> list_pbx() override;
    void create_pbx(const StoredPbx& p) override;
    bool set_pbx_enabled(const std::string& id, bool enabled) override;
    bool update_pbx(const std::string& id, const std::string& settings, bool enabled) override;
    bool remove_pbx(const std::string& id) override;

    // ---- users (Storage's contracts)
    /// The user's row is locked for the change (SELECT ... FOR UPDATE).
    bool update_user(const AgentId& username, const UserChange& change) override;
    /// One INSERT ... ON CONFLICT: two nodes signing one new directory user
    /// in at once store one row.
    std::optional<User> upsert_directory_user(const User& u, const std::string& dn) override;
    std::vector<std::pair<User, std::string>> directory_users_signed_in(Timestamp now) override;
    void end_sessions(const AgentId& username) override;
    /// This store's writes to users (other nodes' are not counted: a cache
    /// sees them at its periodic reread).
    std::uint64_t user_writes() const override;

    // ---- CallReports (same contracts; pages in byte order of call ids on ties)
    std::vector<CallRecord> list_calls(const CallFilter& f) override;
    /// Pages of the filter's order from one snapshot.
    void for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) override;
    CallPage list_call_page(const CallFilter& f) override;
    CallFigures call_figures(Timestamp since, Timestamp until, int service_level_seconds) override;
    CallReport call_report(const ReportQuery& q) override;

    // ---- AgentStateLog (same contracts)
    void append_agent_state(const AgentStateChange& change) override;
    std::vector<AgentStateChange> latest_agent_states() override;
    std::vector<AgentStateChange> agent_states_before(Timestamp at) override;
    std::vector<AgentStateChange> agent_state_changes(const std::optional<AgentId>& agent, Timestamp from, Timestamp to,
                                                      std::size_t limit) override;

    // ---- Maintenance (same contracts)
    /// Asks for the recount in the database, so the upkeep thread of any
    /// node running on it may do it (batches take turns under an advisory lock).
    void recount_value_scores() override;
    RetentionReport apply_retention(const RetentionCutoffs& cutoffs, Timestamp now) override;
    RetentionReport preview_retention(const RetentionCutoffs& cutoffs) override;
    /// Blocks until this store's upkeep thread has finished the work asked
    /// of it before the call (tests and tools).
    void wait_for_upkeep();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ringside
