#pragma once
// The storage seam. Everything above it (core, server, CLI) goes through this
// interface and never writes SQL. SQLite is the embedded default
// (sqlite_store.hpp); a PostgreSQL implementation for multi-node sites fits
// here too.
//
// Thread safety: every method may be called from any thread at any time.
// Errors: infrastructure failures (disk full, corrupt file) throw
// StorageError; "no such row" is an empty optional or false, never a throw.
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ringside/core/model.hpp"

namespace ringside {

struct StorageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
/// A unique key is already taken (username, session token).
struct StorageConflict : StorageError {
    using StorageError::StorageError;
};

struct CallFilter {
    std::optional<Timestamp> since;        // started_at >= since
    std::optional<Timestamp> until;        // started_at < until
    std::optional<AgentId> agent;          // answered by this agent
    std::optional<CallStatus> status;
    std::optional<std::int64_t> customer_id;
    std::optional<PbxId> pbx;
    std::optional<std::string> phone;      // from or to is this number (E.164 as stored)
    std::size_t limit = 100;               // 1..1000 for lists; ignored by for_each_call
};

/// A PBX connection added on the admin page (connections from the config
/// file are not stored). settings is the connection's JSON object as the
/// admin API takes it, secrets included: the link needs them to log in.
struct StoredPbx {
    std::string id;                        // [a-z0-9-]+, unique across config and database
    std::string type;                      // asterisk-ami | freeswitch-esl | sip | webhook
    std::string settings;                  // JSON object: host, port, username, secret, password, path, ...
    bool enabled = true;
    Timestamp created_at{};
    std::string created_by;                // username of the admin who added it
};

/// One audit_log row.
struct AuditEntry {
    std::int64_t id = 0;                   // increasing; pages go by it
    Timestamp at{};
    std::string actor;                     // username, or "system"
    std::string action;                    // "pbx.add", "user.disable", "login", ...
    std::string detail;                    // JSON text, never a secret
};

/// Changes to one user; unset fields stay as they are.
struct UserChange {
    std::optional<std::string> name;
    std::optional<Role> role;
    std::optional<std::optional<Extension>> extension;  // set to nullopt to clear the extension
    std::optional<bool> disabled;
    std::optional<std::string> password_hash;
};

struct StoredCredentials {
    User user;
    std::string password_hash;             // libsodium crypto_pwhash_str (Argon2id)
};

class Storage {
public:
    virtual ~Storage() = default;

    // ---- users and sessions
    /// Throws StorageConflict if the username is taken. Returns the new id.
    virtual std::int64_t create_user(const User& u, const std::string& password_hash) = 0;
    virtual std::optional<User> find_user(const AgentId& username) = 0;
    virtual std::optional<StoredCredentials> find_credentials(const AgentId& username) = 0;
    /// Enabled users whose extension is ext (normally one).
    virtual std::vector<User> users_by_extension(const Extension& ext) = 0;
    virtual std::vector<User> list_users() = 0;
    /// token_hash: hex SHA-256 of the bearer token; the token itself is never stored.
    virtual void create_session(const std::string& token_hash, const AgentId& username, Timestamp expires_at) = 0;
    /// The session's user if the session exists, has not expired at `now`, and the user is enabled.
    virtual std::optional<User> session_user(const std::string& token_hash, Timestamp now) = 0;
    virtual void delete_session(const std::string& token_hash) = 0;

    // ---- customers, issues, interactions
    /// The customer owning this E.164 number with open issues and recent
    /// interactions (newest first, 5 each), in one indexed lookup.
    virtual std::optional<CustomerContext> customer_context_by_phone(const std::string& e164) = 0;
    virtual std::optional<CustomerContext> customer_context(std::int64_t customer_id) = 0;
    virtual std::vector<Customer> customers_by_phone(const std::string& e164) = 0;
    /// phones must already be E.164. Returns the new id.
    virtual std::int64_t create_customer(const Customer& c) = 0;
    /// Many customers in one transaction (imports, benchmarks): all or none.
    /// Returns their ids in order.
    virtual std::vector<std::int64_t> create_customers(const std::vector<Customer>& batch) = 0;
    virtual std::int64_t create_issue(const Issue& i) = 0;
    virtual std::optional<Issue> find_issue(std::int64_t id) = 0;
    /// status "open" | "resolved"; false if no such issue.
    virtual bool set_issue_status(std::int64_t id, const std::string& status, Timestamp at) = 0;
    virtual std::int64_t add_interaction(const Interaction& i) = 0;
    virtual std::size_t customer_count() = 0;

    // ---- calls
    /// Inserts the record or replaces the one with the same id, with its legs.
    /// A record with merged_into set is removed instead (with its legs, rings
    /// and history): an attended transfer's consultation call lives on in the
    /// call it was merged into.
    virtual void upsert_call(const CallRecord& c) = 0;
    /// Stores the final record and, when the caller is a known customer, its
    /// interaction, in one transaction: both or neither. Idempotent: an
    /// interaction with the same call_id is replaced, never duplicated.
    virtual void finish_call(const CallRecord& c, const std::optional<Interaction>& history) = 0;
    /// One queued call-record write: an upsert_call, or a finish_call when
    /// `final` is set.
    struct CallWrite {
        CallRecord record;
        std::optional<Interaction> history;  // finish_call's history entry
        bool final = false;
    };
    /// Applies the writes in order in one transaction: all or none (a
    /// failure throws and stores none of them). The default applies them
    /// one by one; SQLite overrides it because one commit for many writes
    /// is far cheaper than a commit each.
    virtual void write_calls(const std::vector<CallWrite>& batch) {
        for (const auto& w : batch) {
            if (w.final) finish_call(w.record, w.history);
            else upsert_call(w.record);
        }
    }
    virtual std::optional<CallRecord> find_call(const CallId& id) = 0;
    /// Newest first (started_at desc), at most filter.limit.
    virtual std::vector<CallRecord> list_calls(const CallFilter& f) = 0;
    /// Streams every matching call, newest first, without holding them all;
    /// stops when fn returns false.
    virtual void for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) = 0;
    /// Records not final (status ringing, or answered with no ended_at) of a PBX.
    virtual std::vector<CallRecord> open_calls(const PbxId& pbx) = 0;
    /// Stores disposition and notes on the call and its history entry. false if no such call.
    virtual bool set_disposition(const CallId& id, const std::string& disposition, const std::string& notes) = 0;

    // ---- audit trail (append-only)
    virtual void audit(const std::string& actor, const std::string& action, const std::string& detail, Timestamp at) = 0;

    // ---- administration (admin page)
    /// Newest first: entries with id < before_id (all when unset), at most limit (1..500).
    virtual std::vector<AuditEntry> list_audit(std::optional<std::int64_t> before_id, std::size_t limit) = 0;
    /// Applies the change; false if no such user. Disabling (or a new
    /// password) also deletes the user's sessions, in the same transaction.
    virtual bool update_user(const AgentId& username, const UserChange& change) = 0;
    /// PBX connections added on the admin page, in the order they were added.
    virtual std::vector<StoredPbx> list_pbx() = 0;
    /// Throws StorageConflict if the id is taken.
    virtual void create_pbx(const StoredPbx& p) = 0;
    /// false if no such stored connection.
    virtual bool set_pbx_enabled(const std::string& id, bool enabled) = 0;
};

}  // namespace ringside
