#include "ringside/storage/sqlite_store.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <set>
#include <variant>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <type_traits>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "migrations.hpp"
#include "ringside/storage/sqlite_backup.hpp"
#include "ringside/core/customers.hpp"
#include "ringside/core/privacy.hpp"

// Concurrency model: one read-write connection behind a mutex serialises all
// writes (SQLite allows one writer anyway), and a pool of read-only
// connections serves reads in parallel under WAL, each read seeing a
// committed snapshot. The pool grows on demand and keeps a few idle
// connections, so a reader never waits for another (for_each_call can hold one
// for a long export, and its callback may itself use the store).
// Every connection caches its prepared statements; a statement is reset when
// its call ends so no read snapshot outlives the call that took it.

namespace ringside {
namespace {

constexpr int busy_timeout_ms = 5000;
constexpr std::size_t max_idle_readers = 4;
constexpr std::size_t recent_limit = 5;
constexpr std::int64_t reader_mmap_bytes = std::int64_t{64} << 30;  // asked for; SQLite clamps it

std::int64_t to_ms(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp from_ms(std::int64_t v) { return Timestamp{std::chrono::milliseconds{v}}; }

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

bool is_unique_violation(const SQLite::Exception& e) {
    int ext = e.getExtendedErrorCode();
    return ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY;
}

std::string tags_to_json(const std::vector<std::string>& tags) { return nlohmann::json(tags).dump(); }

std::vector<std::string> strings_from_json(const std::string& text) {
    std::vector<std::string> out;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array()) return out;
    for (const auto& v : j)
        if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
}

bool is_e164(const std::string& s) {
    if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
    return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ---- row readers; the column lists and the readers change together.

const std::string user_columns = "id, username, name, role, extension, disabled";

User read_user(const Query& q, int base = 0) {
    User u;
    u.id = q.i64(base + 0);
    u.username = AgentId{q.str(base + 1)};
    u.name = q.str(base + 2);
    // The CHECK constraint admits only known roles; the fallback grants the least.
    u.role = role_from_string(q.str(base + 3)).value_or(Role::agent);
    u.extension = q.opt_strong<Extension>(base + 4);
    u.disabled = q.i64(base + 5) != 0;
    return u;
}

const std::string customer_columns =
    "c.id, c.name, c.salutation, c.email, c.tier, c.tags, c.company, c.notes, c.language, c.created_at, "
    "c.birthday, c.groups, c.owner, c.kind, c.source_campaign, c.preferred_channel, c.contact_time, c.opt_outs, "
    "c.value_score, c.lifetime_value, c.customer_since, c.status, c.removed_at, c.removed_by, c.removed_reason, "
    "c.updated_at, c.value_score_computed, c.erased_at";

Customer read_customer(const Query& q) {
    Customer c;
    c.id = q.i64(0);
    c.name = q.str(1);
    c.salutation = q.str(2);
    c.email = q.str(3);
    c.tier = q.str(4);
    c.tags = strings_from_json(q.str(5));
    c.company = q.str(6);
    c.notes = q.str(7);
    c.language = q.str(8);
    c.created_at = from_ms(q.i64(9));
    c.birthday = q.str(10);
    c.groups = strings_from_json(q.str(11));
    c.owner = q.str(12);
    c.kind = q.str(13);
    c.source_campaign = q.str(14);
    c.preferred_channel = q.str(15);
    c.contact_time = q.str(16);
    c.opt_outs = strings_from_json(q.str(17));
    if (auto v = q.opt_i64(18)) c.value_score = static_cast<int>(*v);
    c.lifetime_value = q.opt_i64(19);
    c.customer_since = q.opt_time(20);
    c.status = q.str(21);
    c.removed_at = q.opt_time(22);
    c.removed_by = q.str(23);
    c.removed_reason = q.str(24);
    c.updated_at = q.opt_time(25);
    c.value_score_computed = c.value_score && q.i64(26) != 0;
    c.erased_at = q.opt_time(27);
    return c;
}

/// One customer's row (without its phones), or nothing; `active_only` skips removed ones.
std::optional<Customer> customer_row(Connection& c, std::int64_t id, bool active_only = false) {
    Query q(c, "SELECT " + customer_columns + " FROM customers c WHERE c.id = ?" +
                   (active_only ? " AND c.status = 'active'" : ""));
    q.bind(id);
    if (!q.step()) return std::nullopt;
    return read_customer(q);
}

const std::string issue_columns = "id, customer_id, title, description, status, opened_at, resolved_at, priority, owner";

Issue read_issue(const Query& q) {
    Issue i;
    i.id = q.i64(0);
    i.customer_id = q.i64(1);
    i.title = q.str(2);
    i.description = q.str(3);
    i.status = q.str(4);
    i.opened_at = from_ms(q.i64(5));
    i.resolved_at = q.opt_time(6);
    i.priority = q.str(7);
    i.owner = q.str(8);
    return i;
}

const std::string interaction_columns =
    "id, customer_id, at, channel, direction, summary, agent, call_id, status, disposition, notes";

Interaction read_interaction(const Query& q) {
    Interaction i;
    i.id = q.i64(0);
    i.customer_id = q.i64(1);
    i.at = from_ms(q.i64(2));
    i.channel = q.str(3);
    i.direction = q.str(4);
    i.summary = q.str(5);
    i.agent = q.opt_strong<AgentId>(6);
    i.call_id = q.opt_strong<CallId>(7);
    i.status = q.str(8);
    i.disposition = q.str(9);
    // The agent's closing notes are the most useful line of a call's history.
    if (auto notes = q.str(10); !notes.empty()) i.summary = i.summary.empty() ? notes : i.summary + " — " + notes;
    return i;
}

// call_rings is scanned in primary key order (call_id, position), so the
// array comes out in ring order.
const std::string call_select =
    "SELECT id, pbx, direction, from_number, from_raw, from_name, to_number, customer_id, agent, extension, queue, "
    "status, started_at, answered_at, ended_at, wait_seconds, talk_seconds, disposition, notes, "
    "(SELECT json_group_array(r.agent) FROM call_rings r WHERE r.call_id = calls.id), "
    "queue_position, hold_seconds, "
    "(SELECT json_group_array(json_array(l.agent, l.extension, l.rang_at, l.answered_at, l.ended_at, l.talk_seconds, "
    "l.transferred_by)) FROM call_legs l WHERE l.call_id = calls.id), "
    "hangup_by, hangup_extension "
    "FROM calls";

std::vector<CallLeg> legs_from_json(const std::string& text) {
    std::vector<CallLeg> out;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array()) return out;
    auto opt_ms = [](const nlohmann::json& v) {
        return v.is_number_integer() ? std::optional<Timestamp>(from_ms(v.get<std::int64_t>())) : std::nullopt;
    };
    for (const auto& row : j) {
        if (!row.is_array() || row.size() != 7 || !row[1].is_string()) continue;
        CallLeg l;
        if (row[0].is_string()) l.agent = AgentId(row[0].get<std::string>());
        l.extension = Extension(row[1].get<std::string>());
        l.rang_at = opt_ms(row[2]).value_or(Timestamp{});
        l.answered_at = opt_ms(row[3]);
        l.ended_at = opt_ms(row[4]);
        l.talk_seconds = row[5].is_number_integer() ? row[5].get<std::int64_t>() : 0;
        if (row[6].is_string()) l.transferred_by = AgentId(row[6].get<std::string>());
        out.push_back(std::move(l));
    }
    return out;
}

CallRecord read_call(const Query& q) {
    CallRecord c;
    c.id = CallId{q.str(0)};
    c.pbx = PbxId{q.str(1)};
    c.direction = direction_from_string(q.str(2)).value_or(Direction::inbound);
    c.from = q.str(3);
    c.from_raw = q.str(4);
    c.from_name = q.str(5);
    c.to = q.str(6);
    c.customer_id = q.opt_i64(7);
    c.agent = q.opt_strong<AgentId>(8);
    c.extension = q.opt_strong<Extension>(9);
    c.queue = q.opt_str(10);
    c.status = call_status_from_string(q.str(11)).value_or(CallStatus::failed);
    c.started_at = from_ms(q.i64(12));
    c.answered_at = q.opt_time(13);
    c.ended_at = q.opt_time(14);
    c.wait_seconds = q.i64(15);
    c.talk_seconds = q.i64(16);
    c.disposition = q.str(17);
    c.notes = q.str(18);
    for (auto& a : strings_from_json(q.str(19))) c.rang.emplace_back(std::move(a));
    if (auto p = q.opt_i64(20)) c.queue_position = static_cast<int>(*p);
    c.hold_seconds = q.i64(21);
    c.legs = legs_from_json(q.str(22));
    if (auto by = q.opt_str(23)) c.hangup_by = hangup_by_from_string(*by);
    c.hangup_extension = q.opt_strong<Extension>(24);
    return c;
}

// WHERE clause and its parameters in order, for list_calls and for_each_call.
struct CallQuery {
    std::string sql;
    std::vector<std::string> text_params;  // bound as text, in order of appearance
};

}  // namespace

struct SqliteStore::Impl {
    std::string path;
    int version = 0;
    /// Writes to the users table through this store (user_writes()).
    std::atomic<std::uint64_t> user_writes{0};
    /// Counts one users write when it is over, whether it succeeded or threw.
    struct UserWrite {
        Impl& m;
        ~UserWrite() { m.user_writes.fetch_add(1, std::memory_order_release); }
    };
    std::optional<SqliteStore::MigrationBackup> migration_backup;

    // WAL checkpoints copy pages into the database file and fsync it, which
    // can take tens of milliseconds. Left to SQLite (autocheckpoint) they run
    // inside whichever commit crosses the threshold, stalling the call
    // engine mid-call. A thread of its own does them instead, on its own
    // connection; PASSIVE never blocks writers or readers.
    std::thread checkpointer;
    std::mutex checkpoint_mutex;
    std::condition_variable checkpoint_cv;
    bool stopping = false;

    void run_checkpoints() {
        std::unique_ptr<SQLite::Database> db;
        try {
            db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX, busy_timeout_ms);
        } catch (const SQLite::Exception&) {
            // No connection of its own: let SQLite checkpoint in the writer's commits again.
            std::lock_guard wl(write_mutex);
            try {
                writer->db.exec("PRAGMA wal_autocheckpoint = 1000");
            } catch (const SQLite::Exception&) {
            }
            return;
        }
        std::unique_lock lk(checkpoint_mutex);
        while (!stopping) {
            checkpoint_cv.wait_for(lk, std::chrono::milliseconds(500));
            lk.unlock();
            try {
                db->exec("PRAGMA wal_checkpoint(PASSIVE)");
            } catch (const SQLite::Exception&) {
                // Busy or I/O trouble: the next round tries again; the WAL keeps the data.
            }
            if (hist_dirty.exchange(false) ||
                std::chrono::steady_clock::now() - hist_at > std::chrono::seconds(10)) {
                try {
                    ReadLease lease(*this);
                    refresh_histogram(*lease);
                } catch (const SQLite::Exception&) {
                    hist_dirty = true;  // try again next round
                }
            }
            lk.lock();
        }
        lk.unlock();
        try {
            db->exec("PRAGMA wal_checkpoint(TRUNCATE)");  // leave a compact file behind
        } catch (const SQLite::Exception&) {
        }
    }

    ~Impl() {
        {
            std::lock_guard lk(checkpoint_mutex);
            stopping = true;
        }
        checkpoint_cv.notify_all();
        if (upkeep.joinable()) upkeep.join();  // between batches: a batch is one short transaction
        if (checkpointer.joinable()) checkpointer.join();
    }

    std::mutex write_mutex;
    std::unique_ptr<Connection> writer;

    std::mutex pool_mutex;
    std::vector<std::unique_ptr<Connection>> idle_readers;

    std::unique_ptr<Connection> open_reader() {
        auto c = std::make_unique<Connection>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX);
        c->db.exec("PRAGMA query_only = ON; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL");
        // Reads map the file instead of copying each page through read():
        // a pop at a million customers touches about 20 pages scattered over
        // a file of a gigabyte or more, and the copies were most of its time.
        // Address space only; the OS page cache holds the pages either way.
        // SQLite caps the size at its build's limit (2 GB in Debian's), past
        // which pages are read as before.
        c->db.exec("PRAGMA mmap_size = " + std::to_string(reader_mmap_bytes));
        return c;
    }

    // A reader connection for the caller's scope, returned to the pool after.
    class ReadLease {
    public:
        explicit ReadLease(Impl& impl) : impl_(impl) {
            {
                std::lock_guard lk(impl_.pool_mutex);
                if (!impl_.idle_readers.empty()) {
                    c_ = std::move(impl_.idle_readers.back());
                    impl_.idle_readers.pop_back();
                }
            }
            if (!c_) c_ = impl_.open_reader();
        }
        ~ReadLease() {
            std::unique_ptr<Connection> drop;
            std::lock_guard lk(impl_.pool_mutex);
            if (impl_.idle_readers.size() < max_idle_readers)
                impl_.idle_readers.push_back(std::move(c_));
            else
                drop = std::move(c_);  // closed after the lock is released
        }
        ReadLease(const ReadLease&) = delete;
        ReadLease& operator=(const ReadLease&) = delete;
        Connection& operator*() { return *c_; }

    private:
        Impl& impl_;
        std::unique_ptr<Connection> c_;
    };

    // Runs f and turns SQLite's exceptions into StorageError naming the file.
    template <class F>
    auto guarded(const char* op, F&& f) -> decltype(f()) {
        try {
            return f();
        } catch (const StorageError&) {
            throw;
        } catch (const SQLite::Exception& e) {
            std::string msg = "storage: " + std::string(op) + " failed on " + path + ": " + e.what();
            if (is_unique_violation(e)) throw StorageConflict(msg);
            throw StorageError(msg);
        }
    }

    template <class F>
    auto read(const char* op, F&& f) {
        return guarded(op, [&] {
            ReadLease lease(*this);
            return f(*lease);
        });
    }

    // Writes hold the one writer connection. Score changes recorded during
    // the write (pending_moves) reach the histogram only when it returns
    // normally; a write that rolls back on purpose (a dry run) discards them.
    template <class F>
    auto write(const char* op, F&& f) {
        return guarded(op, [&] {
            std::lock_guard lk(write_mutex);
            pending_moves.clear();
            struct Settle {
                Impl& impl;
                bool done = false;
                ~Settle() {
                    if (done)
                        for (const auto& m : impl.pending_moves) impl.hist_adjust(m.before, m.after);
                    impl.pending_moves.clear();
                }
            } settle{*this};
            if constexpr (std::is_void_v<decltype(f(*writer))>) {
                f(*writer);
                settle.done = true;
            } else {
                auto r = f(*writer);
                settle.done = true;
                return r;
            }
        });
    }

    // ---- pieces shared by several methods; the caller holds the connection.

    std::vector<std::string> phones_of(Connection& c, std::int64_t customer_id) {
        static const std::string sql = "SELECT e164 FROM customer_phones WHERE customer_id = ? ORDER BY position";
        Query q(c, sql);
        q.bind(customer_id);
        std::vector<std::string> out;
        while (q.step()) out.push_back(q.str(0));
        return out;
    }

    /// Phones and their labels into the customer.
    void load_phones(Connection& c, Customer& cu) {
        static const std::string sql =
            "SELECT e164, label FROM customer_phones WHERE customer_id = ? ORDER BY position";
        Query q(c, sql);
        q.bind(cu.id);
        cu.phones.clear();
        cu.phone_labels.clear();
        while (q.step()) {
            cu.phones.push_back(q.str(0));
            cu.phone_labels.push_back(q.str(1));
        }
    }

    // value_score_histogram's cache: refreshed by the checkpointer thread, so
    // a pop never waits for the count.
    std::mutex hist_mutex;
    std::array<std::int64_t, 11> hist{};
    std::chrono::steady_clock::time_point hist_at{};
    std::atomic<bool> hist_dirty{true};

    void refresh_histogram(Connection& c) {
        std::array<std::int64_t, 11> h{};
        static const std::string sql =
            "SELECT value_score, count(*) FROM customers WHERE status = 'active' AND value_score IS NOT NULL "
            "GROUP BY value_score";
        Query q(c, sql);
        while (q.step()) {
            const auto s = q.i64(0);
            if (s >= 1 && s <= 10) h[static_cast<std::size_t>(s)] = q.i64(1);
        }
        std::lock_guard lk(hist_mutex);
        hist = h;
        hist_at = std::chrono::steady_clock::now();
    }
    /// Keeps the counts current between full refreshes: a customer's
    /// active score moved from `before` to `after` (nullopt: none, or not active).
    void hist_adjust(std::optional<std::int64_t> before, std::optional<std::int64_t> after) {
        if (before == after) return;
        std::lock_guard lk(hist_mutex);
        if (before && *before >= 1 && *before <= 10 && hist[static_cast<std::size_t>(*before)] > 0)
            --hist[static_cast<std::size_t>(*before)];
        if (after && *after >= 1 && *after <= 10) ++hist[static_cast<std::size_t>(*after)];
    }
    std::array<std::int64_t, 11> histogram() {
        std::lock_guard lk(hist_mutex);
        return hist;
    }

    // ---- computed value scores (compute_value_score in the core has the rule)

    /// An active customer's score went from before to after in the write
    /// under way (write_mutex held); the histogram follows when it succeeds.
    struct ScoreMove {
        std::optional<std::int64_t> before, after;
    };
    std::vector<ScoreMove> pending_moves;

    std::mutex ltv_mutex;
    std::array<std::int64_t, 3> ltv_quartiles{};

    /// Lifetime values at 25/50/75% among customers with one, read by offset
    /// from the partial index customers_lifetime_value.
    void refresh_lifetime_quartiles(Connection& c) {
        std::array<std::int64_t, 3> qs{};
        std::int64_t n = 0;
        {
            Query q(c, "SELECT count(*) FROM customers WHERE lifetime_value > 0");
            if (q.step()) n = q.i64(0);
        }
        for (std::size_t k = 0; k < 3 && n > 0; ++k) {
            Query q(c, "SELECT lifetime_value FROM customers WHERE lifetime_value > 0 ORDER BY lifetime_value "
                       "LIMIT 1 OFFSET ?");
            q.bind(n * static_cast<std::int64_t>(k + 1) / 4);
            if (q.step()) qs[k] = q.i64(0);
        }
        std::lock_guard lk(ltv_mutex);
        ltv_quartiles = qs;
    }
    std::array<std::int64_t, 3> lifetime_quartiles() {
        std::lock_guard lk(ltv_mutex);
        return ltv_quartiles;
    }

    /// A customer about to be inserted: without a score set by hand it gets
    /// the computed one, from what it brings (no interactions or issues yet).
    Customer with_initial_score(Customer cu, Timestamp now) {
        if (cu.value_score && !cu.value_score_computed) return cu;
        ValueInputs in;
        in.lifetime_value = cu.lifetime_value;
        in.lifetime_quartiles = lifetime_quartiles();
        in.customer_since = cu.customer_since.value_or(cu.created_at);
        cu.value_score = compute_value_score(in, now);
        cu.value_score_computed = true;
        return cu;
    }
    /// Inside the caller's write transaction: inserts with the initial score.
    std::int64_t insert_scored(Connection& c, const Customer& cu, Timestamp now);

    /// Inside the caller's write transaction: recomputes the customer's score
    /// from the stored history, unless a score was set by hand. Four indexed
    /// reads; the row is written only when the score changes.
    void rescore(Connection& c, std::int64_t id, Timestamp now) {
        ValueInputs in;
        std::optional<std::int64_t> score;
        bool active = false;
        {
            static const std::string sql =
                "SELECT value_score, value_score_computed, status, lifetime_value, coalesce(customer_since, created_at) "
                "FROM customers WHERE id = ?";
            Query q(c, sql);
            q.bind(id);
            if (!q.step()) return;
            score = q.opt_i64(0);
            if (score && q.i64(1) == 0) return;  // set by hand
            active = q.str(2) == "active";
            in.lifetime_value = q.opt_i64(3);
            in.customer_since = from_ms(q.i64(4));
        }
        in.lifetime_quartiles = lifetime_quartiles();
        {
            static const std::string sql =
                "SELECT at FROM interactions WHERE customer_id = ? ORDER BY at DESC LIMIT 1";
            Query q(c, sql);
            q.bind(id);
            if (q.step()) in.last_contact_at = from_ms(q.i64(0));
        }
        if (in.last_contact_at && now - *in.last_contact_at <= std::chrono::days(365)) {
            static const std::string sql =
                "SELECT count(*) FROM (SELECT 1 FROM interactions WHERE customer_id = ? AND at >= ? LIMIT 12)";
            Query q(c, sql);
            q.bind(id, now - std::chrono::days(365));
            if (q.step()) in.interactions_last_year = q.i64(0);
        }
        {
            static const std::string sql = "SELECT count(*) FROM issues WHERE customer_id = ? AND status = 'open'";
            Query q(c, sql);
            q.bind(id);
            if (q.step()) in.open_issues = q.i64(0);
        }
        const std::int64_t computed = compute_value_score(in, now);
        if (score == computed) return;
        static const std::string sql = "UPDATE customers SET value_score = ?, value_score_computed = 1 WHERE id = ?";
        Query(c, sql).bind(computed, id).exec();
        if (active) pending_moves.push_back({score, computed});
    }
    /// The customer of an issue, for rescore; nullopt if no such issue.
    std::optional<std::int64_t> issue_customer(Connection& c, std::int64_t issue_id) {
        static const std::string sql = "SELECT customer_id FROM issues WHERE id = ?";
        Query q(c, sql);
        q.bind(issue_id);
        if (!q.step()) return std::nullopt;
        return q.i64(0);
    }

    // ---- background upkeep: work too long for the open or a request,
    // done in batches on a thread of its own so writes interleave.
    std::thread upkeep;
    std::atomic<bool> names_ready{true};   // customer_names holds every customer's words
    std::mutex upkeep_mutex;
    std::condition_variable upkeep_cv;
    bool upkeep_settled = false;           // the jobs due at open are done

    std::optional<std::int64_t> meta(Connection& c, const char* key) {
        Query q(c, "SELECT value FROM store_meta WHERE key = ?");
        q.bind(std::string(key));
        if (!q.step()) return std::nullopt;
        return q.i64(0);
    }
    void set_meta(Connection& c, const char* key, std::optional<std::int64_t> v) {
        if (v) Query(c, "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
                   .bind(std::string(key), *v).exec();
        else Query(c, "DELETE FROM store_meta WHERE key = ?").bind(std::string(key)).exec();
    }
    bool stop_requested() {
        std::lock_guard lk(checkpoint_mutex);
        return stopping;
    }
    bool upkeep_wanted = false;  // under checkpoint_mutex: work was asked for
    void wake_upkeep() {
        {
            std::lock_guard lk(checkpoint_mutex);
            upkeep_wanted = true;
        }
        checkpoint_cv.notify_all();
    }
    /// Inside a write: the recount starts over from the first customer
    /// (an unfinished one restarts, since the quartiles changed under it).
    void start_recount(Connection& c) { set_meta(c, "value_sweep_from", 0); }
    std::int64_t last_customer_id(Connection& c) {
        Query q(c, "SELECT coalesce(max(id), 0) FROM customers");
        return q.step() ? q.i64(0) : 0;
    }
    /// One batch of the trigram fill; false when the index is complete.
    bool fill_names_batch();
    /// One batch of the daily recount of computed scores; false when none is due.
    bool sweep_scores_batch(Timestamp now);
    void run_upkeep();

    CustomerContext context_of(Connection& c, Customer customer) {
        CustomerContext ctx;
        load_phones(c, customer);
        {
            static const std::string sql = "SELECT count(*) FROM issues WHERE customer_id = ?";
            Query q(c, sql);
            q.bind(customer.id);
            if (q.step()) ctx.complaints = q.i64(0);
        }
        ctx.score_histogram = histogram();
        {
            static const std::string sql = "SELECT " + issue_columns +
                                           " FROM issues WHERE customer_id = ? AND status = 'open' "
                                           "ORDER BY opened_at DESC, id DESC LIMIT ?";
            Query q(c, sql);
            q.bind(customer.id, static_cast<std::int64_t>(recent_limit));
            while (q.step()) ctx.open_issues.push_back(read_issue(q));
        }
        {
            static const std::string sql = "SELECT " + interaction_columns +
                                           " FROM interactions WHERE customer_id = ? ORDER BY at DESC, id DESC LIMIT ?";
            Query q(c, sql);
            q.bind(customer.id, static_cast<std::int64_t>(recent_limit));
            while (q.step()) ctx.recent_interactions.push_back(read_interaction(q));
        }
        ctx.customer = std::move(customer);
        return ctx;
    }

    /// Customers stored before search terms existed (or by an older build)
    /// get theirs: folding is C++ (ICU), not SQL, so a migration cannot.
    void backfill_search_terms();

    /// Inside the caller's transaction. The caller rescores the customer
    /// (once per customer when it writes many interactions).
    std::int64_t upsert_interaction(Connection& c, const Interaction& i, const std::string& notes) {
        static const std::string sql =
                "INSERT INTO interactions (customer_id, at, channel, direction, summary, agent, call_id, status, "
                "disposition, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (call_id) WHERE call_id IS NOT NULL DO UPDATE SET "
                "customer_id = excluded.customer_id, at = excluded.at, channel = excluded.channel, "
                "direction = excluded.direction, summary = excluded.summary, agent = excluded.agent, "
                "status = excluded.status, "
                "disposition = CASE WHEN excluded.disposition <> '' THEN excluded.disposition "
                "ELSE interactions.disposition END, "
                "notes = CASE WHEN excluded.notes <> '' THEN excluded.notes ELSE interactions.notes END "
                "RETURNING id";
        Query q(c, sql);
        q.bind(i.customer_id, i.at, i.channel, i.direction, mask_card_numbers(i.summary), i.agent, i.call_id, i.status,
               i.disposition, mask_card_numbers(notes));
        if (!q.step()) throw StorageError("storage: interaction upsert returned no row on " + path);
        return q.i64(0);
    }

    /// A call of an erased customer is kept the way erase_customer left its
    /// records (the caller's number as erased_number, no caller name, no
    /// notes, history text blank): a call in progress at the erasure, or a
    /// note saved after it, brings nothing of the person back. One primary
    /// key lookup, only for calls linked to a customer.
    void keep_erased(Connection& c, const CallId& call, std::int64_t customer) {
        static const std::string erased = "EXISTS (SELECT 1 FROM customers WHERE id = ?3 AND erased_at IS NOT NULL)";
        static const std::string calls_sql =
            "UPDATE calls SET "
            "from_number = CASE WHEN direction = 'inbound' AND from_number <> '' THEN ?2 ELSE from_number END, "
            "from_raw = CASE WHEN direction = 'inbound' AND from_number <> '' THEN ?2 ELSE from_raw END, "
            "from_name = CASE WHEN direction = 'inbound' THEN '' ELSE from_name END, "
            "to_number = CASE WHEN direction = 'outbound' THEN ?2 ELSE to_number END, notes = '' "
            "WHERE id = ?1 AND customer_id = ?3 AND " + erased;
        if (Query(c, calls_sql).bind(call, erased_number(customer), customer).exec() == 0) return;
        static const std::string history_sql =
            "UPDATE interactions SET summary = '', notes = '' WHERE call_id = ?1 AND customer_id = ?3 AND " + erased;
        Query(c, history_sql).bind(call, erased_number(customer), customer).exec();
    }

    /// The calls row of a record. A new call is one INSERT. A stored one is
    /// read by its key and only the columns whose value changed are written:
    /// SQLite rewrites the entries of every index over a column named in an
    /// UPDATE's SET, changed or not, and calls has eleven indexes, so the
    /// whole-row upsert this replaces spent most of a call's write on index
    /// entries that stayed the same (bench/RESULTS.md, call_write_bench).
    /// Disposition and notes come from the agent, not the PBX: a record that
    /// carries none keeps what the agent already saved. The hang-up side is
    /// known once the call ended; a record without it keeps what is stored.
    /// A record that changes nothing (a ring that only added to call_rings)
    /// writes nothing: no index entry, no trigger.
    /// Returns whether the call was stored before.
    bool write_call_row(Connection& c, const CallRecord& r) {
        static constexpr std::array<const char*, 22> columns = {
            "pbx",          "direction",    "from_number", "from_raw",       "from_name",    "to_number",
            "customer_id",  "agent",        "extension",   "queue",          "status",       "started_at",
            "answered_at",  "ended_at",     "wait_seconds", "talk_seconds",  "disposition",  "notes",
            "queue_position", "hold_seconds", "hangup_by", "hangup_extension"};
        enum : std::size_t { disposition = 16, notes = 17, hangup_by = 20, hangup_extension = 21 };
        auto text = [](std::string v) { return Cell{std::move(v)}; };
        auto opt_text = [](const auto& v) { return v ? Cell{std::string(v->value())} : Cell{}; };
        auto opt_time = [](const std::optional<Timestamp>& t) { return t ? Cell{to_ms(*t)} : Cell{}; };
        std::array<Cell, columns.size()> want = {
            text(r.pbx.value()),
            text(std::string(to_string(r.direction))),
            text(r.from),
            text(r.from_raw),
            text(r.from_name),
            text(r.to),
            r.customer_id ? Cell{*r.customer_id} : Cell{},
            opt_text(r.agent),
            opt_text(r.extension),
            r.queue ? Cell{*r.queue} : Cell{},
            text(std::string(to_string(r.status))),
            Cell{to_ms(r.started_at)},
            opt_time(r.answered_at),
            opt_time(r.ended_at),
            Cell{r.wait_seconds},
            Cell{r.talk_seconds},
            text(r.disposition),
            text(mask_card_numbers(r.notes)),
            r.queue_position ? Cell{std::int64_t{*r.queue_position}} : Cell{},
            Cell{r.hold_seconds},
            r.hangup_by ? Cell{std::string(to_string(*r.hangup_by))} : Cell{},
            r.hangup_by ? opt_text(r.hangup_extension) : Cell{}};
        static const std::string select_sql = [] {
            std::string sql = "SELECT ";
            for (std::size_t i = 0; i < columns.size(); ++i) sql += std::string(i ? ", " : "") + columns[i];
            return sql + " FROM calls WHERE id = ?";
        }();
        std::array<Cell, columns.size()> have;
        bool stored = false;
        {
            Query q(c, select_sql);
            q.bind(r.id);
            if (q.step()) {
                stored = true;
                for (std::size_t i = 0; i < columns.size(); ++i) have[i] = q.cell(static_cast<int>(i));
            }
        }
        if (!stored) {
            static const std::string insert_sql = [] {
                std::string sql = "INSERT INTO calls (id", values = "?";
                for (const char* col : columns) sql += std::string(", ") + col, values += ", ?";
                return sql + ") VALUES (" + values + ")";
            }();
            Query q(c, insert_sql);
            q.bind_cell(1, Cell{r.id.value()});
            for (std::size_t i = 0; i < columns.size(); ++i) q.bind_cell(static_cast<int>(i) + 2, want[i]);
            q.exec();
            return false;
        }
        if (want[disposition] == Cell{std::string()}) want[disposition] = have[disposition];
        if (want[notes] == Cell{std::string()}) want[notes] = have[notes];
        if (std::holds_alternative<std::monostate>(want[hangup_by])) {
            want[hangup_by] = have[hangup_by];
            want[hangup_extension] = have[hangup_extension];
        }
        std::string sql;
        std::vector<std::size_t> changed;
        for (std::size_t i = 0; i < columns.size(); ++i) {
            if (want[i] == have[i]) continue;
            sql += std::string(changed.empty() ? "UPDATE calls SET " : ", ") + columns[i] + " = ?";
            changed.push_back(i);
        }
        if (changed.empty()) return true;
        // A handful of column sets recur (answer, transfer, end): each is
        // prepared once and kept in the connection's statement cache.
        Query q(c, sql + " WHERE id = ?");
        int p = 1;
        for (const auto i : changed) q.bind_cell(p++, want[i]);
        q.bind_cell(p, Cell{r.id.value()});
        q.exec();
        return true;
    }

    /// Whether the stored rings and legs of a call are the record's already
    /// (a write that only answered or ended the call, the usual case): one
    /// read each instead of a statement per position.
    bool rings_stored(Connection& c, const CallRecord& r) {
        static const std::string sql = "SELECT agent FROM call_rings WHERE call_id = ? ORDER BY position";
        Query q(c, sql);
        q.bind(r.id);
        std::size_t n = 0;
        while (q.step())
            if (n >= r.rang.size() || q.str(0) != r.rang[n++].value()) return false;
        return n == r.rang.size();
    }
    bool legs_stored(Connection& c, const CallRecord& r) {
        static const std::string sql =
            "SELECT agent, extension, rang_at, answered_at, ended_at, talk_seconds, transferred_by "
            "FROM call_legs WHERE call_id = ? ORDER BY position";
        auto opt_text = [](const std::optional<AgentId>& v) { return v ? Cell{v->value()} : Cell{}; };
        auto opt_time = [](const std::optional<Timestamp>& t) { return t ? Cell{to_ms(*t)} : Cell{}; };
        Query q(c, sql);
        q.bind(r.id);
        std::size_t n = 0;
        while (q.step()) {
            if (n >= r.legs.size()) return false;
            const auto& l = r.legs[n++];
            const std::array<Cell, 7> want = {opt_text(l.agent),       Cell{l.extension.value()},
                                              Cell{to_ms(l.rang_at)},  opt_time(l.answered_at),
                                              opt_time(l.ended_at),    Cell{l.talk_seconds},
                                              opt_text(l.transferred_by)};
            for (int i = 0; i < 7; ++i)
                if (q.cell(i) != want[static_cast<std::size_t>(i)]) return false;
        }
        return n == r.legs.size();
    }

    /// keep: apply keep_erased here (finish_call_in, which writes the
    /// history entry after this, applies it once at its end instead).
    void upsert_call(Connection& c, const CallRecord& r, bool keep = true) {
        if (r.merged_into) {
            Query(c, "DELETE FROM call_legs WHERE call_id = ?").bind(r.id).exec();
            Query(c, "DELETE FROM call_rings WHERE call_id = ?").bind(r.id).exec();
            Query(c, "DELETE FROM interactions WHERE call_id = ?").bind(r.id).exec();
            Query(c, "DELETE FROM calls WHERE id = ?").bind(r.id).exec();
            return;
        }
        const bool stored = write_call_row(c, r);
        // Rings and legs: nothing to do when they are stored as they are (a
        // new call has none stored). Otherwise each position is written only
        // when it differs from what is stored (a ring appends one agent; legs
        // come at the end), then positions past the record's list removed.
        // Same rows as delete-and-reinsert.
        if (stored ? !rings_stored(c, r) : !r.rang.empty()) write_rings(c, r);
        if (stored ? !legs_stored(c, r) : !r.legs.empty()) write_legs(c, r);
        if (keep && r.customer_id) keep_erased(c, r.id, *r.customer_id);
    }

    void write_rings(Connection& c, const CallRecord& r) {
        std::int64_t pos = 0;
        for (const auto& a : r.rang)
            Query(c,
                  "INSERT INTO call_rings (call_id, position, agent) VALUES (?, ?, ?) "
                  "ON CONFLICT (call_id, position) DO UPDATE SET agent = excluded.agent "
                  "WHERE call_rings.agent IS NOT excluded.agent")
                .bind(r.id, pos++, a)
                .exec();
        Query(c, "DELETE FROM call_rings WHERE call_id = ? AND position >= ?").bind(r.id, pos).exec();
    }

    void write_legs(Connection& c, const CallRecord& r) {
        std::int64_t pos = 0;
        for (const auto& l : r.legs)
            Query(c,
                  "INSERT INTO call_legs (call_id, position, agent, extension, rang_at, answered_at, ended_at, "
                  "talk_seconds, transferred_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT (call_id, position) DO UPDATE SET agent = excluded.agent, "
                  "extension = excluded.extension, rang_at = excluded.rang_at, answered_at = excluded.answered_at, "
                  "ended_at = excluded.ended_at, talk_seconds = excluded.talk_seconds, "
                  "transferred_by = excluded.transferred_by "
                  "WHERE call_legs.agent IS NOT excluded.agent OR call_legs.extension IS NOT excluded.extension "
                  "OR call_legs.rang_at IS NOT excluded.rang_at OR call_legs.answered_at IS NOT excluded.answered_at "
                  "OR call_legs.ended_at IS NOT excluded.ended_at "
                  "OR call_legs.talk_seconds IS NOT excluded.talk_seconds "
                  "OR call_legs.transferred_by IS NOT excluded.transferred_by")
                .bind(r.id, pos++, l.agent, l.extension, l.rang_at, l.answered_at, l.ended_at, l.talk_seconds,
                      l.transferred_by)
                .exec();
        Query(c, "DELETE FROM call_legs WHERE call_id = ? AND position >= ?").bind(r.id, pos).exec();
    }

    static const char* sort_column(CallFilter::Sort s) {
        switch (s) {
        case CallFilter::Sort::wait_seconds: return "wait_seconds";
        case CallFilter::Sort::talk_seconds: return "talk_seconds";
        case CallFilter::Sort::started_at: break;
        }
        return "started_at";
    }

    /// The trigram index answers texts of three characters (code points) or
    /// more; shorter ones have no trigram to look up.
    static bool text_indexable(std::string_view text) {
        std::size_t chars = 0;
        for (unsigned char ch : text)
            if ((ch & 0xC0) != 0x80) ++chars;
        return chars >= 3;
    }

    /// One FTS5 phrase: a substring for the trigram tokenizer; only '"' is
    /// special inside it (doubled).
    static std::string fts_phrase(const std::string& text) {
        std::string phrase = "\"";
        for (char ch : text) {
            if (ch == '"') phrase += '"';
            phrase += ch;
        }
        return phrase + "\"";
    }

    /// Whether the text index should drive a call-log query: at most 2,000
    /// calls hold the text (counted in the index alone, stopping there).
    static bool text_drives(Connection& c, const CallFilter& f) {
        if (!f.text || !text_indexable(*f.text)) return false;
        Query q(c, "SELECT count(*) FROM (SELECT 1 FROM calls_text WHERE calls_text MATCH ? LIMIT 2001)");
        q.bind(fts_phrase(*f.text));
        return q.step() && q.i64(0) <= 2000;
    }

    /// with_limit: LIMIT ?7 (the caller binds one more than a page to learn
    /// whether another follows). Numbered parameters: an absent filter
    /// leaves its number unused, and the SQL text (the statement cache key)
    /// depends only on which filters are present.
    static CallQuery build_call_query(const CallFilter& f, bool with_limit, bool by_text = false) {
        CallQuery cq;
        cq.sql = call_select + " WHERE 1 = 1";
        if (f.since) cq.sql += " AND started_at >= ?1";
        if (f.until) cq.sql += " AND started_at < ?2";
        if (f.agent) cq.sql += " AND agent = ?3";
        if (f.status) cq.sql += " AND status = ?4";
        if (f.customer_id) cq.sql += " AND customer_id = ?5";
        if (f.pbx) cq.sql += " AND pbx = ?6";
        if (f.phone) cq.sql += " AND (from_number = ?8 OR to_number = ?8)";
        if (f.direction) cq.sql += " AND direction = ?9";
        if (f.queue) cq.sql += " AND queue = ?10";
        // by_text (at most 2,000 calls hold the text, see text_drives()):
        // the trigram index (calls_text) names the calls, which are looked
        // up and sorted. Else the text is common (a page is found after a
        // short walk in the range/sort index) or too short for trigrams:
        // instr on lower() over the rows the other filters leave (no LIKE
        // wildcards to escape in what a user typed).
        if (f.text && by_text)
            cq.sql += " AND calls.rowid IN (SELECT rowid FROM calls_text WHERE calls_text MATCH ?11)";
        else if (f.text)
            cq.sql += " AND (instr(lower(notes), ?11) > 0 OR instr(lower(disposition), ?11) > 0)";
        const std::string col = sort_column(f.sort);
        const char* dir = f.ascending ? " ASC" : " DESC";
        // The plain bound first lets the planner seek the sort index; the
        // row value then excludes the boundary's earlier ties exactly.
        if (f.after)
            cq.sql += " AND " + col + (f.ascending ? " >= ?12" : " <= ?12") + " AND (" + col + ", id) " +
                      (f.ascending ? ">" : "<") + " (?12, ?13)";
        cq.sql += " ORDER BY " + col + dir + ", id" + dir;
        if (with_limit) cq.sql += " LIMIT ?7";
        return cq;
    }

    static void bind_call_filter(Query& q, const CallFilter& f, bool with_limit, std::size_t extra = 0,
                                 bool by_text = false) {
        auto& s = *q;
        if (f.since) s.bind(1, static_cast<int64_t>(to_ms(*f.since)));
        if (f.until) s.bind(2, static_cast<int64_t>(to_ms(*f.until)));
        if (f.agent) s.bind(3, f.agent->value());
        if (f.status) s.bind(4, std::string(to_string(*f.status)));
        if (f.customer_id) s.bind(5, static_cast<int64_t>(*f.customer_id));
        if (f.pbx) s.bind(6, f.pbx->value());
        if (with_limit) s.bind(7, static_cast<int64_t>(std::clamp<std::size_t>(f.limit, 1, 1000) + extra));
        if (f.phone) s.bind(8, *f.phone);
        if (f.direction) s.bind(9, std::string(to_string(*f.direction)));
        if (f.queue) s.bind(10, *f.queue);
        if (f.text && by_text) {
            s.bind(11, fts_phrase(*f.text));
        } else if (f.text) {
            std::string lower = *f.text;
            for (auto& ch : lower)
                if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
            s.bind(11, lower);
        }
        if (f.after) {
            s.bind(12, static_cast<int64_t>(f.after->value));
            s.bind(13, f.after->id);
        }
    }
};

SqliteStore::SqliteStore(const std::filesystem::path& file) : impl_(std::make_unique<Impl>()) {
    impl_->path = file.string();
    const std::string& path = impl_->path;
    try {
        if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    } catch (const std::filesystem::filesystem_error& e) {
        throw StorageError("database " + path + ": cannot create its directory: " + e.code().message());
    }
    try {
        impl_->writer = std::make_unique<Connection>(
            path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX);
        auto& db = impl_->writer->db;
        db.exec("PRAGMA foreign_keys = ON");
        // An upgrade keeps the file as it was first: a migration that goes
        // wrong (or a new build that must be rolled back) leaves a copy the
        // old binary opens. A new file, a foreign one (migrate refuses it)
        // and a current one are not copied.
        {
            const int app = db.execAndGet("PRAGMA application_id").getInt();
            const int before = storage_detail::stored_schema_version(db);
            if (app == storage_detail::application_id && before > 0 &&
                before < storage_detail::latest_schema_version()) {
                std::filesystem::path copy = path + ".pre-migration-v" + std::to_string(before) + "-" + file_stamp() + ".db";
                BackupOptions at_once;  // the open waits for the copy anyway: one step, no pauses
                at_once.pages_per_step = -1;
                at_once.pause = std::chrono::milliseconds(0);
                try {
                    backup_database(file, copy, at_once);
                } catch (const StorageError& e) {
                    throw StorageError("database " + path + ": not upgraded from schema version " +
                                       std::to_string(before) + ", its backup failed: " + e.what());
                }
                impl_->migration_backup = MigrationBackup{before, copy};
            }
        }
        // Identity and version are checked before anything is written, so a
        // foreign or newer file is left exactly as it was.
        impl_->version = storage_detail::migrate(db, path);
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("PRAGMA synchronous = NORMAL");
        // The writer's page cache (SQLite's default is 2 MB): imports and
        // bulk writes at a million customers touch index pages all over the
        // file, and re-reading them from the OS cost more than the inserts.
        db.exec("PRAGMA cache_size = -65536");  // KiB: 64 MB at most, only as used
        db.exec("PRAGMA wal_autocheckpoint = 0");  // see Impl::run_checkpoints
        impl_->backfill_search_terms();
        {
            Impl::ReadLease lease(*impl_);
            impl_->refresh_histogram(*lease);
            impl_->names_ready = !impl_->meta(*lease, "customer_names_fill_from");
            impl_->refresh_lifetime_quartiles(*lease);
        }
        impl_->checkpointer = std::thread([impl = impl_.get()] { impl->run_checkpoints(); });
        impl_->upkeep = std::thread([impl = impl_.get()] { impl->run_upkeep(); });
    } catch (const StorageError&) {
        throw;
    } catch (const SQLite::Exception& e) {
        throw StorageError("database " + path + ": cannot open: " + e.what());
    }
}

SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() const { return impl_->version; }

std::optional<SqliteStore::MigrationBackup> SqliteStore::pre_migration_backup() const {
    return impl_->migration_backup;
}

// ---- users and sessions

std::uint64_t SqliteStore::user_writes() const { return impl_->user_writes.load(std::memory_order_acquire); }

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

// ---- customers, issues, interactions

std::optional<CustomerContext> SqliteStore::customer_context_by_phone(const std::string& e164) {
    return impl_->read("customer_context_by_phone", [&](Connection& c) -> std::optional<CustomerContext> {
        Transaction tx(c, "BEGIN");  // one snapshot for the customer and its lists
        std::optional<Customer> customer;
        {
            // A number shared by several customers pops the newest of them:
            // numbers are reassigned, and the latest registration is the likely owner.
            static const std::string sql = "SELECT " + customer_columns +
                                           " FROM customer_phones p JOIN customers c ON c.id = p.customer_id "
                                           "WHERE p.e164 = ? AND c.status = 'active' "
                                           "ORDER BY p.customer_id DESC LIMIT 1";
            Query q(c, sql);
            q.bind(e164);
            if (q.step()) customer = read_customer(q);
        }
        if (!customer) return std::nullopt;
        auto ctx = impl_->context_of(c, std::move(*customer));
        tx.commit();
        return ctx;
    });
}

std::optional<CustomerContext> SqliteStore::customer_context(std::int64_t customer_id) {
    return impl_->read("customer_context", [&](Connection& c) -> std::optional<CustomerContext> {
        Transaction tx(c, "BEGIN");
        auto customer = customer_row(c, customer_id, true);
        if (!customer) return std::nullopt;
        auto ctx = impl_->context_of(c, std::move(*customer));
        tx.commit();
        return ctx;
    });
}

std::vector<Customer> SqliteStore::customers_by_phone(const std::string& e164) {
    return impl_->read("customers_by_phone", [&](Connection& c) {
        Transaction tx(c, "BEGIN");
        std::vector<Customer> out;
        {
            Query q(c, "SELECT " + customer_columns +
                           " FROM customer_phones p JOIN customers c ON c.id = p.customer_id "
                           "WHERE p.e164 = ? AND c.status = 'active' ORDER BY p.customer_id DESC");
            q.bind(e164);
            while (q.step()) out.push_back(read_customer(q));
        }
        for (auto& cu : out) impl_->load_phones(c, cu);
        tx.commit();
        return out;
    });
}

namespace {

void require_e164(const Customer& cu) {
    for (const auto& p : cu.phones)
        if (!is_e164(p)) throw std::invalid_argument("create_customer: phone is not E.164 (normalise it first)");
}

std::string lower_ascii(std::string s) {
    for (auto& ch : s)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return s;
}

/// The customer's folded words in the trigram index (customer_names), for
/// name search inside words; the caller has removed any earlier row.
void write_customer_words(Connection& c, std::int64_t id, const std::vector<std::string>& terms) {
    std::string words;
    for (const auto& t : terms) words += (words.empty() ? "" : " ") + t;
    Query(c, "INSERT INTO customer_names (rowid, words) VALUES (?, ?)").bind(id, words).exec();
}

/// Phones, search terms and labels of a customer row, rewritten whole.
void write_customer_children(Connection& c, std::int64_t id, const Customer& cu, bool fresh) {
    if (!fresh) {
        Query(c, "DELETE FROM customer_phones WHERE customer_id = ?").bind(id).exec();
        Query(c, "DELETE FROM customer_terms WHERE customer_id = ?").bind(id).exec();
        Query(c, "DELETE FROM customer_labels WHERE customer_id = ?").bind(id).exec();
        Query(c, "DELETE FROM customer_names WHERE rowid = ?").bind(id).exec();
    }
    std::int64_t pos = 0;
    for (std::size_t i = 0; i < cu.phones.size(); ++i) {
        const std::string label = i < cu.phone_labels.size() ? cu.phone_labels[i] : std::string();
        // The same number twice on one customer is stored once.
        Query(c, "INSERT OR IGNORE INTO customer_phones (e164, customer_id, label, position) VALUES (?, ?, ?, ?)")
            .bind(cu.phones[i], id, label, pos++)
            .exec();
    }
    const auto terms = search_terms(cu);
    for (const auto& t : terms)
        Query(c, "INSERT OR IGNORE INTO customer_terms (term, customer_id) VALUES (?, ?)").bind(t, id).exec();
    write_customer_words(c, id, terms);
    for (const auto& t : cu.tags)
        Query(c, "INSERT OR IGNORE INTO customer_labels (kind, label, customer_id) VALUES ('t', ?, ?)").bind(t, id).exec();
    for (const auto& g : cu.groups)
        Query(c, "INSERT OR IGNORE INTO customer_labels (kind, label, customer_id) VALUES ('g', ?, ?)").bind(g, id).exec();
}

/// Inside the caller's transaction.
std::int64_t insert_customer(Connection& c, const Customer& cu) {
    Query(c,
          "INSERT INTO customers (name, salutation, email, tier, tags, company, notes, language, created_at, "
          "birthday, groups, owner, kind, source_campaign, preferred_channel, contact_time, opt_outs, value_score, "
          "lifetime_value, customer_since, email_key, terms_version, value_score_computed) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)")
        .bind(cu.name, cu.salutation, cu.email, cu.tier, tags_to_json(cu.tags), cu.company,
              mask_card_numbers(cu.notes), cu.language, cu.created_at, cu.birthday, tags_to_json(cu.groups), cu.owner,
              cu.kind.empty() ? std::string("customer") : cu.kind, cu.source_campaign, cu.preferred_channel,
              cu.contact_time, tags_to_json(cu.opt_outs), cu.value_score, cu.lifetime_value, cu.customer_since,
              lower_ascii(cu.email), cu.value_score && cu.value_score_computed)
        .exec();
    const std::int64_t id = c.db.getLastInsertRowid();
    write_customer_children(c, id, cu, true);
    return id;
}

}  // namespace

std::int64_t SqliteStore::create_customer(const Customer& cu) {
    require_e164(cu);
    return impl_->write("create_customer", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const auto id = impl_->insert_scored(c, cu, now_ms());
        tx.commit();
        return id;
    });
}

std::vector<std::int64_t> SqliteStore::create_customers(const std::vector<Customer>& batch) {
    for (const auto& cu : batch) require_e164(cu);
    return impl_->write("create_customers", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        std::vector<std::int64_t> ids;
        ids.reserve(batch.size());
        const auto now = now_ms();
        for (const auto& cu : batch) ids.push_back(impl_->insert_scored(c, cu, now));
        tx.commit();
        return ids;
    });
}

std::int64_t SqliteStore::create_issue(const Issue& i) {
    return impl_->write("create_issue", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        Query(c,
              "INSERT INTO issues (customer_id, title, description, status, opened_at, resolved_at, priority, owner) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(i.customer_id, mask_card_numbers(i.title), mask_card_numbers(i.description), i.status, i.opened_at,
                  i.resolved_at, i.priority.empty() ? std::string("normal") : i.priority, i.owner)
            .exec();
        const auto id = static_cast<std::int64_t>(c.db.getLastInsertRowid());
        impl_->rescore(c, i.customer_id, now_ms());
        tx.commit();
        return id;
    });
}

std::optional<Issue> SqliteStore::find_issue(std::int64_t id) {
    return impl_->read("find_issue", [&](Connection& c) -> std::optional<Issue> {
        Query q(c, "SELECT " + issue_columns + " FROM issues WHERE id = ?");
        q.bind(id);
        if (!q.step()) return std::nullopt;
        return read_issue(q);
    });
}

bool SqliteStore::set_issue_status(std::int64_t id, const std::string& status, Timestamp at) {
    if (status != "open" && status != "resolved")
        throw std::invalid_argument("set_issue_status: status must be \"open\" or \"resolved\"");
    return impl_->write("set_issue_status", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        std::optional<Timestamp> resolved_at;
        if (status == "resolved") resolved_at = at;
        if (Query(c, "UPDATE issues SET status = ?, resolved_at = ? WHERE id = ?").bind(status, resolved_at, id).exec() == 0)
            return false;
        if (const auto customer = impl_->issue_customer(c, id)) impl_->rescore(c, *customer, now_ms());
        tx.commit();
        return true;
    });
}

std::int64_t SqliteStore::add_interaction(const Interaction& i) {
    return impl_->write("add_interaction", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const auto id = impl_->upsert_interaction(c, i, "");
        impl_->rescore(c, i.customer_id, now_ms());
        tx.commit();
        return id;
    });
}

std::size_t SqliteStore::customer_count() {
    return impl_->read("customer_count", [&](Connection& c) {
        Query q(c, "SELECT count(*) FROM customers WHERE status = 'active'");
        q.step();
        return static_cast<std::size_t>(q.i64(0));
    });
}

// ---- calls

void SqliteStore::upsert_call(const CallRecord& r) {
    impl_->write("upsert_call", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        impl_->upsert_call(c, r);
        tx.commit();
    });
}

namespace {

/// finish_call's body, inside the caller's transaction.
template <class Impl>
void finish_call_in(Impl& impl, Connection& c, const CallRecord& r, const std::optional<Interaction>& history) {
    impl.upsert_call(c, r, /*keep=*/ !history);  // with a history entry, keep_erased runs once below
    if (!history) return;
    Interaction h = *history;
    // The call id is the idempotency key: a history entry always names its call.
    h.call_id = r.id;
    std::string notes;
    {
        // An agent who closed the call before the PBX reported its end
        // already saved a disposition on the call row; carry it over.
        Query q(c, "SELECT disposition, notes FROM calls WHERE id = ?");
        q.bind(r.id);
        if (q.step()) {
            if (h.disposition.empty()) h.disposition = q.str(0);
            notes = q.str(1);
        }
    }
    impl.upsert_interaction(c, h, notes);
    impl.rescore(c, h.customer_id, now_ms());
    if (r.customer_id) impl.keep_erased(c, r.id, *r.customer_id);
}

}  // namespace

void SqliteStore::finish_call(const CallRecord& r, const std::optional<Interaction>& history) {
    impl_->write("finish_call", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        finish_call_in(*impl_, c, r, history);
        tx.commit();
    });
}

void SqliteStore::write_calls(const std::vector<CallWrite>& batch) {
    if (batch.empty()) return;
    impl_->write("write_calls", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        for (const auto& w : batch) {
            if (w.final) finish_call_in(*impl_, c, w.record, w.history);
            else impl_->upsert_call(c, w.record);
        }
        tx.commit();
    });
}

std::optional<CallRecord> SqliteStore::find_call(const CallId& id) {
    return impl_->read("find_call", [&](Connection& c) -> std::optional<CallRecord> {
        Query q(c, call_select + " WHERE id = ?");
        q.bind(id);
        if (!q.step()) return std::nullopt;
        return read_call(q);
    });
}

std::vector<CallRecord> SqliteStore::list_calls(const CallFilter& f) { return list_call_page(f).calls; }

void SqliteStore::for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) {
    impl_->read("for_each_call", [&](Connection& c) {
        // One statement stepped row by row: memory stays flat for any export,
        // and the read snapshot keeps the stream consistent while writers go on.
        const bool by_text = Impl::text_drives(c, f);
        auto cq = Impl::build_call_query(f, false, by_text);
        Query q(c, cq.sql);
        Impl::bind_call_filter(q, f, false, 0, by_text);
        while (q.step())
            if (!fn(read_call(q))) break;
    });
}

std::vector<CallRecord> SqliteStore::open_calls(const PbxId& pbx) {
    return impl_->read("open_calls", [&](Connection& c) {
        Query q(c, call_select +
                       " WHERE pbx = ? AND (status = 'ringing' OR (status = 'answered' AND ended_at IS NULL)) "
                       "ORDER BY started_at, id");
        q.bind(pbx);
        std::vector<CallRecord> out;
        while (q.step()) out.push_back(read_call(q));
        return out;
    });
}

bool SqliteStore::set_disposition(const CallId& id, const std::string& disposition, const std::string& notes) {
    return impl_->write("set_disposition", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const std::string masked = mask_card_numbers(notes);
        if (Query(c, "UPDATE calls SET disposition = ?, notes = ? WHERE id = ?").bind(disposition, masked, id).exec() ==
            0)
            return false;
        Query(c, "UPDATE interactions SET disposition = ?, notes = ? WHERE call_id = ?")
            .bind(disposition, masked, id)
            .exec();
        {
            Query q(c, "SELECT customer_id FROM calls WHERE id = ?");
            q.bind(id);
            if (q.step())
                if (auto customer = q.opt_i64(0)) impl_->keep_erased(c, id, *customer);
        }
        tx.commit();
        return true;
    });
}

// ---- audit trail

void SqliteStore::audit(const std::string& actor, const std::string& action, const std::string& detail,
                        Timestamp at) {
    impl_->write("audit", [&](Connection& c) {
        Query(c, "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)")
            .bind(at, actor, action, detail)
            .exec();
    });
}

// ---- supervisor call log and reports (issue 4)

namespace {

std::int64_t sort_value(const CallRecord& c, CallFilter::Sort s) {
    switch (s) {
    case CallFilter::Sort::wait_seconds: return c.wait_seconds;
    case CallFilter::Sort::talk_seconds: return c.talk_seconds;
    case CallFilter::Sort::started_at: break;
    }
    return to_ms(c.started_at);
}

}  // namespace

CallPage SqliteStore::list_call_page(const CallFilter& f) {
    return impl_->read("list_call_page", [&](Connection& c) {
        const bool by_text = Impl::text_drives(c, f);
        auto cq = Impl::build_call_query(f, true, by_text);
        Query q(c, cq.sql);
        Impl::bind_call_filter(q, f, true, 1, by_text);  // one more row says whether a next page exists
        const std::size_t page = std::clamp<std::size_t>(f.limit, 1, 1000);
        CallPage out;
        while (q.step()) {
            if (out.calls.size() == page) {
                const auto& last = out.calls.back();
                out.next = CallFilter::Cursor{sort_value(last, f.sort), last.id.value()};
                break;
            }
            out.calls.push_back(read_call(q));
        }
        return out;
    });
}

CallFigures SqliteStore::call_figures(Timestamp since, Timestamp until, int service_level_seconds) {
    return impl_->read("call_figures", [&](Connection& c) {
        // One range scan of the covering index calls_day_figures.
        Query q(c,
                "SELECT count(*), "
                "coalesce(sum(status = 'answered'), 0), "
                "coalesce(sum(status IN ('missed', 'busy', 'failed')), 0), "
                "coalesce(sum(status = 'abandoned'), 0), "
                "coalesce(sum(status = 'ringing'), 0), "
                "coalesce(avg(CASE WHEN status = 'answered' THEN wait_seconds END), 0), "
                "coalesce(avg(CASE WHEN status = 'answered' THEN talk_seconds END), 0), "
                "coalesce(sum(status = 'answered' AND wait_seconds <= ?3), 0) "
                "FROM calls INDEXED BY calls_day_figures "
                "WHERE started_at >= ?1 AND started_at < ?2 AND direction = 'inbound'");
        q.bind(since, until, static_cast<std::int64_t>(service_level_seconds));
        CallFigures fig;
        if (!q.step()) return fig;
        fig.offered = q.i64(0);
        fig.answered = q.i64(1);
        fig.missed = q.i64(2);
        fig.abandoned = q.i64(3);
        fig.ringing = q.i64(4);
        fig.average_wait_seconds = (*q).getColumn(5).getDouble();
        fig.average_talk_seconds = (*q).getColumn(6).getDouble();
        fig.answered_within = q.i64(7);
        const auto finished = fig.offered - fig.ringing;
        fig.service_level = finished > 0 ? static_cast<double>(fig.answered_within) / static_cast<double>(finished) : 1.0;
        return fig;
    });
}

CallReport SqliteStore::call_report(const ReportQuery& rq) {
    return impl_->read("call_report", [&](Connection& c) {
        CallReport rep;
        const std::int64_t off = static_cast<std::int64_t>(rq.utc_offset_minutes) * 60'000;
        const auto rows = static_cast<std::int64_t>(std::clamp<std::size_t>(rq.max_rows, 1, 1000));
        // Rollups (call_slots, call_agent_days) answer the whole slots / days
        // inside the range; the calls themselves the ragged ends. An offset
        // that is no multiple of 15 minutes does not fit the slots: all raw.
        const std::int64_t since_ms = to_ms(rq.since), until_ms = to_ms(rq.until);
        constexpr std::int64_t slot_ms = 900'000, day_ms = 86'400'000;
        const auto ceil_to = [](std::int64_t t, std::int64_t w) { return (t + w - 1) / w * w; };
        const bool slots_fit = off % slot_ms == 0 && since_ms >= 0;
        std::int64_t s_from = ceil_to(since_ms, slot_ms), s_to = until_ms / slot_ms * slot_ms;
        if (!slots_fit || s_from >= s_to) s_from = s_to = until_ms;
        auto buckets = [&](std::int64_t width, std::vector<CallReport::Bucket>& out) {
            std::map<std::int64_t, CallReport::Bucket> by_start;
            const auto add = [&](std::int64_t b, const std::string& st, std::int64_t n) {
                if (n <= 0) return;
                auto& bk = by_start.try_emplace(b, CallReport::Bucket{b, 0, 0, 0, 0}).first->second;
                if (st == "answered") bk.answered += n;
                else if (st == "missed") bk.missed += n;
                else if (st == "abandoned") bk.abandoned += n;
                else bk.other += n;
            };
            // Local boundaries: shift by the offset, floor to the width, shift back.
            const auto raw = [&](std::int64_t from, std::int64_t to) {
                if (from >= to) return;
                Query q(c,
                        "SELECT ((started_at + ?3) / ?4) * ?4 - ?3 AS b, status, count(*) "
                        "FROM calls INDEXED BY calls_day_figures WHERE started_at >= ?1 AND started_at < ?2 "
                        "GROUP BY b, status ORDER BY b");
                q.bind(from, to, off, width);
                while (q.step()) add(q.i64(0), q.str(1), q.i64(2));
            };
            raw(since_ms, s_from);
            if (s_from < s_to) {
                Query q(c,
                        "SELECT ((slot + ?3) / ?4) * ?4 - ?3 AS b, status, sum(calls) FROM call_slots "
                        "WHERE slot >= ?1 AND slot < ?2 AND calls > 0 GROUP BY b, status ORDER BY b");
                q.bind(s_from, s_to, off, width);
                while (q.step()) add(q.i64(0), q.str(1), q.i64(2));
            }
            raw(s_to, until_ms);
            for (auto& [b, bk] : by_start) out.push_back(bk);
        };
        buckets(3'600'000, rep.hourly);
        buckets(86'400'000, rep.daily);
        {
            std::int64_t d_from = ceil_to(since_ms, day_ms), d_to = until_ms / day_ms * day_ms;
            if (since_ms < 0 || d_from >= d_to) d_from = d_to = until_ms;
            std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_agent;  // answered, talk
            const auto raw = [&](std::int64_t from, std::int64_t to) {
                if (from >= to) return;
                Query q(c,
                        "SELECT agent, count(*), sum(talk_seconds) FROM calls INDEXED BY calls_day_figures "
                        "WHERE started_at >= ?1 AND started_at < ?2 AND status = 'answered' AND agent IS NOT NULL "
                        "GROUP BY agent");
                q.bind(from, to);
                while (q.step()) {
                    auto& a = by_agent[q.str(0)];
                    a.first += q.i64(1);
                    a.second += q.i64(2);
                }
            };
            raw(since_ms, d_from);
            if (d_from < d_to) {
                Query q(c,
                        "SELECT agent, sum(answered), sum(talk_seconds) FROM call_agent_days "
                        "WHERE day >= ?1 AND day < ?2 AND answered > 0 GROUP BY agent");
                q.bind(d_from, d_to);
                while (q.step()) {
                    auto& a = by_agent[q.str(0)];
                    a.first += q.i64(1);
                    a.second += q.i64(2);
                }
            }
            raw(d_to, until_ms);
            for (const auto& [agent, v] : by_agent) {
                if (v.first <= 0) continue;
                CallReport::AgentRow a;
                a.agent = agent;
                a.answered = v.first;
                a.talk_seconds = v.second;
                a.average_handle_seconds = static_cast<double>(a.talk_seconds) / static_cast<double>(a.answered);
                rep.agents.push_back(std::move(a));
            }
            // As the query ordered them: most answered first, then by name (bytes).
            std::stable_sort(rep.agents.begin(), rep.agents.end(), [](const auto& x, const auto& y) {
                return x.answered != y.answered ? x.answered > y.answered : x.agent < y.agent;
            });
            if (rep.agents.size() > static_cast<std::size_t>(rows)) rep.agents.resize(static_cast<std::size_t>(rows));
        }
        {
            Query q(c,
                    "SELECT from_number, count(*), max(started_at), max(customer_id) FROM calls "
                    "WHERE started_at >= ?1 AND started_at < ?2 AND direction = 'inbound' AND from_number <> '' "
                    "GROUP BY from_number HAVING count(*) >= 2 ORDER BY 2 DESC, 3 DESC LIMIT ?3");
            q.bind(rq.since, rq.until, rows);
            while (q.step()) {
                CallReport::RepeatCaller r;
                r.number = q.str(0);
                r.calls = q.i64(1);
                r.last_at = from_ms(q.i64(2));
                r.customer_id = q.opt_i64(3);
                rep.repeat_callers.push_back(std::move(r));
            }
        }
        {
            // Called back: a later answered call from the number, or any later
            // outbound call to it (both seeks on the number indexes).
            Query q(c, call_select +
                           " WHERE started_at >= ?1 AND started_at < ?2 AND direction = 'inbound' "
                           "AND status IN ('missed', 'abandoned') AND from_number <> '' "
                           "AND NOT EXISTS (SELECT 1 FROM calls b WHERE b.from_number = calls.from_number "
                           "AND b.started_at > calls.started_at AND b.status = 'answered') "
                           "AND NOT EXISTS (SELECT 1 FROM calls o WHERE o.to_number = calls.from_number "
                           "AND o.started_at > calls.started_at AND o.direction = 'outbound') "
                           "ORDER BY started_at DESC, id DESC LIMIT ?3");
            q.bind(rq.since, rq.until, rows);
            while (q.step()) rep.missed_not_called_back.push_back(read_call(q));
        }
        return rep;
    });
}

void SqliteStore::bulk_load_calls(const std::vector<CallRecord>& batch) {
    if (batch.empty()) return;
    impl_->write("bulk_load_calls", [&](Connection& c) {
        // A bulk load touches every index of calls, several keyed by phone
        // number in no useful order: a larger page cache for the writer
        // (256 MiB at most, allocated as used) keeps that off the disk.
        c.db.exec("PRAGMA cache_size = -262144");
        Transaction tx(c, "BEGIN IMMEDIATE");
        static const std::string sql =
            "INSERT INTO calls (id, pbx, direction, from_number, from_raw, from_name, to_number, customer_id, agent, "
            "extension, queue, status, started_at, answered_at, ended_at, wait_seconds, talk_seconds, disposition, "
            "notes, queue_position, hold_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        for (const auto& r : batch) {
            Query q(c, sql);
            q.bind(r.id, r.pbx, to_string(r.direction), r.from, r.from_raw, r.from_name, r.to, r.customer_id, r.agent,
                   r.extension, r.queue, to_string(r.status), r.started_at, r.answered_at, r.ended_at, r.wait_seconds,
                   r.talk_seconds, r.disposition, mask_card_numbers(r.notes), r.queue_position, r.hold_seconds);
            q.exec();
        }
        tx.commit();
    });
}

}  // namespace ringside

// ---------------------------------------------------------------- the customer file (issue 7)

namespace ringside {
namespace {

// Upper bound of a prefix range: 0xFF never occurs in UTF-8, so every text
// starting with the prefix sorts below prefix + "\xFF" (BINARY collation).
std::string prefix_end(const std::string& prefix) { return prefix + "\xFF"; }

// Characters, not bytes: the trigram index needs a word of 3 characters or more.
std::size_t utf8_chars(const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }));
}
constexpr std::size_t min_inside_word_chars = 3;

// A customer query as SQL: one index-backed driver (phone, email, name
// words, tag, group, or the table itself) and the other conditions as
// EXISTS/column tests. Parameters are all text or integers, bound in order.
struct BuiltQuery {
    std::string sql;
    std::vector<std::variant<std::string, std::int64_t>> params;
};

// trigram_ready: customer_names holds every customer (not while the
// background fill after its migration runs); until then words of any length
// match a word's start, as before the index existed.
// Filters few customers pass (rare_filters): their ids are read from the
// filter's own index first, instead of walking every customer newest first.
struct RareFilters {  // never set for a query that includes removed customers
    bool score = false;      // few active customers have a score in [min_score, max_score]
    bool contacted = false;  // few interactions since contacted_since
};

BuiltQuery build_customer_query(const CustomerQuery& q, bool with_limit, bool oldest_first, bool trigram_ready,
                                RareFilters rare = {}) {
    BuiltQuery b;
    std::string from, where = " WHERE 1 = 1";
    bool distinct = false;
    auto param = [&](auto v) { b.params.emplace_back(v); };
    std::vector<std::string> terms = q.terms;
    // The longest word narrows most: it drives, the others are checked per row.
    std::sort(terms.begin(), terms.end(), [](const auto& a, const auto& c) { return a.size() > c.size(); });
    // Words of 3 characters or more match anywhere inside a name's words
    // ("hmad" finds "Ahmadi"), through the trigram index; shorter ones match
    // the start of a word (a prefix range on customer_terms).
    std::vector<std::string> inside, prefixes;
    for (auto& t : terms)
        (trigram_ready && utf8_chars(t) >= min_inside_word_chars ? inside : prefixes).push_back(std::move(t));
    terms.clear();
    bool fts_driven = false;
    if (q.phone) {
        from = "customer_phones d JOIN customers c ON c.id = d.customer_id";
        where += " AND d.e164 = ?";
        param(*q.phone);
    } else if (q.email) {
        from = "customers c";
        where += " AND c.email_key = ? AND c.email_key <> ''";  // <> '': lets SQLite use the partial index customers_email_key
        param(lower_ascii(*q.email));
    } else if (!inside.empty()) {
        // Every long word as a phrase: the index answers them together, in
        // rowid (= customer id) order, so the LIMIT stops the walk early.
        from = "customer_names d JOIN customers c ON c.id = d.rowid";
        std::string match;
        for (const auto& t : inside) {
            std::string quoted;  // folded words hold no quotes; doubled anyway, as FTS5 wants
            for (char ch : t) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
            match += (match.empty() ? "\"" : " \"") + quoted + "\"";
        }
        where += " AND customer_names MATCH ?";
        param(match);
        inside.clear();
        fts_driven = true;
    } else if (!prefixes.empty()) {
        from = "customer_terms d JOIN customers c ON c.id = d.customer_id";
        where += " AND d.term >= ? AND d.term < ?";
        param(prefixes[0]);
        param(prefix_end(prefixes[0]));
        prefixes.erase(prefixes.begin());
        distinct = true;  // one customer may have two words with the prefix
    } else if (q.tag || q.group) {
        from = "customer_labels d JOIN customers c ON c.id = d.customer_id";
        where += " AND d.kind = ? AND d.label = ?";
        param(std::string(q.tag ? "t" : "g"));
        param(q.tag ? *q.tag : *q.group);
    } else {
        from = "customers c";
        if (rare.score) {
            // The ids in the score range, from the score index, as a sorted
            // list that SQLite walks in id order: no sort, and the limit
            // stops it after as many rows as it needs.
            where += " AND c.id IN (SELECT id FROM customers WHERE status = 'active' AND value_score >= ? "
                     "AND value_score <= ?)";
            param(static_cast<std::int64_t>(q.min_score.value_or(1)));
            param(static_cast<std::int64_t>(q.max_score.value_or(10)));
        } else if (rare.contacted && q.contacted_since) {
            where += " AND c.id IN (SELECT customer_id FROM interactions WHERE at >= ?)";  // interactions_at
            param(to_ms(*q.contacted_since));
        }
    }
    if (q.email && q.phone) {
        where += " AND c.email_key = ? AND c.email_key <> ''";  // <> '': lets SQLite use the partial index customers_email_key
        param(lower_ascii(*q.email));
    }
    // Words that did not drive are checked on the row's own few words.
    for (const auto& t : prefixes) {
        where += " AND EXISTS (SELECT 1 FROM customer_terms t WHERE t.customer_id = c.id AND t.term >= ? AND t.term < ?)";
        param(t);
        param(prefix_end(t));
    }
    for (const auto& t : inside) {
        where += " AND EXISTS (SELECT 1 FROM customer_terms t WHERE t.customer_id = c.id AND instr(t.term, ?) > 0)";
        param(t);
    }
    const bool label_driven = from.rfind("customer_labels", 0) == 0;
    if (q.tag && !(label_driven && !q.phone && !q.email && q.terms.empty())) {
        where += " AND EXISTS (SELECT 1 FROM customer_labels l WHERE l.customer_id = c.id AND l.kind = 't' AND l.label = ?)";
        param(*q.tag);
    }
    if (q.group && !(label_driven && !q.tag)) {
        where += " AND EXISTS (SELECT 1 FROM customer_labels l WHERE l.customer_id = c.id AND l.kind = 'g' AND l.label = ?)";
        param(*q.group);
    }
    if (q.tier) {
        where += " AND c.tier = ?";
        param(*q.tier);
    }
    if (q.owner) {
        where += " AND c.owner = ?";
        param(*q.owner);
    }
    if (q.kind) {
        where += " AND c.kind = ?";
        param(*q.kind);
    }
    if (q.min_score) {
        where += " AND c.value_score >= ?";
        param(static_cast<std::int64_t>(*q.min_score));
    }
    if (q.max_score) {
        where += " AND c.value_score <= ?";
        param(static_cast<std::int64_t>(*q.max_score));
    }
    if (q.min_lifetime_value) {
        where += " AND c.lifetime_value >= ?";
        param(*q.min_lifetime_value);
    }
    // Customers with issues are few beside all customers: a rowid IN list
    // from the issues' own indexes is looked up id by id, not scanned for.
    if (q.min_complaints) {
        where += " AND c.id IN (SELECT customer_id FROM issues GROUP BY customer_id HAVING count(*) >= ?)";
        param(*q.min_complaints);
    }
    if (q.with_open_issues) where += " AND c.id IN (SELECT customer_id FROM issues WHERE status = 'open')";
    if (q.contacted_since) {
        where += " AND EXISTS (SELECT 1 FROM interactions x WHERE x.customer_id = c.id AND x.at >= ?)";
        param(to_ms(*q.contacted_since));
    }
    if (q.not_contacted_since) {
        where += " AND NOT EXISTS (SELECT 1 FROM interactions x WHERE x.customer_id = c.id AND x.at >= ?)";
        param(to_ms(*q.not_contacted_since));
    }
    if (q.customer_before) {
        where += " AND coalesce(c.customer_since, c.created_at) < ?";
        param(to_ms(*q.customer_before));
    }
    if (!q.include_removed) where += " AND c.status = 'active'";
    b.sql = std::string("SELECT ") + (distinct ? "DISTINCT " : "") + customer_columns + " FROM " + from + where;
    // Label-driven: order by the label index's own customer_id, so SQLite
    // walks that index in order and stops at the limit instead of sorting
    // every customer with the tag (1M customers: ~1 s down to ~4 ms).
    const std::string order_col = label_driven ? "d.customer_id" : fts_driven ? "d.rowid" : "c.id";
    if (!distinct) b.sql += " ORDER BY " + order_col + (oldest_first ? "" : " DESC");
    if (with_limit) {
        b.sql += " LIMIT ?";
        param(static_cast<std::int64_t>(std::clamp<std::size_t>(q.limit, 1, 500)));
    }
    return b;
}

void bind_built(Query& q, const BuiltQuery& b) {
    int i = 1;
    for (const auto& p : b.params) {
        if (std::holds_alternative<std::string>(p)) (*q).bind(i++, std::get<std::string>(p));
        else (*q).bind(i++, static_cast<int64_t>(std::get<std::int64_t>(p)));
    }
}

/// Inside the caller's transaction: every field of the row from cu.
void update_customer_row(Connection& c, const Customer& cu, Timestamp at) {
    Query(c,
          "UPDATE customers SET name = ?, salutation = ?, email = ?, tier = ?, tags = ?, company = ?, notes = ?, "
          "language = ?, birthday = ?, groups = ?, owner = ?, kind = ?, source_campaign = ?, preferred_channel = ?, "
          "contact_time = ?, opt_outs = ?, value_score = ?, lifetime_value = ?, customer_since = ?, status = ?, "
          "removed_at = ?, removed_by = ?, removed_reason = ?, updated_at = ?, email_key = ?, terms_version = 1, "
          "value_score_computed = ? WHERE id = ?")
        .bind(cu.name, cu.salutation, cu.email, cu.tier, tags_to_json(cu.tags), cu.company, mask_card_numbers(cu.notes),
              cu.language, cu.birthday, tags_to_json(cu.groups), cu.owner, cu.kind, cu.source_campaign,
              cu.preferred_channel, cu.contact_time, tags_to_json(cu.opt_outs), cu.value_score, cu.lifetime_value,
              cu.customer_since, cu.status, cu.removed_at, cu.removed_by, mask_card_numbers(cu.removed_reason), at,
              lower_ascii(cu.email), cu.value_score && cu.value_score_computed, cu.id)
        .exec();
    write_customer_children(c, cu.id, cu, false);
}

void insert_audit(Connection& c, const std::string& actor, const std::string& action, const std::string& detail,
                  Timestamp at) {
    Query(c, "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)").bind(at, actor, action, detail).exec();
}

}  // namespace

void SqliteStore::Impl::backfill_search_terms() {
    guarded("backfill_search_terms", [&] {
        std::lock_guard lk(write_mutex);
        auto& c = *writer;
        for (;;) {
            std::vector<Customer> batch;
            {
                Query q(c, "SELECT id, name, company FROM customers WHERE terms_version IS NULL LIMIT 5000");
                while (q.step()) {
                    Customer cu;
                    cu.id = q.i64(0);
                    cu.name = q.str(1);
                    cu.company = q.str(2);
                    batch.push_back(std::move(cu));
                }
            }
            if (batch.empty()) return;
            Transaction tx(c, "BEGIN IMMEDIATE");
            for (const auto& cu : batch) {
                const auto terms = search_terms(cu);
                for (const auto& t : terms)
                    Query(c, "INSERT OR IGNORE INTO customer_terms (term, customer_id) VALUES (?, ?)").bind(t, cu.id).exec();
                Query(c, "DELETE FROM customer_names WHERE rowid = ?").bind(cu.id).exec();
                write_customer_words(c, cu.id, terms);
                Query(c, "UPDATE customers SET terms_version = 1 WHERE id = ?").bind(cu.id).exec();
            }
            tx.commit();
        }
    });
}

std::int64_t SqliteStore::Impl::insert_scored(Connection& c, const Customer& cu, Timestamp now) {
    const auto scored = with_initial_score(cu, now);
    const auto id = insert_customer(c, scored);
    if (scored.value_score) pending_moves.push_back({std::nullopt, *scored.value_score});
    return id;
}

bool SqliteStore::Impl::fill_names_batch() {
    constexpr std::int64_t batch = 20000;  // customers per transaction: ~0.2 s at most under the write lock
    return write("fill_customer_names", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const auto from = meta(c, "customer_names_fill_from");
        if (!from) {
            names_ready = true;
            return false;
        }
        // Customers written since the fill began are in the index already.
        Query(c, "INSERT INTO customer_names (rowid, words) "
                 "SELECT customer_id, group_concat(term, ' ') FROM customer_terms "
                 "WHERE customer_id >= ?1 AND customer_id < ?2 "
                 "AND customer_id NOT IN (SELECT rowid FROM customer_names WHERE rowid >= ?1 AND rowid < ?2) "
                 "GROUP BY customer_id")
            .bind(*from, *from + batch)
            .exec();
        const auto last = last_customer_id(c);
        const bool done = *from + batch > last;
        set_meta(c, "customer_names_fill_from", done ? std::nullopt : std::optional<std::int64_t>(*from + batch));
        tx.commit();
        if (done) names_ready = true;
        return !done;
    });
}

bool SqliteStore::Impl::sweep_scores_batch(Timestamp now) {
    constexpr std::int64_t batch = 2000;  // ids per transaction: at most a few hundred ms under the write lock
    return write("sweep_value_scores", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        auto from = meta(c, "value_sweep_from");
        if (!from) {
            const auto at = meta(c, "value_sweep_at");
            if (at && now - from_ms(*at) < std::chrono::hours(24)) return false;
            from = 0;
        }
        if (*from == 0) refresh_lifetime_quartiles(c);  // every score of the recount compares with the same ones
        std::vector<std::int64_t> ids;
        {
            // A bounded id range: a file of scores set by hand is walked in
            // short steps too, never in one long scan under the lock.
            Query q(c, "SELECT id FROM customers WHERE id > ? AND id <= ? AND status = 'active' "
                       "AND (value_score_computed = 1 OR value_score IS NULL)");
            q.bind(*from, *from + batch);
            while (q.step()) ids.push_back(q.i64(0));
        }
        for (const auto id : ids) rescore(c, id, now);
        const auto last = last_customer_id(c);
        const bool done = *from + batch >= last;
        set_meta(c, "value_sweep_from", done ? std::nullopt : std::optional<std::int64_t>(*from + batch));
        if (done) set_meta(c, "value_sweep_at", to_ms(now));
        tx.commit();
        return true;
    });
}

// The upkeep thread: first the trigram fill left by a migration, then the
// daily recount of computed scores (recency ages without any write), then
// a look every 10 minutes (or when asked) at whether a recount is due. Each
// batch is its own short write; a pause between batches lets calls and edits
// in. Failures are retried at the next round: the work is idempotent and
// resumable.
void SqliteStore::Impl::run_upkeep() {
    // Waits up to d, less when work is asked for (wake_upkeep). nullopt when
    // the store is closing, else whether work was asked for.
    auto pause = [&](auto d) -> std::optional<bool> {
        std::unique_lock lk(checkpoint_mutex);
        checkpoint_cv.wait_for(lk, d, [&] { return stopping || upkeep_wanted; });
        if (stopping) return std::nullopt;
        return std::exchange(upkeep_wanted, false);
    };
    auto settle = [&] {
        std::lock_guard lk(upkeep_mutex);
        upkeep_settled = true;
        upkeep_cv.notify_all();
    };
    for (;;) {
        try {
            while (!stop_requested() && fill_names_batch()) pause(std::chrono::milliseconds(5));
            bool swept = false;
            while (!stop_requested() && sweep_scores_batch(now_ms())) {
                swept = true;
                pause(std::chrono::milliseconds(5));
            }
            if (swept) hist_dirty = true;
        } catch (const StorageError&) {
            // Busy or I/O trouble: the next round resumes where this one stopped.
        }
        settle();
        if (!pause(std::chrono::minutes(10))) return;
        // Asked for work (an import's batches ask one after another): start
        // once the asking has paused for a moment, not between batches.
        for (;;) {
            const auto asked = pause(std::chrono::seconds(2));
            if (!asked) return;
            if (!*asked) break;
        }
        try {
            ReadLease lease(*this);
            refresh_lifetime_quartiles(*lease);
        } catch (const SQLite::Exception&) {
        }
    }
}

void SqliteStore::wait_for_upkeep() {
    std::unique_lock lk(impl_->upkeep_mutex);
    impl_->upkeep_cv.wait(lk, [&] { return impl_->upkeep_settled; });
}

std::optional<Customer> SqliteStore::find_customer(std::int64_t id) {
    return impl_->read("find_customer", [&](Connection& c) -> std::optional<Customer> {
        Transaction tx(c, "BEGIN");
        auto out = customer_row(c, id);
        if (out) impl_->load_phones(c, *out);
        tx.commit();
        return out;
    });
}

bool SqliteStore::update_customer(const Customer& after, const std::string& actor, const std::string& action,
                                  const std::string& detail, Timestamp at) {
    for (const auto& p : after.phones)
        if (!is_e164(p)) throw std::invalid_argument("update_customer: phone is not E.164 (normalise it first)");
    return impl_->write("update_customer", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        std::optional<std::int64_t> before_score;
        {
            Query q(c, "SELECT value_score, status, erased_at IS NOT NULL FROM customers WHERE id = ?");
            q.bind(after.id);
            if (!q.step() || q.i64(2) != 0) return false;
            if (q.str(1) == "active") before_score = q.opt_i64(0);
        }
        update_customer_row(c, after, at);
        // A score handed back to Ringside (none set by hand) follows the
        // history again, and a computed one follows a new lifetime value.
        if (!after.value_score || after.value_score_computed) impl_->rescore(c, after.id, now_ms());
        insert_audit(c, actor, action, detail, at);
        std::optional<std::int64_t> after_score;
        {
            Query q(c, "SELECT value_score, status FROM customers WHERE id = ?");
            q.bind(after.id);
            if (q.step() && q.str(1) == "active") after_score = q.opt_i64(0);
        }
        tx.commit();
        impl_->pending_moves = {{before_score, after_score}};  // the whole edit's move, rescore's included
        return true;
    });
}

std::int64_t SqliteStore::create_customer_audited(const Customer& cu, const std::string& actor,
                                                  const std::string& detail, Timestamp at) {
    require_e164(cu);
    const auto id = impl_->write("create_customer_audited", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const auto new_id = impl_->insert_scored(c, cu, now_ms());
        auto d = nlohmann::json::parse(detail, nullptr, false);
        if (!d.is_object()) d = nlohmann::json::object();
        d["id"] = new_id;
        insert_audit(c, actor, "customer.create", d.dump(), at);
        tx.commit();
        return new_id;
    });
    return id;
}

namespace {

/// Which of the query's filters at most 20,000 rows pass, by bounded counts
/// on their indexes (at most that many entries read). A common filter is
/// better walked newest first, stopping at the limit; a rare (or empty) one
/// would make that walk read every customer.
RareFilters rare_filters(Connection& c, const CustomerQuery& q) {
    constexpr std::int64_t rare = 20000;
    RareFilters out;
    if (q.include_removed) return out;
    if (q.min_score || q.max_score) {
        static const std::string sql =
            "SELECT count(*) FROM (SELECT 1 FROM customers WHERE status = 'active' AND value_score >= ? "
            "AND value_score <= ? LIMIT ?)";
        Query count(c, sql);
        count.bind(static_cast<std::int64_t>(q.min_score.value_or(1)),
                   static_cast<std::int64_t>(q.max_score.value_or(10)), rare + 1);
        out.score = count.step() && count.i64(0) <= rare;
    }
    if (q.contacted_since && !out.score) {
        static const std::string sql = "SELECT count(*) FROM (SELECT 1 FROM interactions WHERE at >= ? LIMIT ?)";
        Query count(c, sql);
        count.bind(to_ms(*q.contacted_since), rare + 1);
        out.contacted = count.step() && count.i64(0) <= rare;
    }
    return out;
}

}  // namespace

std::vector<Customer> SqliteStore::search_customers(const CustomerQuery& cq) {
    return impl_->read("search_customers", [&](Connection& c) {
        Transaction tx(c, "BEGIN");
        const auto b = build_customer_query(cq, true, false, impl_->names_ready, rare_filters(c, cq));
        std::vector<Customer> out;
        {
            Query q(c, b.sql);
            bind_built(q, b);
            while (q.step()) out.push_back(read_customer(q));
        }
        for (auto& cu : out) impl_->load_phones(c, cu);
        tx.commit();
        return out;
    });
}

void SqliteStore::for_each_customer(const CustomerQuery& cq, const std::function<bool(const Customer&)>& fn) {
    impl_->read("for_each_customer", [&](Connection& c) {
        Transaction tx(c, "BEGIN");
        const auto b = build_customer_query(cq, false, true, impl_->names_ready);
        Query q(c, b.sql);
        bind_built(q, b);
        while (q.step()) {
            auto cu = read_customer(q);
            impl_->load_phones(c, cu);
            if (!fn(cu)) break;
        }
    });
}

std::vector<ImportMatch> SqliteStore::import_customers(const std::vector<Customer>& batch, bool dry_run,
                                                       const std::string& actor, Timestamp at) {
    for (const auto& cu : batch) require_e164(cu);
    auto out = impl_->write("import_customers", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const auto now = now_ms();
        std::vector<ImportMatch> res;
        res.reserve(batch.size());
        for (const auto& cu : batch) {
            ImportMatch m;
            for (const auto& p : cu.phones) {
                Query q(c, "SELECT p.customer_id FROM customer_phones p WHERE p.e164 = ? ORDER BY p.customer_id LIMIT 1");
                q.bind(p);
                if (q.step()) {
                    m.customer_id = q.i64(0);
                    m.matched_on = "phone";
                    break;
                }
            }
            if (!m.customer_id && !cu.email.empty()) {
                Query q(c, "SELECT id FROM customers WHERE email_key = ? AND email_key <> '' ORDER BY id LIMIT 1");
                q.bind(lower_ascii(cu.email));
                if (q.step()) {
                    m.customer_id = q.i64(0);
                    m.matched_on = "email";
                }
            }
            if (!m.customer_id) {
                m.created = true;
                m.customer_id = impl_->insert_scored(c, cu, now);
                insert_audit(c, actor, "customer.create",
                             nlohmann::json{{"id", m.customer_id}, {"via", "import"}}.dump(), at);
                if (dry_run) m.customer_id = 0;
            }
            res.push_back(std::move(m));
        }
        const bool values = std::any_of(batch.begin(), batch.end(), [](const Customer& cu) { return cu.lifetime_value; });
        if (values && !dry_run) impl_->start_recount(c);  // new lifetime values move the quartiles
        if (!dry_run) tx.commit();  // a dry run rolls back in ~Transaction
        else impl_->pending_moves.clear();
        return res;
    });
    if (!dry_run) impl_->wake_upkeep();
    return out;
}

std::vector<ImportRowResult> SqliteStore::import_orders(const std::vector<OrderRow>& batch, bool dry_run,
                                                       const std::string& actor, Timestamp at) {
    auto out = impl_->write("import_orders", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        std::vector<ImportRowResult> res;
        std::map<std::int64_t, std::optional<std::int64_t>> touched;  // customer -> lifetime value before
        for (const auto& o : batch) {
            ImportRowResult r{o.row, "rejected", "", std::nullopt};
            std::optional<std::int64_t> customer;
            if (o.customer_id) {
                Query q(c, "SELECT id FROM customers WHERE id = ?");
                q.bind(*o.customer_id);
                if (q.step()) customer = q.i64(0);
            } else if (!o.phone.empty()) {
                Query q(c, "SELECT p.customer_id FROM customer_phones p JOIN customers cu ON cu.id = p.customer_id "
                           "WHERE p.e164 = ? AND cu.status = 'active' ORDER BY p.customer_id DESC LIMIT 1");
                q.bind(o.phone);
                if (q.step()) customer = q.i64(0);
            } else {
                Query q(c, "SELECT id FROM customers WHERE email_key = ? AND email_key <> '' AND status = 'active' ORDER BY id DESC LIMIT 1");
                q.bind(lower_ascii(o.email));
                if (q.step()) customer = q.i64(0);
            }
            if (!customer) {
                r.reason = "no such customer";
                res.push_back(std::move(r));
                continue;
            }
            r.customer_id = customer;
            if (!touched.count(*customer)) {
                Query q(c, "SELECT lifetime_value FROM customers WHERE id = ?");
                q.bind(*customer);
                q.step();
                touched[*customer] = q.opt_i64(0);
            }
            Query ins(c, "INSERT INTO orders (order_ref, customer_id, amount, at) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (order_ref) DO NOTHING");
            ins.bind(o.order_ref, *customer, o.amount, o.at);
            if (ins.exec() > 0) {
                r.status = "imported";
            } else {
                r.status = "already_present";
                r.reason = "order already imported";
            }
            res.push_back(std::move(r));
        }
        for (const auto& [id, before] : touched) {
            Query(c, "UPDATE customers SET lifetime_value = (SELECT sum(amount) FROM orders WHERE customer_id = ?), "
                     "updated_at = ? WHERE id = ?")
                .bind(id, at, id)
                .exec();
            Query q(c, "SELECT lifetime_value FROM customers WHERE id = ?");
            q.bind(id);
            q.step();
            const auto after = q.opt_i64(0);
            if (after != before) {
                auto js = [](const std::optional<std::int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
                insert_audit(c, actor, "customer.update",
                             nlohmann::json{{"id", id},
                                            {"via", "orders import"},
                                            {"changes", {{"lifetime_value", {{"before", js(before)}, {"after", js(after)}}}}}}
                                 .dump(),
                             at);
            }
        }
        // The money part of computed scores compares with everybody's
        // lifetime values: new orders move the quartiles first.
        if (!touched.empty() && !dry_run) impl_->refresh_lifetime_quartiles(c);
        const auto now = now_ms();
        for (const auto& [id, before] : touched) impl_->rescore(c, id, now);
        if (!touched.empty() && !dry_run) impl_->start_recount(c);  // the others' money part moved too
        if (!dry_run) tx.commit();
        else impl_->pending_moves.clear();
        return res;
    });
    if (!dry_run) impl_->wake_upkeep();
    return out;
}

void SqliteStore::add_interactions(const std::vector<Interaction>& batch) {
    if (batch.empty()) return;
    impl_->write("add_interactions", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        std::set<std::int64_t> customers;
        for (const auto& i : batch) {
            impl_->upsert_interaction(c, i, "");
            customers.insert(i.customer_id);
        }
        const auto now = now_ms();
        for (const auto id : customers) impl_->rescore(c, id, now);
        tx.commit();
    });
}

std::vector<Interaction> SqliteStore::customer_timeline(std::int64_t customer_id, std::optional<Timestamp> before,
                                                        std::size_t limit) {
    return impl_->read("customer_timeline", [&](Connection& c) {
        Query q(c, "SELECT " + interaction_columns +
                       " FROM interactions WHERE customer_id = ? AND at < ? ORDER BY at DESC, id DESC LIMIT ?");
        q.bind(customer_id, before ? to_ms(*before) : std::numeric_limits<std::int64_t>::max(),
               static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, 200)));
        std::vector<Interaction> out;
        while (q.step()) out.push_back(read_interaction(q));
        return out;
    });
}

std::vector<Issue> SqliteStore::customer_issues(std::int64_t customer_id) {
    return impl_->read("customer_issues", [&](Connection& c) {
        Query q(c, "SELECT " + issue_columns + " FROM issues WHERE customer_id = ? ORDER BY opened_at DESC, id DESC");
        q.bind(customer_id);
        std::vector<Issue> out;
        while (q.step()) out.push_back(read_issue(q));
        return out;
    });
}

bool SqliteStore::update_issue(const Issue& i, const std::vector<IssueChange>& changes) {
    return impl_->write("update_issue", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        if (Query(c,
                  "UPDATE issues SET title = ?, description = ?, status = ?, resolved_at = ?, priority = ?, owner = ? "
                  "WHERE id = ?")
                .bind(mask_card_numbers(i.title), mask_card_numbers(i.description), i.status, i.resolved_at,
                      i.priority, i.owner, i.id)
                .exec() == 0)
            return false;
        for (const auto& ch : changes)
            Query(c, "INSERT INTO issue_changes (issue_id, at, actor, field, before, after) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(i.id, ch.at, ch.actor, ch.field, mask_card_numbers(ch.before), mask_card_numbers(ch.after))
                .exec();
        if (const auto customer = impl_->issue_customer(c, i.id)) impl_->rescore(c, *customer, now_ms());
        tx.commit();
        return true;
    });
}

namespace {
std::vector<IssueChange> read_issue_history(Connection& c, std::int64_t issue_id) {
    Query q(c, "SELECT at, actor, field, before, after FROM issue_changes WHERE issue_id = ? ORDER BY at, id");
    q.bind(issue_id);
    std::vector<IssueChange> out;
    while (q.step()) out.push_back({from_ms(q.i64(0)), q.str(1), q.str(2), q.str(3), q.str(4)});
    return out;
}

/// One customer's audit entries, newest first: a seek on audit_log_customer
/// (the expression and the GLOB are the index's own).
std::vector<AuditEntry> read_customer_audit(Connection& c, std::int64_t customer_id, std::int64_t before_id,
                                            std::int64_t limit) {
    static const std::string sql =
        "SELECT id, at, actor, action, detail FROM audit_log WHERE action GLOB 'customer*' "
        "AND (CASE WHEN json_valid(detail) THEN json_extract(detail, '$.id') END) = ? AND id < ? "
        "ORDER BY id DESC LIMIT ?";
    Query q(c, sql);
    q.bind(customer_id, before_id, limit);
    std::vector<AuditEntry> out;
    while (q.step()) out.push_back(AuditEntry{q.i64(0), from_ms(q.i64(1)), q.str(2), q.str(3), q.str(4)});
    return out;
}
}  // namespace

std::vector<IssueChange> SqliteStore::issue_history(std::int64_t issue_id) {
    return impl_->read("issue_history", [&](Connection& c) { return read_issue_history(c, issue_id); });
}

void SqliteStore::for_each_issue(const std::function<bool(const Issue&)>& fn) {
    impl_->read("for_each_issue", [&](Connection& c) {
        Query q(c, "SELECT " + issue_columns + " FROM issues ORDER BY id");
        while (q.step())
            if (!fn(read_issue(q))) break;
    });
}

std::array<std::int64_t, 11> SqliteStore::value_score_histogram() { return impl_->histogram(); }

void SqliteStore::recount_value_scores() {
    impl_->write("recount_value_scores", [&](Connection& c) { impl_->start_recount(c); });
    impl_->wake_upkeep();
}

std::vector<AuditEntry> SqliteStore::list_customer_audit(std::optional<std::int64_t> customer_id,
                                                         std::optional<std::int64_t> before_id, std::size_t limit) {
    return impl_->read("list_customer_audit", [&](Connection& c) {
        // One customer: read_customer_audit. All: newest first by id, skipping others.
        static const std::string all =
            "SELECT id, at, actor, action, detail FROM audit_log "
            "WHERE (action GLOB 'customer*' OR action = 'issues.export') AND id < ? ORDER BY id DESC LIMIT ?";
        const auto before = before_id.value_or(std::numeric_limits<std::int64_t>::max());
        const auto n = static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, 500));
        if (customer_id) return read_customer_audit(c, *customer_id, before, n);
        Query q(c, all);
        q.bind(before, n);
        std::vector<AuditEntry> out;
        while (q.step()) out.push_back(AuditEntry{q.i64(0), from_ms(q.i64(1)), q.str(2), q.str(3), q.str(4)});
        return out;
    });
}

// ---- administration (admin page)

std::vector<AuditEntry> SqliteStore::list_audit(std::optional<std::int64_t> before_id, std::size_t limit) {
    return impl_->read("list_audit", [&](Connection& c) {
        Query q(c, "SELECT id, at, actor, action, detail FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?");
        q.bind(before_id.value_or(std::numeric_limits<std::int64_t>::max()), static_cast<std::int64_t>(limit));
        std::vector<AuditEntry> out;
        while (q.step()) out.push_back(AuditEntry{q.i64(0), from_ms(q.i64(1)), q.str(2), q.str(3), q.str(4)});
        return out;
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

std::vector<StoredPbx> SqliteStore::list_pbx() {
    return impl_->read("list_pbx", [&](Connection& c) {
        Query q(c, "SELECT id, type, settings, enabled, created_at, created_by FROM pbx_connections ORDER BY created_at, id");
        std::vector<StoredPbx> out;
        while (q.step()) out.push_back(StoredPbx{q.str(0), q.str(1), q.str(2), q.i64(3) != 0, from_ms(q.i64(4)), q.str(5)});
        return out;
    });
}

void SqliteStore::create_pbx(const StoredPbx& p) {
    try {
        impl_->write("create_pbx", [&](Connection& c) {
            Query(c, "INSERT INTO pbx_connections (id, type, settings, enabled, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(p.id, p.type, p.settings, p.enabled, p.created_at, p.created_by)
                .exec();
        });
    } catch (const StorageConflict&) {
        throw StorageConflict("PBX id '" + p.id + "' is taken");
    }
}

bool SqliteStore::set_pbx_enabled(const std::string& id, bool enabled) {
    return impl_->write("set_pbx_enabled", [&](Connection& c) {
        return Query(c, "UPDATE pbx_connections SET enabled = ? WHERE id = ?").bind(enabled, id).exec() > 0;
    });
}

bool SqliteStore::update_pbx(const std::string& id, const std::string& settings, bool enabled) {
    return impl_->write("update_pbx", [&](Connection& c) {
        return Query(c, "UPDATE pbx_connections SET settings = ?, enabled = ? WHERE id = ?")
                   .bind(settings, enabled, id)
                   .exec() > 0;
    });
}

bool SqliteStore::remove_pbx(const std::string& id) {
    return impl_->write("remove_pbx", [&](Connection& c) {
        return Query(c, "DELETE FROM pbx_connections WHERE id = ?").bind(id).exec() > 0;
    });
}

// ---- a customer's data on request, retention, directory users (issue 16)

std::optional<CustomerData> SqliteStore::customer_data(std::int64_t id) {
    return impl_->read("customer_data", [&](Connection& c) -> std::optional<CustomerData> {
        Transaction tx(c, "BEGIN");  // one snapshot for the whole file
        auto customer = customer_row(c, id);
        if (!customer) return std::nullopt;
        CustomerData d;
        d.customer = std::move(*customer);
        impl_->load_phones(c, d.customer);
        {
            Query q(c, "SELECT " + issue_columns + " FROM issues WHERE customer_id = ? ORDER BY opened_at DESC, id DESC");
            q.bind(id);
            while (q.step()) d.issues.push_back({read_issue(q), {}});
        }
        for (auto& i : d.issues) i.history = read_issue_history(c, i.issue.id);
        {
            Query q(c, "SELECT " + interaction_columns +
                           " FROM interactions WHERE customer_id = ? ORDER BY at DESC, id DESC");
            q.bind(id);
            while (q.step()) {
                auto i = read_interaction(q);
                i.summary = q.str(5);  // the notes apart, as stored
                d.interactions.push_back(std::move(i));
                d.interaction_notes.push_back(q.str(10));
            }
        }
        {
            // Calls linked to the customer, and calls from or to one of their
            // numbers made before they were known (or unmatched).
            static const std::string sql =
                call_select +
                " WHERE customer_id = ?1 OR from_number IN (SELECT e164 FROM customer_phones WHERE customer_id = ?1) "
                "OR to_number IN (SELECT e164 FROM customer_phones WHERE customer_id = ?1) "
                "ORDER BY started_at DESC, id DESC";
            Query q(c, sql);
            q.bind(id);
            while (q.step()) d.calls.push_back(read_call(q));
        }
        for (std::int64_t before = std::numeric_limits<std::int64_t>::max();;) {
            auto page = read_customer_audit(c, id, before, 500);
            if (page.empty()) break;
            before = page.back().id;
            for (auto& e : page) d.audit.push_back(std::move(e));
        }
        tx.commit();
        return d;
    });
}

std::optional<EraseReport> SqliteStore::erase_customer(std::int64_t id, const std::string& actor,
                                                       const std::string& reason, Timestamp at) {
    return impl_->write("erase_customer", [&](Connection& c) -> std::optional<EraseReport> {
        Transaction tx(c, "BEGIN IMMEDIATE");
        auto before = customer_row(c, id);
        if (!before) return std::nullopt;
        EraseReport r;
        // Numbers first, while customer_phones still holds them. SET reads
        // the row as it was, so every CASE sees the old numbers.
        static const std::string phones = "(SELECT e164 FROM customer_phones WHERE customer_id = ?1)";
        static const std::string from_theirs =
            "(from_number IN " + phones + " OR (customer_id = ?1 AND direction = 'inbound' AND from_number <> ''))";
        static const std::string calls_sql =
            "UPDATE calls SET from_number = CASE WHEN " + from_theirs + " THEN ?2 ELSE from_number END, "
            "from_raw = CASE WHEN " + from_theirs + " THEN ?2 ELSE from_raw END, "
            "from_name = CASE WHEN " + from_theirs + " THEN '' ELSE from_name END, "
            "to_number = CASE WHEN to_number IN " + phones +
            " OR (customer_id = ?1 AND direction = 'outbound') THEN ?2 ELSE to_number END, "
            "notes = '' WHERE customer_id = ?1 OR from_number IN " + phones + " OR to_number IN " + phones;
        r.calls = Query(c, calls_sql).bind(id, erased_number(id)).exec();
        r.interactions = Query(c, "UPDATE interactions SET summary = '', notes = '' WHERE customer_id = ?").bind(id).exec();
        Query(c,
              "DELETE FROM issue_changes WHERE field IN ('title', 'description', 'created') "
              "AND issue_id IN (SELECT id FROM issues WHERE customer_id = ?)")
            .bind(id)
            .exec();
        r.issues = Query(c, "UPDATE issues SET title = ?, description = '' WHERE customer_id = ?")
                       .bind(std::string(erased_name), id)
                       .exec();
        // The audit trail keeps who did what when, without the values.
        r.audit_entries =
            Query(c,
                  "UPDATE audit_log SET detail = json_object('id', ?1, 'erased', json('true')) "
                  "WHERE action GLOB 'customer*' AND action <> 'customer.erase' "
                  "AND (CASE WHEN json_valid(detail) THEN json_extract(detail, '$.id') END) = ?1 "
                  "AND json_extract(detail, '$.erased') IS NOT 1")
                .bind(id)
                .exec();
        const auto after = erased_customer(*before, actor, reason, at);
        update_customer_row(c, after, at);  // also drops its numbers, search words and labels
        Query(c, "UPDATE customers SET erased_at = coalesce(erased_at, ?) WHERE id = ?").bind(at, id).exec();
        insert_audit(c, actor, "customer.erase",
                     nlohmann::json{{"id", id},
                                    {"reason", mask_card_numbers(reason)},
                                    {"calls", r.calls},
                                    {"interactions", r.interactions},
                                    {"issues", r.issues},
                                    {"audit_entries", r.audit_entries}}
                         .dump(),
                     at);
        std::optional<std::int64_t> before_score;
        if (before->status == "active" && before->value_score) before_score = *before->value_score;
        tx.commit();
        if (before->status == "active") impl_->pending_moves = {{before_score, std::nullopt}};
        return r;
    });
}

RetentionReport SqliteStore::apply_retention(const RetentionCutoffs& cut, Timestamp now) {
    // Short transactions of a few thousand rows each: the call engine's
    // writes wait for one batch at most, never for the whole run.
    constexpr std::int64_t batch = 2000;
    auto drain = [&](const char* op, auto&& one_batch) {
        std::int64_t total = 0;
        for (;;) {
            const std::int64_t n = impl_->write(op, [&](Connection& c) {
                Transaction tx(c, "BEGIN IMMEDIATE");
                const std::int64_t done = one_batch(c);
                tx.commit();
                return done;
            });
            total += n;
            if (n < batch) return total;
        }
    };
    RetentionReport r;
    if (cut.call_notes_before) {
        const auto before = *cut.call_notes_before;
        r.call_notes_blanked = drain("apply_retention", [&](Connection& c) -> std::int64_t {
            return Query(c,
                         "UPDATE calls SET notes = '' WHERE rowid IN "
                         "(SELECT rowid FROM calls WHERE started_at < ? AND notes <> '' LIMIT ?)")
                .bind(before, batch)
                .exec();
        });
        drain("apply_retention", [&](Connection& c) -> std::int64_t {
            return Query(c,
                         "UPDATE interactions SET notes = '' WHERE id IN "
                         "(SELECT id FROM interactions WHERE at < ? AND call_id IS NOT NULL AND notes <> '' LIMIT ?)")
                .bind(before, batch)
                .exec();
        });
    }
    if (cut.call_records_before) {
        const auto before = *cut.call_records_before;
        r.call_records_deleted = drain("apply_retention", [&](Connection& c) -> std::int64_t {
            return Query(c, "DELETE FROM calls WHERE rowid IN (SELECT rowid FROM calls WHERE started_at < ? LIMIT ?)")
                .bind(before, batch)
                .exec();
        });
    }
    if (cut.audit_before) {
        const auto before = *cut.audit_before;
        r.audit_entries_deleted = drain("apply_retention", [&](Connection& c) -> std::int64_t {
            // The trigger lets entries older than this key go, only while it is set.
            Query(c, "INSERT OR REPLACE INTO store_meta (key, value) VALUES ('audit_retention_before', ?)")
                .bind(before)
                .exec();
            const std::int64_t n =
                Query(c, "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ?)")
                    .bind(before, batch)
                    .exec();
            Query(c, "DELETE FROM store_meta WHERE key = 'audit_retention_before'").exec();
            return n;
        });
    }
    nlohmann::json detail = {{"call_notes_blanked", r.call_notes_blanked},
                             {"call_records_deleted", r.call_records_deleted},
                             {"audit_entries_deleted", r.audit_entries_deleted}};
    if (cut.call_notes_before) detail["call_notes_before"] = format_iso(*cut.call_notes_before);
    if (cut.call_records_before) detail["call_records_before"] = format_iso(*cut.call_records_before);
    if (cut.audit_before) detail["audit_before"] = format_iso(*cut.audit_before);
    audit("system", "retention.apply", detail.dump(), now);
    return r;
}

RetentionReport SqliteStore::preview_retention(const RetentionCutoffs& cut) {
    return impl_->read("preview_retention", [&](Connection& c) {
        Transaction tx(c, "BEGIN");  // one snapshot for the three counts
        RetentionReport r;
        auto count = [&](const char* sql, Timestamp before) {
            Query q(c, sql);
            q.bind(before);
            return q.step() ? q.i64(0) : std::int64_t{0};
        };
        // The same rows apply_retention's batches pick.
        if (cut.call_notes_before)
            r.call_notes_blanked = count("SELECT count(*) FROM calls WHERE started_at < ? AND notes <> ''", *cut.call_notes_before);
        if (cut.call_records_before)
            r.call_records_deleted = count("SELECT count(*) FROM calls WHERE started_at < ?", *cut.call_records_before);
        if (cut.audit_before)
            r.audit_entries_deleted = count("SELECT count(*) FROM audit_log WHERE at < ?", *cut.audit_before);
        tx.commit();
        return r;
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
