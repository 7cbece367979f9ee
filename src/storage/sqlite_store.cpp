#include "ringside/storage/sqlite_store.hpp"

#include <algorithm>
#include <limits>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "migrations.hpp"
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
    "c.id, c.name, c.salutation, c.email, c.tier, c.tags, c.company, c.notes, c.language, c.created_at";

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
    return c;
}

const std::string issue_columns = "id, customer_id, title, description, status, opened_at, resolved_at";

Issue read_issue(const Query& q) {
    Issue i;
    i.id = q.i64(0);
    i.customer_id = q.i64(1);
    i.title = q.str(2);
    i.description = q.str(3);
    i.status = q.str(4);
    i.opened_at = from_ms(q.i64(5));
    i.resolved_at = q.opt_time(6);
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
    "l.transferred_by)) FROM call_legs l WHERE l.call_id = calls.id) "
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
            lk.lock();
        }
        lk.unlock();
        try {
            db->exec("PRAGMA wal_checkpoint(TRUNCATE)");  // leave a compact file behind
        } catch (const SQLite::Exception&) {
        }
    }

    ~Impl() {
        if (checkpointer.joinable()) {
            {
                std::lock_guard lk(checkpoint_mutex);
                stopping = true;
            }
            checkpoint_cv.notify_all();
            checkpointer.join();
        }
    }

    std::mutex write_mutex;
    std::unique_ptr<Connection> writer;

    std::mutex pool_mutex;
    std::vector<std::unique_ptr<Connection>> idle_readers;

    std::unique_ptr<Connection> open_reader() {
        auto c = std::make_unique<Connection>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX);
        c->db.exec("PRAGMA query_only = ON; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL");
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

    template <class F>
    auto write(const char* op, F&& f) {
        return guarded(op, [&] {
            std::lock_guard lk(write_mutex);
            return f(*writer);
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

    CustomerContext context_of(Connection& c, Customer customer) {
        CustomerContext ctx;
        customer.phones = phones_of(c, customer.id);
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

    std::int64_t upsert_interaction(Connection& c, const Interaction& i, const std::string& notes) {
        Query q(c,
                "INSERT INTO interactions (customer_id, at, channel, direction, summary, agent, call_id, status, "
                "disposition, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (call_id) WHERE call_id IS NOT NULL DO UPDATE SET "
                "customer_id = excluded.customer_id, at = excluded.at, channel = excluded.channel, "
                "direction = excluded.direction, summary = excluded.summary, agent = excluded.agent, "
                "status = excluded.status, "
                "disposition = CASE WHEN excluded.disposition <> '' THEN excluded.disposition "
                "ELSE interactions.disposition END, "
                "notes = CASE WHEN excluded.notes <> '' THEN excluded.notes ELSE interactions.notes END "
                "RETURNING id");
        q.bind(i.customer_id, i.at, i.channel, i.direction, mask_card_numbers(i.summary), i.agent, i.call_id, i.status,
               i.disposition, mask_card_numbers(notes));
        if (!q.step()) throw StorageError("storage: interaction upsert returned no row on " + path);
        return q.i64(0);
    }

    void upsert_call(Connection& c, const CallRecord& r) {
        if (r.merged_into) {
            Query(c, "DELETE FROM call_legs WHERE call_id = ?").bind(r.id).exec();
            Query(c, "DELETE FROM call_rings WHERE call_id = ?").bind(r.id).exec();
            Query(c, "DELETE FROM interactions WHERE call_id = ?").bind(r.id).exec();
            Query(c, "DELETE FROM calls WHERE id = ?").bind(r.id).exec();
            return;
        }
        {
            // Disposition and notes come from the agent, not the PBX: an engine
            // update that carries none keeps what the agent already saved.
            Query q(c,
                    "INSERT INTO calls (id, pbx, direction, from_number, from_raw, from_name, to_number, customer_id, "
                    "agent, extension, queue, status, started_at, answered_at, ended_at, wait_seconds, talk_seconds, "
                    "disposition, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET pbx = excluded.pbx, direction = excluded.direction, "
                    "from_number = excluded.from_number, from_raw = excluded.from_raw, "
                    "from_name = excluded.from_name, to_number = excluded.to_number, "
                    "customer_id = excluded.customer_id, agent = excluded.agent, extension = excluded.extension, "
                    "queue = excluded.queue, status = excluded.status, started_at = excluded.started_at, "
                    "answered_at = excluded.answered_at, ended_at = excluded.ended_at, "
                    "wait_seconds = excluded.wait_seconds, talk_seconds = excluded.talk_seconds, "
                    "disposition = CASE WHEN excluded.disposition <> '' THEN excluded.disposition "
                    "ELSE calls.disposition END, "
                    "notes = CASE WHEN excluded.notes <> '' THEN excluded.notes ELSE calls.notes END");
            q.bind(r.id, r.pbx, to_string(r.direction), r.from, r.from_raw, r.from_name, r.to, r.customer_id, r.agent,
                   r.extension, r.queue, to_string(r.status), r.started_at, r.answered_at, r.ended_at, r.wait_seconds,
                   r.talk_seconds, r.disposition, mask_card_numbers(r.notes));
            q.exec();
        }
        Query(c, "DELETE FROM call_rings WHERE call_id = ?").bind(r.id).exec();
        std::int64_t pos = 0;
        for (const auto& a : r.rang)
            Query(c, "INSERT INTO call_rings (call_id, position, agent) VALUES (?, ?, ?)").bind(r.id, pos++, a).exec();
        Query(c, "UPDATE calls SET queue_position = ?, hold_seconds = ? WHERE id = ?")
            .bind(r.queue_position, r.hold_seconds, r.id)
            .exec();
        Query(c, "DELETE FROM call_legs WHERE call_id = ?").bind(r.id).exec();
        pos = 0;
        for (const auto& l : r.legs)
            Query(c,
                  "INSERT INTO call_legs (call_id, position, agent, extension, rang_at, answered_at, ended_at, "
                  "talk_seconds, transferred_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(r.id, pos++, l.agent, l.extension, l.rang_at, l.answered_at, l.ended_at, l.talk_seconds,
                      l.transferred_by)
                .exec();
    }

    static CallQuery build_call_query(const CallFilter& f, bool with_limit) {
        CallQuery cq;
        cq.sql = call_select + " WHERE 1 = 1";
        if (f.since) cq.sql += " AND started_at >= ?1";
        if (f.until) cq.sql += " AND started_at < ?2";
        if (f.agent) cq.sql += " AND agent = ?3";
        if (f.status) cq.sql += " AND status = ?4";
        if (f.customer_id) cq.sql += " AND customer_id = ?5";
        if (f.pbx) cq.sql += " AND pbx = ?6";
        if (f.phone) cq.sql += " AND (from_number = ?8 OR to_number = ?8)";
        cq.sql += " ORDER BY started_at DESC, id DESC";
        if (with_limit) cq.sql += " LIMIT ?7";
        return cq;
    }

    static void bind_call_filter(Query& q, const CallFilter& f, bool with_limit) {
        auto& s = *q;
        // Numbered parameters: an absent filter leaves its number unused.
        if (f.since) s.bind(1, static_cast<int64_t>(to_ms(*f.since)));
        if (f.until) s.bind(2, static_cast<int64_t>(to_ms(*f.until)));
        if (f.agent) s.bind(3, f.agent->value());
        if (f.status) s.bind(4, std::string(to_string(*f.status)));
        if (f.customer_id) s.bind(5, static_cast<int64_t>(*f.customer_id));
        if (f.pbx) s.bind(6, f.pbx->value());
        if (with_limit) s.bind(7, static_cast<int64_t>(std::clamp<std::size_t>(f.limit, 1, 1000)));
        if (f.phone) s.bind(8, *f.phone);
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
        // Identity and version are checked before anything is written, so a
        // foreign or newer file is left exactly as it was.
        impl_->version = storage_detail::migrate(db, path);
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("PRAGMA synchronous = NORMAL");
        db.exec("PRAGMA wal_autocheckpoint = 0");  // see Impl::run_checkpoints
        impl_->checkpointer = std::thread([impl = impl_.get()] { impl->run_checkpoints(); });
    } catch (const StorageError&) {
        throw;
    } catch (const SQLite::Exception& e) {
        throw StorageError("database " + path + ": cannot open: " + e.what());
    }
}

SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() const { return impl_->version; }

// ---- users and sessions

std::int64_t SqliteStore::create_user(const User& u, const std::string& password_hash) {
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
        Query q(c, "SELECT " + user_columns + ", password_hash FROM users WHERE username = ?");
        q.bind(username);
        if (!q.step()) return std::nullopt;
        return StoredCredentials{read_user(q), q.str(6)};
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
        std::optional<Customer> customer;
        {
            Query q(c, "SELECT " + customer_columns + " FROM customers c WHERE c.id = ? AND c.status = 'active'");
            q.bind(customer_id);
            if (q.step()) customer = read_customer(q);
        }
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
        for (auto& cu : out) cu.phones = impl_->phones_of(c, cu.id);
        tx.commit();
        return out;
    });
}

namespace {

void require_e164(const Customer& cu) {
    for (const auto& p : cu.phones)
        if (!is_e164(p)) throw std::invalid_argument("create_customer: phone is not E.164 (normalise it first)");
}

/// Inside the caller's transaction.
std::int64_t insert_customer(Connection& c, const Customer& cu) {
    Query(c,
          "INSERT INTO customers (name, salutation, email, tier, tags, company, notes, language, created_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(cu.name, cu.salutation, cu.email, cu.tier, tags_to_json(cu.tags), cu.company, cu.notes, cu.language,
              cu.created_at)
        .exec();
    const std::int64_t id = c.db.getLastInsertRowid();
    std::int64_t pos = 0;
    for (const auto& p : cu.phones)
        // The same number twice on one customer is stored once.
        Query(c, "INSERT OR IGNORE INTO customer_phones (e164, customer_id, position) VALUES (?, ?, ?)")
            .bind(p, id, pos++)
            .exec();
    return id;
}

}  // namespace

std::int64_t SqliteStore::create_customer(const Customer& cu) {
    require_e164(cu);
    return impl_->write("create_customer", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const auto id = insert_customer(c, cu);
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
        for (const auto& cu : batch) ids.push_back(insert_customer(c, cu));
        tx.commit();
        return ids;
    });
}

std::int64_t SqliteStore::create_issue(const Issue& i) {
    return impl_->write("create_issue", [&](Connection& c) {
        Query(c,
              "INSERT INTO issues (customer_id, title, description, status, opened_at, resolved_at) "
              "VALUES (?, ?, ?, ?, ?, ?)")
            .bind(i.customer_id, i.title, i.description, i.status, i.opened_at, i.resolved_at)
            .exec();
        return static_cast<std::int64_t>(c.db.getLastInsertRowid());
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
        std::optional<Timestamp> resolved_at;
        if (status == "resolved") resolved_at = at;
        return Query(c, "UPDATE issues SET status = ?, resolved_at = ? WHERE id = ?")
                   .bind(status, resolved_at, id)
                   .exec() > 0;
    });
}

std::int64_t SqliteStore::add_interaction(const Interaction& i) {
    return impl_->write("add_interaction", [&](Connection& c) { return impl_->upsert_interaction(c, i, ""); });
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
    impl.upsert_call(c, r);
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

std::vector<CallRecord> SqliteStore::list_calls(const CallFilter& f) {
    return impl_->read("list_calls", [&](Connection& c) {
        auto cq = Impl::build_call_query(f, true);
        Query q(c, cq.sql);
        Impl::bind_call_filter(q, f, true);
        std::vector<CallRecord> out;
        while (q.step()) out.push_back(read_call(q));
        return out;
    });
}

void SqliteStore::for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) {
    impl_->read("for_each_call", [&](Connection& c) {
        // One statement stepped row by row: memory stays flat for any export,
        // and the read snapshot keeps the stream consistent while writers go on.
        auto cq = Impl::build_call_query(f, false);
        Query q(c, cq.sql);
        Impl::bind_call_filter(q, f, false);
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
        if (ch.password_hash)
            Query(c, "UPDATE users SET password_hash = ? WHERE username = ?").bind(*ch.password_hash, username).exec();
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

}  // namespace ringside
