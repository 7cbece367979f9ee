#include "db.hpp"

#include <charconv>

#include <libpq-fe.h>

#include "ringside/storage/store.hpp"

namespace ringside::pg {

Param param(const std::string& v) { return v; }
Param param(std::string_view v) { return std::string(v); }
Param param(const char* v) { return std::string(v); }
Param param(std::int64_t v) { return std::to_string(v); }
Param param(int v) { return std::to_string(v); }
Param param(bool v) { return std::string(v ? "true" : "false"); }
Param param(Timestamp v) { return std::to_string(to_ms(v)); }
Param param(std::nullptr_t) { return std::nullopt; }

Result::~Result() {
    if (r_) PQclear(r_);
}

int Result::rows() const { return PQntuples(r_); }

std::int64_t Result::affected() const {
    const char* n = PQcmdTuples(r_);
    std::int64_t v = 0;
    if (n && *n) std::from_chars(n, n + std::char_traits<char>::length(n), v);
    return v;
}

bool Result::null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }

std::string Result::str(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col)));
}

std::int64_t Result::i64(int row, int col) const {
    if (null(row, col)) throw StorageError("storage: PostgreSQL returned NULL where a number was expected");
    const char* v = PQgetvalue(r_, row, col);
    const char* end = v + PQgetlength(r_, row, col);
    std::int64_t out = 0;
    const auto [p, ec] = std::from_chars(v, end, out);
    if (ec != std::errc{} || p != end)
        throw StorageError("storage: PostgreSQL returned \"" + std::string(v, end) + "\" where a number was expected");
    return out;
}

bool Result::boolean(int row, int col) const {
    // Text form of boolean: "t" or "f".
    return !null(row, col) && PQgetvalue(r_, row, col)[0] == 't';
}

std::optional<std::string> Result::opt_str(int row, int col) const {
    return null(row, col) ? std::nullopt : std::optional<std::string>(str(row, col));
}
std::optional<std::int64_t> Result::opt_i64(int row, int col) const {
    return null(row, col) ? std::nullopt : std::optional<std::int64_t>(i64(row, col));
}
std::optional<Timestamp> Result::opt_time(int row, int col) const {
    return null(row, col) ? std::nullopt : std::optional<Timestamp>(from_ms(i64(row, col)));
}

std::string describe_url(const std::string& url) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
    if (!opts) {
        std::string why = err ? err : "not a connection URL";
        if (err) PQfreemem(err);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        return "(unreadable URL: " + why + ")";
    }
    std::string host, port, db, user;
    for (auto* o = opts; o->keyword; ++o) {
        if (!o->val) continue;
        const std::string_view k = o->keyword;
        if (k == "host") host = o->val;
        else if (k == "port") port = o->val;
        else if (k == "dbname") db = o->val;
        else if (k == "user") user = o->val;
    }
    PQconninfoFree(opts);
    std::string out = user.empty() ? "" : user + "@";
    out += host.empty() ? "localhost" : host;
    if (!port.empty()) out += ":" + port;
    if (!db.empty()) out += "/" + db;
    return out;
}

namespace {

std::string first_line(const char* msg) {
    std::string s = msg ? msg : "";
    if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
    return s;
}

/// libpq's connection failure in an operator's words.
std::string connect_failure(pg_conn* c, const std::string& target) {
    std::string why = first_line(PQerrorMessage(c));
    std::string hint;
    if (why.find("password authentication failed") != std::string::npos ||
        why.find("no password supplied") != std::string::npos)
        hint = "; check the user and password in [database] url";
    else if (why.find("does not exist") != std::string::npos)
        hint = "; create the database or the role first (docs/deploy)";
    else if (why.find("Connection refused") != std::string::npos || why.find("could not connect") != std::string::npos)
        hint = "; is PostgreSQL running and listening there?";
    else if (why.find("SSL") != std::string::npos)
        hint = "; check sslmode in [database] url";
    return "PostgreSQL at " + target + ": cannot connect: " + why + hint;
}

/// A failed statement in an operator's words, by SQLSTATE class.
[[noreturn]] void throw_failure(pg_result* r, pg_conn* c, const char* what, const std::string& target) {
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string code = state ? state : "";
    std::string msg = first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c));
    if (msg.empty()) msg = first_line(PQerrorMessage(c));
    if (r) PQclear(r);
    const std::string where = std::string("storage: ") + what + " on PostgreSQL at " + target + ": ";
    if (code == "23505") throw StorageConflict(where + "already present (" + msg + ")");
    if (code.rfind("08", 0) == 0 || PQstatus(c) != CONNECTION_OK)
        throw StorageUnavailable(where + "the connection was lost (" + msg + ")");
    if (code == "40001" || code == "40P01")
        throw StorageError(where + "gave way to a concurrent write; try again (" + msg + ")");
    if (code == "53100") throw StorageError(where + "the database server's disk is full (" + msg + ")");
    if (code == "57P01" || code == "57P02" || code == "57P03")
        throw StorageUnavailable(where + "the database server is shutting down or starting (" + msg + ")");
    if (code == "42501") throw StorageError(where + "permission denied; grant the role its rights (" + msg + ")");
    throw StorageError(where + msg + (code.empty() ? "" : " [SQLSTATE " + code + "]"));
}

}  // namespace

Connection::Connection(const std::string& url) : target_(describe_url(url)) {
    // The URL goes to libpq as it is: sslmode, sslrootcert, connect_timeout
    // and the rest of its parameters are libpq's own.
    c_ = PQconnectdb(url.c_str());
    if (!c_) throw StorageError("PostgreSQL at " + target_ + ": cannot connect: out of memory");
    if (PQstatus(c_) != CONNECTION_OK) {
        std::string why = connect_failure(c_, target_);
        PQfinish(c_);
        c_ = nullptr;
        throw StorageUnavailable(why);
    }
    // Notices (e.g. "relation already exists, skipping") are not errors; keep them off stderr.
    PQsetNoticeProcessor(c_, [](void*, const char*) {}, nullptr);
    // Times are integers (ms) in this schema; text is UTF-8.
    exec_script("connect", "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'");
}

Connection::~Connection() {
    if (c_) PQfinish(c_);
}

Result Connection::exec(const char* what, const std::string& sql, const std::vector<Param>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    pg_result* r = PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                                nullptr, /*text results*/ 0);
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw_failure(r, c_, what, target_);
    return Result(r);
}

void Connection::exec_script(const char* what, const std::string& sql) {
    pg_result* r = PQexec(c_, sql.c_str());
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw_failure(r, c_, what, target_);
    PQclear(r);
}

bool Connection::healthy() const {
    return c_ && PQstatus(c_) == CONNECTION_OK && PQtransactionStatus(c_) == PQTRANS_IDLE;
}

Transaction::Transaction(Connection& c, const char* begin) : c_(c) { c_.exec_script("begin", begin); }

Transaction::~Transaction() {
    if (done_) return;
    try {
        c_.exec_script("rollback", "ROLLBACK");
    } catch (...) {
        // The connection may be gone; the pool drops it as unhealthy.
    }
}

void Transaction::commit() {
    c_.exec_script("commit", "COMMIT");
    done_ = true;
}

Pool::Pool(std::string url, std::size_t size) : url_(std::move(url)), size_(size ? size : 1) {
    // One connection at once: a wrong URL or a server that is down fails the
    // open, in words, instead of the first query.
    idle_.push_back(std::make_unique<Connection>(url_));
    open_ = 1;
}

Pool::~Pool() = default;

Pool::Lease Pool::lease() {
    std::unique_lock lk(mutex_);
    free_.wait(lk, [&] { return !idle_.empty() || open_ < size_; });
    if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return Lease(*this, std::move(c));
    }
    ++open_;
    lk.unlock();
    try {
        return Lease(*this, std::make_unique<Connection>(url_));
    } catch (...) {
        std::lock_guard relock(mutex_);
        --open_;
        free_.notify_one();
        throw;
    }
}

void Pool::give_back(std::unique_ptr<Connection> c) {
    std::lock_guard lk(mutex_);
    if (c && c->healthy()) idle_.push_back(std::move(c));
    else --open_;
    free_.notify_one();
}

Pool::Lease::~Lease() { pool_.give_back(std::move(c_)); }

}  // namespace ringside::pg
