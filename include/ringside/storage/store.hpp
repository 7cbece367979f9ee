#pragma once
// The storage seam. Everything above it (core, server, CLI) goes through this
// interface and never writes SQL. SQLite is the embedded default
// (sqlite_store.hpp); a PostgreSQL implementation for multi-node sites fits
// here too.
//
// Storage implements the ports the core owns (include/ringside/core/ports/):
// CallLog, UserDirectory, CustomerContexts and AuditLog, which the call
// engine sees, and Customers, CallReports, PbxSettings and Maintenance, which
// the server and the CLI use. What is declared here besides (users,
// sessions, the admin page's audit pages) serves the server and the CLI.
//
// Thread safety: every method may be called from any thread at any time.
// Errors: infrastructure failures (disk full, corrupt file) throw
// StorageError; "no such row" is an empty optional or false, never a throw.
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ringside/core/customer_import.hpp"
#include "ringside/core/model.hpp"
#include "ringside/core/ports/agent_state_log.hpp"
#include "ringside/core/ports/audit_log.hpp"
#include "ringside/core/ports/call_log.hpp"
#include "ringside/core/ports/call_reports.hpp"
#include "ringside/core/ports/customer_contexts.hpp"
#include "ringside/core/ports/customers.hpp"
#include "ringside/core/ports/maintenance.hpp"
#include "ringside/core/ports/pbx_settings.hpp"
#include "ringside/core/ports/user_directory.hpp"
#include "ringside/core/privacy.hpp"

namespace ringside {

struct StorageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
/// A unique key is already taken (username, session token).
struct StorageConflict : StorageError {
    using StorageError::StorageError;
};
/// The database cannot be reached now: the connection was refused or lost,
/// or the server is shutting down or starting. The same request, unchanged,
/// may succeed later (WriteBehindStore keeps such writes and retries them).
struct StorageUnavailable : StorageError {
    using StorageError::StorageError;
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
    std::string password_hash;             // libsodium crypto_pwhash_str (Argon2id); "" for a directory user
    /// Set for a user who signs in through the company directory ([auth.ldap]):
    /// the DN their last sign-in found. Such a user has no local password.
    std::optional<std::string> directory_dn;
};

class Storage : public CallLog,
                public UserDirectory,
                public CustomerContexts,
                public AuditLog,
                public Customers,
                public CallReports,
                public PbxSettings,
                public Maintenance,
                public AgentStateLog {
public:
    virtual ~Storage() = default;

    // ---- users and sessions
    /// Throws StorageConflict if the username is taken. Returns the new id.
    virtual std::int64_t create_user(const User& u, const std::string& password_hash) = 0;
    // find_user, users_by_extension, list_users: UserDirectory.
    virtual std::optional<StoredCredentials> find_credentials(const AgentId& username) = 0;
    /// token_hash: hex SHA-256 of the bearer token; the token itself is never stored.
    virtual void create_session(const std::string& token_hash, const AgentId& username, Timestamp expires_at) = 0;
    /// The session's user if the session exists, has not expired at `now`, and the user is enabled.
    virtual std::optional<User> session_user(const std::string& token_hash, Timestamp now) = 0;
    virtual void delete_session(const std::string& token_hash) = 0;

    // ---- the customer file: CustomerContexts (the pop's read) and Customers.

    // ---- calls: upsert_call, finish_call, write_calls, find_call,
    // open_calls and set_disposition are CallLog's; the call log and
    // reports are CallReports'.
    using CallWrite = CallLog::CallWrite;

    // ---- audit trail (append-only): audit() is AuditLog's.
    // ---- retention and the recount of value scores: Maintenance.

    // ---- administration (admin page)
    /// Newest first: entries with id < before_id (all when unset), at most limit (1..500).
    virtual std::vector<AuditEntry> list_audit(std::optional<std::int64_t> before_id, std::size_t limit) = 0;
    /// Applies the change; false if no such user. Disabling (or a new
    /// password) also deletes the user's sessions, in the same transaction.
    virtual bool update_user(const AgentId& username, const UserChange& change) = 0;
    // The PBX connections added on the admin page: PbxSettings.

    // ---- users from the company directory ([auth.ldap])
    /// Creates or updates the local row of a directory user (name, role,
    /// extension, DN; no password) and returns it. A row an admin disabled
    /// stays disabled; a local user of that name (with a password) is left
    /// alone and nullopt returned.
    virtual std::optional<User> upsert_directory_user(const User& u, const std::string& dn) = 0;
    /// Directory users with a session not expired at `now`, with their DNs.
    virtual std::vector<std::pair<User, std::string>> directory_users_signed_in(Timestamp now) = 0;
    /// Ends every session of the user.
    virtual void end_sessions(const AgentId& username) = 0;

    /// Writes to the users through this object so far (a user created or
    /// changed, a directory sign-in), counted as each ends. A cache of the
    /// directory (user_directory_cache.hpp) is current with this process's
    /// writes while this has not moved since it read the list; other
    /// processes' and nodes' writes reach it by its periodic reread.
    virtual std::uint64_t user_writes() const = 0;
};

}  // namespace ringside
