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

    // ---- supervisor call log (issue 4)
    std::optional<Direction> direction;
    std::optional<std::string> queue;      // exact queue name
    std::optional<std::string> text;       // substring of notes or disposition, case-insensitive for ASCII
    /// Sort key, newest/largest first unless ascending. Every order ends
    /// with id so that a page boundary is exact.
    enum class Sort { started_at, wait_seconds, talk_seconds };
    Sort sort = Sort::started_at;
    bool ascending = false;
    /// Keyset paging: only calls strictly after this (sort value, id) in the
    /// chosen order. Taken from CallPage::next; never an OFFSET.
    struct Cursor {
        std::int64_t value = 0;            // the sort column (started_at in ms, or seconds)
        std::string id;
    };
    std::optional<Cursor> after;
};

/// One page of list_call_page: the calls and where the next page starts.
struct CallPage {
    std::vector<CallRecord> calls;
    std::optional<CallFilter::Cursor> next;  // unset on the last page
};

/// A day's (or any range's) figures of inbound calls, for the wallboard.
struct CallFigures {
    std::int64_t offered = 0;              // inbound calls started in the range
    std::int64_t answered = 0;
    std::int64_t missed = 0;               // missed, busy and failed
    std::int64_t abandoned = 0;            // the caller hung up in a queue
    std::int64_t ringing = 0;              // not final yet
    double average_wait_seconds = 0;       // over answered calls (start to answer)
    double average_talk_seconds = 0;       // over answered calls
    std::int64_t answered_within = 0;      // answered with wait <= service_level_seconds
    /// answered_within / (offered - ringing), 0..1; 1 when nothing finished yet.
    double service_level = 1;
};

/// Reports over a range of call start times (issue 4). Buckets are in the
/// caller's time zone: utc_offset_minutes east of UTC.
struct ReportQuery {
    Timestamp since{};
    Timestamp until{};
    int utc_offset_minutes = 0;
    std::size_t max_rows = 50;             // per list (agents, repeat callers, missed)
};

struct CallReport {
    struct Bucket {
        std::int64_t start_ms = 0;         // bucket start, UTC ms (local hour/day boundary)
        std::int64_t answered = 0, missed = 0, abandoned = 0, other = 0;
    };
    struct AgentRow {
        std::string agent;
        std::int64_t answered = 0;
        std::int64_t talk_seconds = 0;     // total
        double average_handle_seconds = 0;
    };
    struct RepeatCaller {
        std::string number;
        std::optional<std::int64_t> customer_id;
        std::int64_t calls = 0;
        Timestamp last_at{};
    };
    std::vector<Bucket> hourly;            // only hours with calls
    std::vector<Bucket> daily;
    std::vector<AgentRow> agents;          // by answered desc
    std::vector<RepeatCaller> repeat_callers;  // 2+ inbound calls, most first
    /// Inbound missed/abandoned calls with no later answered call from that
    /// number nor an outbound call to it (anytime after), newest first.
    std::vector<CallRecord> missed_not_called_back;
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
    // ---- supervisor call log and reports (issue 4)
    /// One page in the filter's order (keyset paging on an index: as fast on
    /// the last page of millions as on the first). next is set when more follow.
    virtual CallPage list_call_page(const CallFilter& f) = 0;
    /// Figures of inbound calls started in [since, until); answered_within
    /// counts waits of at most service_level_seconds.
    virtual CallFigures call_figures(Timestamp since, Timestamp until, int service_level_seconds) = 0;
    virtual CallReport call_report(const ReportQuery& q) = 0;

    /// Records not final (status ringing, or answered with no ended_at) of a PBX.
    virtual std::vector<CallRecord> open_calls(const PbxId& pbx) = 0;
    /// Stores disposition and notes on the call and its history entry. false if no such call.
    virtual bool set_disposition(const CallId& id, const std::string& disposition, const std::string& notes) = 0;

    // ---- audit trail (append-only)
    virtual void audit(const std::string& actor, const std::string& action, const std::string& detail, Timestamp at) = 0;
};

}  // namespace ringside
