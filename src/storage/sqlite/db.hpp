#pragma once
// The SQLite connection helpers every part of SqliteStore uses: a connection
// with its statement cache, a statement for one use, a transaction, and the
// conversions between the model's types and SQLite's columns.
// Internal to src/storage: nothing outside the SQLite store includes this.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "query_builders.hpp"
#include "ringside/core/model.hpp"

namespace ringside::sqlite {

constexpr int busy_timeout_ms = 5000;
constexpr std::size_t max_idle_readers = 4;
constexpr std::size_t recent_limit = 5;
constexpr std::int64_t reader_mmap_bytes = std::int64_t{64} << 30;  // asked for; SQLite clamps it

inline Timestamp from_ms(std::int64_t v) { return Timestamp{std::chrono::milliseconds{v}}; }

struct Connection {
    SQLite::Database db;
    std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> cache;

    Connection(const std::string& path, int flags) : db(path, flags, busy_timeout_ms) {}

    SQLite::Statement& prepare(const std::string& sql) {
        auto it = cache.find(sql);
        if (it == cache.end()) it = cache.emplace(sql, std::make_unique<SQLite::Statement>(db, sql)).first;
        return *it->second;
    }
};

// One column's value as stored: NULL, an integer or text.
using Cell = std::variant<std::monostate, std::int64_t, std::string>;

// A cached statement for the length of one use; reset on scope exit.
class Query {
public:
    Query(Connection& c, const std::string& sql) : s_(c.prepare(sql)) {}
    ~Query() { s_.tryReset(); }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    template <class... A>
    Query& bind(const A&... args) {
        int i = 1;
        (bind_one(i++, args), ...);
        return *this;
    }
    bool step() { return s_.executeStep(); }
    int exec() { return s_.exec(); }
    SQLite::Statement& operator*() { return s_; }

    std::int64_t i64(int col) const { return s_.getColumn(col).getInt64(); }
    std::string str(int col) const { return s_.getColumn(col).getString(); }
    bool null(int col) const { return s_.getColumn(col).isNull(); }
    std::optional<std::string> opt_str(int col) const {
        return null(col) ? std::nullopt : std::optional<std::string>(str(col));
    }
    std::optional<std::int64_t> opt_i64(int col) const {
        return null(col) ? std::nullopt : std::optional<std::int64_t>(i64(col));
    }
    std::optional<Timestamp> opt_time(int col) const {
        return null(col) ? std::nullopt : std::optional<Timestamp>(from_ms(i64(col)));
    }
    template <class Strong>
    std::optional<Strong> opt_strong(int col) const {
        return null(col) ? std::nullopt : std::optional<Strong>(Strong{str(col)});
    }
    Cell cell(int col) const {
        const auto c = s_.getColumn(col);
        if (c.isNull()) return std::monostate{};
        if (c.isInteger()) return c.getInt64();
        return c.getString();
    }
    /// Binds parameter i (from 1) to a cell, for statements built at run time.
    void bind_cell(int i, const Cell& v) {
        if (const auto* n = std::get_if<std::int64_t>(&v))
            s_.bind(i, static_cast<int64_t>(*n));
        else if (const auto* t = std::get_if<std::string>(&v))
            s_.bind(i, *t);
        else
            s_.bind(i);
    }

private:
    void bind_one(int i, const std::string& v) { s_.bind(i, v); }
    void bind_one(int i, std::string_view v) { s_.bind(i, std::string(v)); }
    void bind_one(int i, const char* v) { s_.bind(i, v); }
    void bind_one(int i, std::int64_t v) { s_.bind(i, static_cast<int64_t>(v)); }
    void bind_one(int i, int v) { s_.bind(i, v); }
    void bind_one(int i, bool v) { s_.bind(i, v ? 1 : 0); }
    void bind_one(int i, Timestamp v) { s_.bind(i, static_cast<int64_t>(to_ms(v))); }
    void bind_one(int i, std::nullptr_t) { s_.bind(i); }
    template <class T, class Tag>
    void bind_one(int i, const StrongTypedef<T, Tag>& v) {
        bind_one(i, v.value());
    }
    template <class T>
    void bind_one(int i, const std::optional<T>& v) {
        if (v)
            bind_one(i, *v);
        else
            s_.bind(i);
    }

    SQLite::Statement& s_;
};

// BEGIN on construction, ROLLBACK unless commit() was reached.
class Transaction {
public:
    Transaction(Connection& c, const char* begin) : c_(c) { Query(c_, begin).exec(); }
    ~Transaction() {
        if (!done_) {
            try {
                c_.db.exec("ROLLBACK");
            } catch (...) {
                // The transaction may already be gone (SQLite rolls back on some errors).
            }
        }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
        static const std::string sql = "COMMIT";
        Query(c_, sql).exec();
        done_ = true;
    }

private:
    Connection& c_;
    bool done_ = false;
};

/// Binds a built statement's parameters (query_builders.hpp) by number.
inline void bind_all(Query& q, const std::vector<SqlParam>& params) {
    for (const auto& p : params) {
        if (p.is_text) (*q).bind(p.index, p.text);
        else (*q).bind(p.index, static_cast<int64_t>(p.number));
    }
}

bool is_unique_violation(const SQLite::Exception& e);
std::string tags_to_json(const std::vector<std::string>& tags);
std::vector<std::string> strings_from_json(const std::string& text);
bool is_e164(const std::string& s);
/// Throws std::invalid_argument unless every phone of the customer is E.164.
void require_e164(const Customer& cu);

}  // namespace ringside::sqlite
