#include "ringside/storage/copy_to_postgres.hpp"

#include <algorithm>
#include <set>

#include <SQLiteCpp/SQLiteCpp.h>

#include "postgres/db.hpp"
#include "ringside/storage/postgres_store.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "ringside/storage/store.hpp"

namespace ringside {

namespace {

// Referenced tables before the tables referencing them; a table both
// schemas gain later goes after these, in name order.
const std::vector<std::string> table_order = {
    "users",           "sessions",      "customers",      "customer_phones", "customer_terms",
    "customer_labels", "issues",        "issue_changes",  "orders",          "interactions",
    "calls",           "call_rings",    "call_legs",      "audit_log",       "pbx_connections",
};
// Kept by PostgreSQL itself, or each store's own bookkeeping.
const std::set<std::string> not_copied = {"ringside_schema", "store_meta", "call_slots", "call_agent_days"};

std::string quoted(const std::string& name) { return "\"" + name + "\""; }

std::vector<std::string> sqlite_columns(SQLite::Database& db, const std::string& table) {
    std::vector<std::string> out;
    SQLite::Statement q(db, "SELECT name FROM pragma_table_info(?)");
    q.bind(1, table);
    while (q.executeStep()) out.push_back(q.getColumn(0).getString());
    return out;
}

std::int64_t pg_count(pg::Connection& c, const std::string& table) {
    return c.run("migrate", "SELECT count(*) FROM " + quoted(table)).i64(0, 0);
}

std::vector<TableCopy> copy_tables(const std::filesystem::path& from, const std::string& to_url,
                                   const std::function<void(const TableCopy&)>& progress);

}  // namespace

std::vector<TableCopy> copy_sqlite_to_postgres(const std::filesystem::path& from, const std::string& to_url,
                                               const std::function<void(const TableCopy&)>& progress) {
    try {
        return copy_tables(from, to_url, progress);
    } catch (const SQLite::Exception& e) {
        throw StorageError("migrate: reading " + from.string() + ": " + e.what());
    }
}

namespace {

std::vector<TableCopy> copy_tables(const std::filesystem::path& from, const std::string& to_url,
                                   const std::function<void(const TableCopy&)>& progress) {
    if (!std::filesystem::exists(from)) throw StorageError("migrate: " + from.string() + " does not exist");
    // Both schemas at this build's version: the stores upgrade them as they open.
    { SqliteStore upgraded(from); }
    { PostgresStore created(to_url, 1); }

    SQLite::Database lite(from.string(), SQLite::OPEN_READONLY);
    pg::Connection c(to_url);

    std::set<std::string> lite_tables;
    {
        SQLite::Statement q(lite, "SELECT name FROM sqlite_schema WHERE type = 'table'");
        while (q.executeStep()) lite_tables.insert(q.getColumn(0).getString());
    }
    std::set<std::string> pg_tables;
    {
        auto r = c.run("migrate", "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()");
        for (int i = 0; i < r.rows(); ++i) pg_tables.insert(r.str(i, 0));
    }
    std::vector<std::string> tables;
    for (const auto& t : table_order)
        if (lite_tables.count(t) && pg_tables.count(t)) tables.push_back(t);
    for (const auto& t : pg_tables)
        if (lite_tables.count(t) && !not_copied.count(t) &&
            std::find(tables.begin(), tables.end(), t) == tables.end())
            tables.push_back(t);

    // The tables an earlier run copied.
    std::set<std::string> copied;
    {
        auto r = c.run("migrate", "SELECT substr(key, 8) FROM store_meta WHERE key LIKE 'copied.%'");
        for (int i = 0; i < r.rows(); ++i) copied.insert(r.str(i, 0));
    }
    // A database this command did not fill is refused before anything is written.
    for (const auto& t : tables) {
        if (!copied.count(t) && pg_count(c, t) > 0)
            throw StorageError("migrate: PostgreSQL at " + c.target() + " already holds rows in " + t +
                               " that this command did not copy; migrate into a new, empty database");
    }

    std::vector<TableCopy> report;
    for (const auto& t : tables) {
        TableCopy tc;
        tc.table = t;
        {
            SQLite::Statement q(lite, "SELECT count(*) FROM " + quoted(t));
            q.executeStep();
            tc.rows = q.getColumn(0).getInt64();
        }
        if (copied.count(t)) {
            tc.earlier = true;
        } else {
            // The columns both hold; PostgreSQL fills the others by default
            // (and name_words below).
            std::set<std::string> pg_cols;
            auto r = c.run("migrate",
                           "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                           "AND table_name = $1",
                           t);
            for (int i = 0; i < r.rows(); ++i) pg_cols.insert(r.str(i, 0));
            std::vector<std::string> cols;
            for (const auto& col : sqlite_columns(lite, t))
                if (pg_cols.count(col)) cols.push_back(col);
            if (cols.empty()) throw StorageError("migrate: " + t + " has no column both databases hold");
            std::string list;
            for (const auto& col : cols) list += (list.empty() ? "" : ", ") + quoted(col);
            // As many rows a statement as PostgreSQL's 65,535 parameters allow, at most 500.
            const std::size_t per_statement = std::min<std::size_t>(500, 65535 / cols.size());
            pg::Transaction tx(c);
            std::vector<pg::Param> params;
            std::size_t in_statement = 0;
            auto send = [&] {
                if (!in_statement) return;
                std::string sql = "INSERT INTO " + quoted(t) + " (" + list + ") VALUES ";
                for (std::size_t row = 0; row < in_statement; ++row) {
                    sql += row ? ", (" : "(";
                    for (std::size_t k = 0; k < cols.size(); ++k)
                        sql += (k ? ", $" : "$") + std::to_string(row * cols.size() + k + 1);
                    sql += ")";
                }
                c.exec("migrate", sql, params);
                tc.copied += static_cast<std::int64_t>(in_statement);
                params.clear();
                in_statement = 0;
            };
            SQLite::Statement q(lite, "SELECT " + list + " FROM " + quoted(t));
            while (q.executeStep()) {
                for (int k = 0; k < static_cast<int>(cols.size()); ++k) {
                    const auto col = q.getColumn(k);
                    params.push_back(col.isNull() ? pg::Param{} : pg::Param{col.getString()});
                }
                if (++in_statement == per_statement) send();
            }
            send();
            if (t == "customer_terms")
                // The words name search looks inside (SQLite keeps them in a
                // full-text table of its own), from the copied search terms.
                c.run("migrate",
                      "UPDATE customers c SET name_words = coalesce((SELECT string_agg(term, ' ' ORDER BY term) "
                      "FROM customer_terms ct WHERE ct.customer_id = c.id), '')");
            // Columns PostgreSQL numbers itself (GENERATED ... AS IDENTITY):
            // their counters move past the copied values.
            auto ids = c.run("migrate",
                             "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                             "AND table_name = $1 AND is_identity = 'YES'",
                             t);
            for (int i = 0; i < ids.rows(); ++i) {
                const auto col = quoted(ids.str(i, 0));
                c.run("migrate",
                      "SELECT setval(pg_get_serial_sequence($1, $2), greatest(coalesce(max(" + col + "), 0), 1), max(" +
                          col + ") IS NOT NULL) FROM " + quoted(t),
                      t, ids.str(i, 0));
            }
            c.run("migrate", "INSERT INTO store_meta (key, value) VALUES ($1, $2)", "copied." + t, tc.copied);
            tx.commit();
        }
        tc.in_postgres = pg_count(c, t);
        if (progress) progress(tc);
        report.push_back(std::move(tc));
    }
    return report;
}

}  // namespace

}  // namespace ringside
