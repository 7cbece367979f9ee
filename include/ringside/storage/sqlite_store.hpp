#pragma once
// The embedded default storage: one SQLite file, WAL, versioned migrations.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "ringside/storage/store.hpp"

namespace ringside {

class SqliteStore final : public Storage {
public:
    /// Opens or creates the file (and its parent directory), applies pending
    /// migrations in one transaction each, enables WAL. Throws StorageError
    /// naming the file when it cannot be opened or is not a Ringside database.
    /// Before migrating a file that already holds a schema it copies the
    /// file as it is to `<file>.pre-migration-v<N>-<stamp>.db` beside it
    /// (N the version it had) and refuses to migrate when that copy fails.
    explicit SqliteStore(const std::filesystem::path& file);
    ~SqliteStore() override;

    /// Schema version after migrations (1, 2, ...).
    int schema_version() const;

    /// The copy taken before this open migrated an existing file.
    struct MigrationBackup {
        int from_version = 0;
        std::filesystem::path file;
    };
    /// nullopt when nothing was migrated or the file was new.
    std::optional<MigrationBackup> pre_migration_backup() const;

    /// Blocks until the background work due when the file was opened is
    /// done: filling the name index after its migration, and the daily
    /// recount of computed value scores when one is due. The store serves
    /// reads and writes meanwhile (name search inside words waits for the
    /// fill, matching word starts until then). For tests and benchmarks.
    void wait_for_upkeep();

    /// Writes to the users table made through this store since it opened
    /// (a user created or changed, a directory sign-in), counted as each
    /// ends. A cache of the directory (user_directory_cache.hpp) is current while
    /// this has not moved since it read the list.
    std::uint64_t user_writes() const override;

    std::int64_t create_user(const User& u, const std::string& password_hash) override;
    std::optional<User> find_user(const AgentId& username) override;
    std::optional<StoredCredentials> find_credentials(const AgentId& username) override;
    std::vector<User> users_by_extension(const Extension& ext) override;
    std::vector<User> list_users() override;
    void create_session(const std::string& token_hash, const AgentId& username, Timestamp expires_at) override;
    std::optional<User> session_user(const std::string& token_hash, Timestamp now) override;
    void delete_session(const std::string& token_hash) override;

    std::optional<CustomerContext> customer_context_by_phone(const std::string& e164) override;
    std::optional<CustomerContext> customer_context(std::int64_t customer_id) override;
    std::vector<Customer> customers_by_phone(const std::string& e164) override;
    std::int64_t create_customer(const Customer& c) override;
    std::vector<std::int64_t> create_customers(const std::vector<Customer>& batch) override;
    std::int64_t create_issue(const Issue& i) override;
    std::optional<Issue> find_issue(std::int64_t id) override;
    bool set_issue_status(std::int64_t id, const std::string& status, Timestamp at) override;
    std::int64_t add_interaction(const Interaction& i) override;
    std::size_t customer_count() override;

    std::optional<Customer> find_customer(std::int64_t id) override;
    bool update_customer(const Customer& after, const std::string& actor, const std::string& action,
                         const std::string& detail, Timestamp at) override;
    std::int64_t create_customer_audited(const Customer& c, const std::string& actor, const std::string& detail,
                                         Timestamp at) override;
    std::vector<Customer> search_customers(const CustomerQuery& q) override;
    void for_each_customer(const CustomerQuery& q, const std::function<bool(const Customer&)>& fn) override;
    std::vector<ImportMatch> import_customers(const std::vector<Customer>& batch, bool dry_run, const std::string& actor,
                                              Timestamp at) override;
    std::vector<ImportRowResult> import_orders(const std::vector<OrderRow>& batch, bool dry_run, const std::string& actor,
                                               Timestamp at) override;
    void add_interactions(const std::vector<Interaction>& batch) override;
    std::vector<Interaction> customer_timeline(std::int64_t customer_id, std::optional<Timestamp> before,
                                               std::size_t limit) override;
    std::vector<Issue> customer_issues(std::int64_t customer_id) override;
    bool update_issue(const Issue& after, const std::vector<IssueChange>& changes) override;
    std::vector<IssueChange> issue_history(std::int64_t issue_id) override;
    void for_each_issue(const std::function<bool(const Issue&)>& fn) override;
    std::array<std::int64_t, 11> value_score_histogram() override;
    void recount_value_scores() override;

    void upsert_call(const CallRecord& c) override;
    void finish_call(const CallRecord& c, const std::optional<Interaction>& history) override;
    void write_calls(const std::vector<CallWrite>& batch) override;
    std::optional<CallRecord> find_call(const CallId& id) override;
    std::vector<CallRecord> list_calls(const CallFilter& f) override;
    void for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) override;
    CallPage list_call_page(const CallFilter& f) override;
    CallFigures call_figures(Timestamp since, Timestamp until, int service_level_seconds) override;
    CallReport call_report(const ReportQuery& q) override;
    std::vector<CallRecord> open_calls(const PbxId& pbx) override;
    bool set_disposition(const CallId& id, const std::string& disposition, const std::string& notes) override;
    /// The check and the write in one BEGIN IMMEDIATE transaction: two
    /// connections (or processes) on one file cannot both win.
    DispositionWrite set_disposition_if(const CallId& id, const std::string& disposition, const std::string& notes,
                                        const std::string& previous) override;

    void audit(const std::string& actor, const std::string& action, const std::string& detail, Timestamp at) override;

    /// Loads final call records in one transaction with one prepared insert:
    /// for imports of a PBX's history and for benchmarks (millions of rows).
    /// Rows only: rings and legs are not stored; an id already present throws
    /// StorageConflict and stores none of the batch.
    void bulk_load_calls(const std::vector<CallRecord>& batch);
    std::vector<AuditEntry> list_audit(std::optional<std::int64_t> before_id, std::size_t limit) override;
    bool update_user(const AgentId& username, const UserChange& change) override;
    std::vector<StoredPbx> list_pbx() override;
    void create_pbx(const StoredPbx& p) override;
    bool set_pbx_enabled(const std::string& id, bool enabled) override;
    bool update_pbx(const std::string& id, const std::string& settings, bool enabled) override;
    bool remove_pbx(const std::string& id) override;

    // the customer file's audit trail (issue 7)
    std::vector<AuditEntry> list_customer_audit(std::optional<std::int64_t> customer_id,
                                                std::optional<std::int64_t> before_id, std::size_t limit) override;

    // a customer's data on request, retention, directory users (issue 16)
    std::optional<CustomerData> customer_data(std::int64_t id) override;
    std::optional<EraseReport> erase_customer(std::int64_t id, const std::string& actor, const std::string& reason,
                                              Timestamp at) override;
    RetentionReport apply_retention(const RetentionCutoffs& cutoffs, Timestamp now) override;
    RetentionReport preview_retention(const RetentionCutoffs& cutoffs) override;
    std::optional<User> upsert_directory_user(const User& u, const std::string& dn) override;
    std::vector<std::pair<User, std::string>> directory_users_signed_in(Timestamp now) override;
    void end_sessions(const AgentId& username) override;

    // agent states (sqlite/agent_states.cpp)
    void append_agent_state(const AgentStateChange& change) override;
    std::vector<AgentStateChange> latest_agent_states() override;
    std::vector<AgentStateChange> agent_states_before(Timestamp at) override;
    std::vector<AgentStateChange> agent_state_changes(const std::optional<AgentId>& agent, Timestamp from,
                                                      Timestamp to, std::size_t limit) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ringside
