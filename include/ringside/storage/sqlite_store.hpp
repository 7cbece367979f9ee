#pragma once
// The embedded default storage: one SQLite file, WAL, versioned migrations.
#include <filesystem>
#include <memory>

#include "ringside/storage/store.hpp"

namespace ringside {

class SqliteStore final : public Storage {
public:
    /// Opens or creates the file (and its parent directory), applies pending
    /// migrations in one transaction each, enables WAL. Throws StorageError
    /// naming the file when it cannot be opened or is not a Ringside database.
    explicit SqliteStore(const std::filesystem::path& file);
    ~SqliteStore() override;

    /// Schema version after migrations (1, 2, ...).
    int schema_version() const;

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

    void upsert_call(const CallRecord& c) override;
    void finish_call(const CallRecord& c, const std::optional<Interaction>& history) override;
    void write_calls(const std::vector<CallWrite>& batch) override;
    std::optional<CallRecord> find_call(const CallId& id) override;
    std::vector<CallRecord> list_calls(const CallFilter& f) override;
    void for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) override;
    std::vector<CallRecord> open_calls(const PbxId& pbx) override;
    bool set_disposition(const CallId& id, const std::string& disposition, const std::string& notes) override;

    void audit(const std::string& actor, const std::string& action, const std::string& detail, Timestamp at) override;

    std::vector<AuditEntry> list_audit(std::optional<std::int64_t> before_id, std::size_t limit) override;
    bool update_user(const AgentId& username, const UserChange& change) override;
    std::vector<StoredPbx> list_pbx() override;
    void create_pbx(const StoredPbx& p) override;
    bool set_pbx_enabled(const std::string& id, bool enabled) override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ringside
