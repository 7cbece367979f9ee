// PostgresStore: the audit trail (append-only: the database's trigger
// refuses changes), users as the engine's directory reads them, and the PBX
// connections added on the admin page.
#include <algorithm>
#include <limits>

#include "ringside/storage/postgres_store.hpp"
#include "ringside/storage/store.hpp"
#include "ringside/core/time.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace pg;

namespace {

const std::string user_columns = "id, username, name, role, extension, disabled";

User read_user(const Result& r, int row) {
    User u;
    u.id = r.i64(row, 0);
    u.username = AgentId{r.str(row, 1)};
    u.name = r.str(row, 2);
    // The CHECK constraint admits only known roles; the fallback grants the least.
    u.role = role_from_string(r.str(row, 3)).value_or(Role::agent);
    u.extension = r.opt_strong<Extension>(row, 4);
    u.disabled = r.boolean(row, 5);
    return u;
}

std::vector<User> users_of(const Result& r) {
    std::vector<User> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_user(r, i));
    return out;
}

}  // namespace

void PostgresStore::audit(const std::string& actor, const std::string& action, const std::string& detail,
                          Timestamp at) {
    auto c = impl_->pool.lease();
    c->run("audit", "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)", at, actor, action,
           detail);
}

std::vector<AuditEntry> PostgresStore::list_audit(std::optional<std::int64_t> before_id, std::size_t limit) {
    auto c = impl_->pool.lease();
    auto r = c->run("list_audit",
                    "SELECT id, at, actor, action, detail FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2",
                    before_id.value_or(std::numeric_limits<std::int64_t>::max()),
                    static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, 500)));
    std::vector<AuditEntry> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(AuditEntry{r.i64(i, 0), r.time(i, 1), r.str(i, 2), r.str(i, 3), r.str(i, 4)});
    return out;
}

std::vector<User> PostgresStore::users_by_extension(const Extension& ext) {
    auto c = impl_->pool.lease();
    return users_of(c->run("users_by_extension",
                           "SELECT " + user_columns + " FROM users WHERE extension = $1 AND NOT disabled ORDER BY id",
                           ext));
}

std::optional<User> PostgresStore::find_user(const AgentId& username) {
    auto c = impl_->pool.lease();
    auto r = c->run("find_user", "SELECT " + user_columns + " FROM users WHERE username = $1", username);
    if (!r.rows()) return std::nullopt;
    return read_user(r, 0);
}

std::vector<User> PostgresStore::list_users() {
    auto c = impl_->pool.lease();
    return users_of(c->run("list_users", "SELECT " + user_columns + " FROM users ORDER BY username"));
}

std::int64_t PostgresStore::create_user(const User& u, const std::string& password_hash) {
    Impl::UserWrite counted{*impl_};
    auto c = impl_->pool.lease();
    try {
        return c->run("create_user",
                      "INSERT INTO users (username, name, role, extension, disabled, password_hash) "
                      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                      u.username, u.name, std::string(to_string(u.role)), u.extension, u.disabled, password_hash)
            .i64(0, 0);
    } catch (const StorageConflict&) {
        throw StorageConflict("username '" + u.username.value() + "' is taken");
    }
}

std::optional<StoredCredentials> PostgresStore::find_credentials(const AgentId& username) {
    auto c = impl_->pool.lease();
    auto r = c->run("find_credentials",
                    "SELECT " + user_columns + ", password_hash, directory_dn FROM users WHERE username = $1", username);
    if (!r.rows()) return std::nullopt;
    return StoredCredentials{read_user(r, 0), r.str(0, 6), r.opt_str(0, 7)};
}

void PostgresStore::create_session(const std::string& token_hash, const AgentId& username, Timestamp expires_at) {
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    // Expired sessions are useless; dropping them here keeps the table small
    // without a background job (as on SQLite).
    c->run("create_session", "DELETE FROM sessions WHERE expires_at <= $1", now_ms());
    c->run("create_session", "INSERT INTO sessions (token_hash, username, expires_at) VALUES ($1, $2, $3)", token_hash,
           username, expires_at);
    tx.commit();
}

std::optional<User> PostgresStore::session_user(const std::string& token_hash, Timestamp now) {
    auto c = impl_->pool.lease();
    auto r = c->run("session_user",
                    "SELECT u.id, u.username, u.name, u.role, u.extension, u.disabled "
                    "FROM sessions s JOIN users u ON u.username = s.username "
                    "WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled",
                    token_hash, now);
    if (!r.rows()) return std::nullopt;
    return read_user(r, 0);
}

void PostgresStore::delete_session(const std::string& token_hash) {
    auto c = impl_->pool.lease();
    c->run("delete_session", "DELETE FROM sessions WHERE token_hash = $1", token_hash);
}

bool PostgresStore::update_user(const AgentId& username, const UserChange& ch) {
    Impl::UserWrite counted{*impl_};
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    // The row is locked for the change, so two admins' edits of one user
    // (on any nodes) apply one after the other.
    if (!c->run("update_user", "SELECT 1 FROM users WHERE username = $1 FOR UPDATE", username).rows()) return false;
    if (ch.name) c->run("update_user", "UPDATE users SET name = $1 WHERE username = $2", *ch.name, username);
    if (ch.role)
        c->run("update_user", "UPDATE users SET role = $1 WHERE username = $2", std::string(to_string(*ch.role)),
               username);
    if (ch.extension)
        c->run("update_user", "UPDATE users SET extension = $1 WHERE username = $2", *ch.extension, username);
    if (ch.disabled) c->run("update_user", "UPDATE users SET disabled = $1 WHERE username = $2", *ch.disabled, username);
    // A password set by an admin makes a directory user a local one.
    if (ch.password_hash)
        c->run("update_user", "UPDATE users SET password_hash = $1, directory_dn = NULL WHERE username = $2",
               *ch.password_hash, username);
    if ((ch.disabled && *ch.disabled) || ch.password_hash)
        c->run("update_user", "DELETE FROM sessions WHERE username = $1", username);
    tx.commit();
    return true;
}

std::optional<User> PostgresStore::upsert_directory_user(const User& u, const std::string& dn) {
    Impl::UserWrite counted{*impl_};
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    // Two nodes signing the same new directory user in at once: the INSERT
    // of the second waits for the first's and then updates its row.
    auto r = c->run("upsert_directory_user",
                    "INSERT INTO users (username, name, role, extension, disabled, password_hash, directory_dn) "
                    "VALUES ($1, $2, $3, $4, false, '', $5) "
                    "ON CONFLICT (username) DO UPDATE SET "
                    "name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE users.name END, "
                    "role = EXCLUDED.role, extension = coalesce(EXCLUDED.extension, users.extension), "
                    "directory_dn = EXCLUDED.directory_dn "
                    // a local user (no DN) is never taken over by the directory
                    "WHERE users.directory_dn IS NOT NULL "
                    "RETURNING " + user_columns,
                    u.username, u.name, std::string(to_string(u.role)), u.extension, dn);
    if (!r.rows()) return std::nullopt;
    auto out = read_user(r, 0);
    tx.commit();
    return out;
}

std::vector<std::pair<User, std::string>> PostgresStore::directory_users_signed_in(Timestamp now) {
    auto c = impl_->pool.lease();
    auto r = c->run("directory_users_signed_in",
                    "SELECT u.id, u.username, u.name, u.role, u.extension, u.disabled, u.directory_dn FROM users u "
                    "WHERE u.directory_dn IS NOT NULL AND NOT u.disabled "
                    "AND EXISTS (SELECT 1 FROM sessions s WHERE s.username = u.username AND s.expires_at > $1) "
                    "ORDER BY u.username",
                    now);
    std::vector<std::pair<User, std::string>> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(read_user(r, i), r.str(i, 6));
    return out;
}

std::uint64_t PostgresStore::user_writes() const { return impl_->user_writes.load(std::memory_order_acquire); }

void PostgresStore::end_sessions(const AgentId& username) {
    auto c = impl_->pool.lease();
    c->run("end_sessions", "DELETE FROM sessions WHERE username = $1", username);
}

std::vector<StoredPbx> PostgresStore::list_pbx() {
    auto c = impl_->pool.lease();
    auto r = c->run("list_pbx",
                    "SELECT id, type, settings, enabled, created_at, created_by FROM pbx_connections "
                    "ORDER BY created_at, id");
    std::vector<StoredPbx> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(StoredPbx{r.str(i, 0), r.str(i, 1), r.str(i, 2), r.boolean(i, 3), r.time(i, 4), r.str(i, 5)});
    return out;
}

void PostgresStore::create_pbx(const StoredPbx& p) {
    auto c = impl_->pool.lease();
    try {
        c->run("create_pbx",
               "INSERT INTO pbx_connections (id, type, settings, enabled, created_at, created_by) "
               "VALUES ($1, $2, $3, $4, $5, $6)",
               p.id, p.type, p.settings, p.enabled, p.created_at, p.created_by);
    } catch (const StorageConflict&) {
        throw StorageConflict("PBX id '" + p.id + "' is taken");
    }
}

bool PostgresStore::set_pbx_enabled(const std::string& id, bool enabled) {
    auto c = impl_->pool.lease();
    return c->run("set_pbx_enabled", "UPDATE pbx_connections SET enabled = $1 WHERE id = $2", enabled, id).affected() > 0;
}

bool PostgresStore::update_pbx(const std::string& id, const std::string& settings, bool enabled) {
    auto c = impl_->pool.lease();
    return c->run("update_pbx", "UPDATE pbx_connections SET settings = $1, enabled = $2 WHERE id = $3", settings,
                  enabled, id)
               .affected() > 0;
}

bool PostgresStore::remove_pbx(const std::string& id) {
    auto c = impl_->pool.lease();
    return c->run("remove_pbx", "DELETE FROM pbx_connections WHERE id = $1", id).affected() > 0;
}

}  // namespace ringside
