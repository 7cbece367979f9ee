// SqliteStore: users, sessions and the company directory's users.
#include "rows.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

std::int64_t SqliteStore::create_user(const User& u, const std::string& password_hash) {
    Impl::UserWrite counted{*impl_};
    try {
        return impl_->write("create_user", [&](Connection& c) {
            Query(c,
                  "INSERT INTO users (username, name, role, extension, disabled, password_hash) "
                  "VALUES (?, ?, ?, ?, ?, ?)")
                .bind(u.username, u.name, to_string(u.role), u.extension, u.disabled, password_hash)
                .exec();
            return static_cast<std::int64_t>(c.db.getLastInsertRowid());
        });
    } catch (const StorageConflict&) {
        throw StorageConflict("username '" + u.username.value() + "' is taken");
    }
}

std::optional<User> SqliteStore::find_user(const AgentId& username) {
    return impl_->read("find_user", [&](Connection& c) -> std::optional<User> {
        Query q(c, "SELECT " + user_columns + " FROM users WHERE username = ?");
        q.bind(username);
        if (!q.step()) return std::nullopt;
        return read_user(q);
    });
}

std::optional<StoredCredentials> SqliteStore::find_credentials(const AgentId& username) {
    return impl_->read("find_credentials", [&](Connection& c) -> std::optional<StoredCredentials> {
        Query q(c, "SELECT " + user_columns + ", password_hash, directory_dn FROM users WHERE username = ?");
        q.bind(username);
        if (!q.step()) return std::nullopt;
        return StoredCredentials{read_user(q), q.str(6), q.opt_str(7)};
    });
}

std::vector<User> SqliteStore::users_by_extension(const Extension& ext) {
    return impl_->read("users_by_extension", [&](Connection& c) {
        Query q(c, "SELECT " + user_columns + " FROM users WHERE extension = ? AND disabled = 0 ORDER BY id");
        q.bind(ext);
        std::vector<User> out;
        while (q.step()) out.push_back(read_user(q));
        return out;
    });
}

std::vector<User> SqliteStore::list_users() {
    return impl_->read("list_users", [&](Connection& c) {
        Query q(c, "SELECT " + user_columns + " FROM users ORDER BY username");
        std::vector<User> out;
        while (q.step()) out.push_back(read_user(q));
        return out;
    });
}

void SqliteStore::create_session(const std::string& token_hash, const AgentId& username, Timestamp expires_at) {
    impl_->write("create_session", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        // Expired sessions are useless; dropping them here keeps the table small
        // without a background job.
        Query(c, "DELETE FROM sessions WHERE expires_at <= ?").bind(now_ms()).exec();
        Query(c, "INSERT INTO sessions (token_hash, username, expires_at) VALUES (?, ?, ?)")
            .bind(token_hash, username, expires_at)
            .exec();
        tx.commit();
    });
}

std::optional<User> SqliteStore::session_user(const std::string& token_hash, Timestamp now) {
    return impl_->read("session_user", [&](Connection& c) -> std::optional<User> {
        Query q(c,
                "SELECT u.id, u.username, u.name, u.role, u.extension, u.disabled "
                "FROM sessions s JOIN users u ON u.username = s.username "
                "WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0");
        q.bind(token_hash, now);
        if (!q.step()) return std::nullopt;
        return read_user(q);
    });
}

void SqliteStore::delete_session(const std::string& token_hash) {
    impl_->write("delete_session", [&](Connection& c) {
        Query(c, "DELETE FROM sessions WHERE token_hash = ?").bind(token_hash).exec();
    });
}

bool SqliteStore::update_user(const AgentId& username, const UserChange& ch) {
    Impl::UserWrite counted{*impl_};
    return impl_->write("update_user", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        {
            Query q(c, "SELECT 1 FROM users WHERE username = ?");
            q.bind(username);
            if (!q.step()) return false;
        }
        if (ch.name) Query(c, "UPDATE users SET name = ? WHERE username = ?").bind(*ch.name, username).exec();
        if (ch.role)
            Query(c, "UPDATE users SET role = ? WHERE username = ?").bind(to_string(*ch.role), username).exec();
        if (ch.extension)
            Query(c, "UPDATE users SET extension = ? WHERE username = ?").bind(*ch.extension, username).exec();
        if (ch.disabled)
            Query(c, "UPDATE users SET disabled = ? WHERE username = ?").bind(*ch.disabled, username).exec();
        // A password set by an admin makes a directory user a local one.
        if (ch.password_hash)
            Query(c, "UPDATE users SET password_hash = ?, directory_dn = NULL WHERE username = ?")
                .bind(*ch.password_hash, username)
                .exec();
        if ((ch.disabled && *ch.disabled) || ch.password_hash)
            Query(c, "DELETE FROM sessions WHERE username = ?").bind(username).exec();
        tx.commit();
        return true;
    });
}

std::optional<User> SqliteStore::upsert_directory_user(const User& u, const std::string& dn) {
    Impl::UserWrite counted{*impl_};
    return impl_->write("upsert_directory_user", [&](Connection& c) -> std::optional<User> {
        Transaction tx(c, "BEGIN IMMEDIATE");
        bool exists = false;
        {
            Query q(c, "SELECT directory_dn FROM users WHERE username = ?");
            q.bind(u.username);
            if (q.step()) {
                if (q.null(0)) return std::nullopt;  // a local user: never taken over by the directory
                exists = true;
            }
        }
        if (exists)
            Query(c,
                  "UPDATE users SET name = CASE WHEN ? <> '' THEN ? ELSE name END, role = ?, "
                  "extension = coalesce(?, extension), directory_dn = ? WHERE username = ?")
                .bind(u.name, u.name, to_string(u.role), u.extension, dn, u.username)
                .exec();
        else
            Query(c,
                  "INSERT INTO users (username, name, role, extension, disabled, password_hash, directory_dn) "
                  "VALUES (?, ?, ?, ?, 0, '', ?)")
                .bind(u.username, u.name, to_string(u.role), u.extension, dn)
                .exec();
        std::optional<User> out;
        {
            Query q(c, "SELECT " + user_columns + " FROM users WHERE username = ?");
            q.bind(u.username);
            if (q.step()) out = read_user(q);
        }
        tx.commit();
        return out;
    });
}

std::vector<std::pair<User, std::string>> SqliteStore::directory_users_signed_in(Timestamp now) {
    return impl_->read("directory_users_signed_in", [&](Connection& c) {
        Query q(c,
                "SELECT u.id, u.username, u.name, u.role, u.extension, u.disabled, u.directory_dn FROM users u "
                "WHERE u.directory_dn IS NOT NULL AND u.disabled = 0 "
                "AND EXISTS (SELECT 1 FROM sessions s WHERE s.username = u.username AND s.expires_at > ?) "
                "ORDER BY u.username");
        q.bind(now);
        std::vector<std::pair<User, std::string>> out;
        while (q.step()) out.emplace_back(read_user(q), q.str(6));
        return out;
    });
}

void SqliteStore::end_sessions(const AgentId& username) {
    impl_->write("end_sessions", [&](Connection& c) {
        Query(c, "DELETE FROM sessions WHERE username = ?").bind(username).exec();
    });
}

}  // namespace ringside
