#pragma once
// The PostgreSQL connection helpers every part of PostgresStore uses: one
// libpq connection, a small pool of them, a parameterised statement's
// result, a transaction, and the one place where PostgreSQL's text results
// become the model's types. Internal to src/storage: nothing outside the
// PostgreSQL store includes this (nor libpq).
//
// Every statement goes through PQexecParams (or a prepared statement) with
// text parameters: no value is ever spliced into SQL text.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringside/core/model.hpp"

struct pg_conn;
struct pg_result;

namespace ringside::pg {

inline std::int64_t to_ms(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp from_ms(std::int64_t v) { return Timestamp{std::chrono::milliseconds{v}}; }

/// One statement parameter in PostgreSQL's text form; nullopt is NULL.
using Param = std::optional<std::string>;

/// The parameter of a model value: the only conversions to PostgreSQL's text.
Param param(const std::string& v);
Param param(std::string_view v);
Param param(const char* v);
Param param(std::int64_t v);
Param param(int v);
Param param(bool v);
Param param(Timestamp v);
Param param(std::nullptr_t);
template <class T, class Tag>
Param param(const StrongTypedef<T, Tag>& v) {
    return param(v.value());
}
template <class T>
Param param(const std::optional<T>& v) {
    return v ? param(*v) : Param{};
}

/// A statement's result rows. Reading converts PostgreSQL's text form here
/// and nowhere else; a column read with the wrong type throws StorageError.
class Result {
public:
    explicit Result(pg_result* r) : r_(r) {}
    ~Result();
    Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
    Result& operator=(Result&&) = delete;
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;

    int rows() const;
    /// Rows an INSERT, UPDATE or DELETE touched.
    std::int64_t affected() const;
    bool null(int row, int col) const;
    std::string str(int row, int col) const;
    std::int64_t i64(int row, int col) const;
    bool boolean(int row, int col) const;
    std::optional<std::string> opt_str(int row, int col) const;
    std::optional<std::int64_t> opt_i64(int row, int col) const;
    std::optional<Timestamp> opt_time(int row, int col) const;
    Timestamp time(int row, int col) const { return from_ms(i64(row, col)); }
    template <class Strong>
    std::optional<Strong> opt_strong(int row, int col) const {
        return null(row, col) ? std::nullopt : std::optional<Strong>(Strong{str(row, col)});
    }

private:
    pg_result* r_;
};

/// Where a URL points, without its password: for error messages and logs.
std::string describe_url(const std::string& url);

/// One libpq connection (blocking). Not thread-safe: one user at a time,
/// which the pool guarantees.
class Connection {
public:
    /// Connects; throws StorageError in an operator's words (which server,
    /// which user, what went wrong) when it cannot.
    explicit Connection(const std::string& url);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Runs one statement with its parameters ($1, $2, ...). Throws
    /// StorageConflict on a unique violation, StorageError otherwise, naming
    /// `what` (the store's operation) and the server.
    Result exec(const char* what, const std::string& sql, const std::vector<Param>& params = {});
    template <class... A>
    Result run(const char* what, const std::string& sql, const A&... args) {
        return exec(what, sql, std::vector<Param>{param(args)...});
    }
    /// Several statements without parameters (migrations). Throws as exec.
    void exec_script(const char* what, const std::string& sql);
    /// Whether the connection is still usable (the server may have gone).
    bool healthy() const;
    const std::string& target() const { return target_; }

private:
    pg_conn* c_ = nullptr;
    std::string target_;                   // describe_url of the URL
};

/// BEGIN on construction, ROLLBACK unless commit() was reached.
class Transaction {
public:
    explicit Transaction(Connection& c, const char* begin = "BEGIN");
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Connection& c_;
    bool done_ = false;
};

/// A fixed number of connections shared by the callers' threads. A caller
/// leases one for one operation and blocks while all are leased. A
/// connection found broken when returned is dropped and a new one opened on
/// the next lease, so a restarted server costs the operations that were in
/// flight, not the store.
class Pool {
public:
    Pool(std::string url, std::size_t size);
    ~Pool();

    class Lease {
    public:
        Lease(Pool& p, std::unique_ptr<Connection> c) : pool_(p), c_(std::move(c)) {}
        ~Lease();
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        Connection& operator*() { return *c_; }
        Connection* operator->() { return c_.get(); }

    private:
        Pool& pool_;
        std::unique_ptr<Connection> c_;
    };
    Lease lease();
    const std::string& url() const { return url_; }

private:
    void give_back(std::unique_ptr<Connection> c);

    std::string url_;
    std::size_t size_;
    std::mutex mutex_;
    std::condition_variable free_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::size_t open_ = 0;                 // leased + idle
};

}  // namespace ringside::pg
