#pragma once
// The storage seam. Everything above it (core, server, CLI) goes through this
// interface and never writes SQL. SQLite is the embedded default
// (sqlite_store.hpp); a PostgreSQL implementation for multi-node sites fits
// here too.
//
// Storage implements the ports the core owns (include/ringside/core/ports/):
// CallLog, UserDirectory, CustomerContexts and AuditLog; the call engine sees
// only those. The rest of this interface serves the server and the CLI.
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
#include "ringside/core/ports/audit_log.hpp"
#include "ringside/core/ports/call_log.hpp"
#include "ringside/core/ports/customer_contexts.hpp"
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

/// Which customers a search or an export wants; every set field must match.
struct CustomerQuery {
    std::vector<std::string> terms;        // folded name words (fold_for_search): each of 3+ characters matches
                                           // anywhere inside a word of the name or company, shorter ones a word's start
    std::optional<std::string> phone;      // E.164
    std::optional<std::string> email;      // matched case-insensitively, whole address
    std::optional<std::string> tag;
    std::optional<std::string> group;
    std::optional<std::string> tier;
    std::optional<std::string> owner;
    std::optional<std::string> kind;       // "customer" | "lead"
    std::optional<int> min_score;          // value_score >= min_score
    std::optional<int> max_score;          // value_score <= max_score
    // ---- the rest of the evaluation as filters
    std::optional<std::int64_t> min_lifetime_value;    // lifetime_value >= this
    std::optional<std::int64_t> min_complaints;        // issues ever opened >= this (1 or more)
    bool with_open_issues = false;                     // at least one unresolved issue
    std::optional<Timestamp> contacted_since;          // an interaction at or after this
    std::optional<Timestamp> not_contacted_since;      // no interaction at or after this
    std::optional<Timestamp> customer_before;          // relationship began before this
    bool include_removed = false;          // removed customers too (status "removed")
    std::size_t limit = 50;                // 1..500 for searches; ignored by for_each_customer
};

/// What import_customers did with one customer of the batch.
struct ImportMatch {
    bool created = false;                  // false: already a customer (matched below)
    std::int64_t customer_id = 0;          // the new id (0 in a dry run) or the existing customer's
    std::string matched_on;                // "phone +98..." or "email" when not created
};

/// A PBX connection added on the admin page (connections from the config
/// file are not stored). settings is the connection's JSON object as the
/// admin API takes it, secrets included: the link needs them to log in.
struct StoredPbx {
    std::string id;                        // [a-z0-9-]+, unique across config and database
    std::string type;                      // asterisk-ami | freeswitch-esl | sip | webhook
    std::string settings;                  // JSON object: host, port, username, secret, password, path, ...
    bool enabled = true;
    Timestamp created_at{};
    std::string created_by;                // username of the admin who added it
};

/// One audit_log row.
struct AuditEntry {
    std::int64_t id = 0;                   // increasing; pages go by it
    Timestamp at{};
    std::string actor;                     // username, or "system"
    std::string action;                    // "pbx.add", "user.disable", "login", ...
    std::string detail;                    // JSON text, never a secret
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

/// Everything stored about one customer, for GET /api/customers/{id}/export.
struct CustomerData {
    struct IssueWithHistory {
        Issue issue;
        std::vector<IssueChange> history;  // oldest first
    };
    Customer customer;                     // whatever its status
    std::vector<IssueWithHistory> issues;  // newest first
    std::vector<Interaction> interactions; // newest first, summary without the call notes folded in
    std::vector<std::string> interaction_notes;  // parallel to interactions: the agent's call notes ("" if none)
    std::vector<CallRecord> calls;         // newest first: calls linked to the customer or from/to one of their numbers
    std::vector<AuditEntry> audit;         // newest first: the entries naming the customer
};

/// What erase_customer changed.
struct EraseReport {
    std::int64_t calls = 0;                // call records anonymised (number, caller name, notes)
    std::int64_t interactions = 0;         // history entries blanked
    std::int64_t issues = 0;               // issues whose title and description were blanked
    std::int64_t audit_entries = 0;        // earlier audit entries whose details were scrubbed
};

/// What apply_retention removed.
struct RetentionReport {
    std::int64_t call_notes_blanked = 0;   // call records (and history entries) whose notes were blanked
    std::int64_t call_records_deleted = 0;
    std::int64_t audit_entries_deleted = 0;
};

class Storage : public CallLog, public UserDirectory, public CustomerContexts, public AuditLog {
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

    // ---- customers, issues, interactions
    // customer_context_by_phone, customer_context: CustomerContexts.
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

    // ---- the customer file: profile, evaluation, search, import, timeline, issue history
    /// The customer by id with its phones, whatever its status (removed too).
    virtual std::optional<Customer> find_customer(std::int64_t id) = 0;
    /// Replaces the stored customer's fields (by after.id) with after's and
    /// appends the audit entry (actor, action, detail) in the same
    /// transaction: both or neither. Phones must be E.164. false if no such
    /// customer, or if it was erased (erased_at set): an erased file is never
    /// written again, so an edit read before the erasure cannot undo it.
    virtual bool update_customer(const Customer& after, const std::string& actor, const std::string& action,
                                 const std::string& detail, Timestamp at) = 0;
    /// Creates the customer and appends its audit entry in one transaction.
    virtual std::int64_t create_customer_audited(const Customer& c, const std::string& actor, const std::string& detail,
                                                 Timestamp at) = 0;
    /// Active customers (and removed ones when asked) matching q, newest first
    /// unless a name search orders them; at most q.limit (1..500).
    virtual std::vector<Customer> search_customers(const CustomerQuery& q) = 0;
    /// Streams every customer matching q (limit ignored), oldest first, in
    /// one read snapshot; stops when fn returns false.
    virtual void for_each_customer(const CustomerQuery& q, const std::function<bool(const Customer&)>& fn) = 0;
    /// Stores each customer of the batch unless one already has one of its
    /// phones or its email (case-insensitive), in one transaction with an
    /// audit entry per new customer. dry_run rolls it all back (ids are 0).
    virtual std::vector<ImportMatch> import_customers(const std::vector<Customer>& batch, bool dry_run,
                                                      const std::string& actor, Timestamp at) = 0;
    /// Stores each order unless its order_ref is already stored, adds it to
    /// its customer's lifetime_value (the sum of the customer's orders), and
    /// audits each customer whose lifetime value changed, in one
    /// transaction; dry_run rolls back. One result per order, in order:
    /// "imported", "already_present" (same order_ref) or "rejected" (no such
    /// customer), with the customer's id when found.
    virtual std::vector<ImportRowResult> import_orders(const std::vector<OrderRow>& batch, bool dry_run,
                                                       const std::string& actor, Timestamp at) = 0;
    /// Many interactions in one transaction (imports, benchmarks). Returns nothing.
    virtual void add_interactions(const std::vector<Interaction>& batch) = 0;
    /// A customer's interactions, newest first, older than `before` when set; at most limit (1..200).
    virtual std::vector<Interaction> customer_timeline(std::int64_t customer_id, std::optional<Timestamp> before,
                                                       std::size_t limit) = 0;
    /// Every issue of a customer, newest first.
    virtual std::vector<Issue> customer_issues(std::int64_t customer_id) = 0;
    /// Replaces the issue's fields (by after.id) and appends changes to its
    /// history in one transaction. false if no such issue.
    virtual bool update_issue(const Issue& after, const std::vector<IssueChange>& changes) = 0;
    /// The issue's history, oldest first.
    virtual std::vector<IssueChange> issue_history(std::int64_t issue_id) = 0;
    /// Streams every issue, oldest first; stops when fn returns false.
    virtual void for_each_issue(const std::function<bool(const Issue&)>& fn) = 0;
    /// Active customers per value score (index 1..10). Kept in memory: every
    /// write through this store adjusts the counts at once, and a full
    /// recount (every ~10 s, or soon after a write) catches changes made by
    /// other processes on the same file. A read never waits for the count.
    virtual std::array<std::int64_t, 11> value_score_histogram() = 0;
    /// Recomputes every computed value score soon, in the background, with
    /// fresh lifetime-value quartiles; returns at once. For a bulk change the
    /// per-customer updates do not cover (a seed, a large import): each
    /// customer's own writes already keep their score current. Imports of
    /// orders, and of customers with lifetime values, ask for it themselves.
    virtual void recount_value_scores() = 0;

    // ---- calls: upsert_call, finish_call, write_calls, find_call,
    // open_calls and set_disposition are CallLog's.
    using CallWrite = CallLog::CallWrite;
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

    // ---- audit trail (append-only): audit() is AuditLog's.

    // ---- administration (admin page)
    /// Newest first: entries with id < before_id (all when unset), at most limit (1..500).
    virtual std::vector<AuditEntry> list_audit(std::optional<std::int64_t> before_id, std::size_t limit) = 0;
    /// Applies the change; false if no such user. Disabling (or a new
    /// password) also deletes the user's sessions, in the same transaction.
    virtual bool update_user(const AgentId& username, const UserChange& change) = 0;
    /// PBX connections added on the admin page, in the order they were added.
    virtual std::vector<StoredPbx> list_pbx() = 0;
    /// Throws StorageConflict if the id is taken.
    virtual void create_pbx(const StoredPbx& p) = 0;
    /// false if no such stored connection.
    virtual bool set_pbx_enabled(const std::string& id, bool enabled) = 0;
    /// Replaces a stored connection's settings and enabled flag (type and id
    /// stay); false if no such stored connection.
    virtual bool update_pbx(const std::string& id, const std::string& settings, bool enabled) = 0;
    /// Removes a stored connection (the caller audits what it was); false if
    /// no such stored connection. Call records of that PBX stay.
    virtual bool remove_pbx(const std::string& id) = 0;

    // ---- the customer file's audit trail, for supervisors (issue 7)
    /// Newest first: the audit entries about customers (actions customer.*
    /// and customers.*, and issues.export) with id < before_id (all when
    /// unset), at most limit (1..500). With customer_id, only the entries
    /// whose detail names that customer ({"id": customer_id}).
    virtual std::vector<AuditEntry> list_customer_audit(std::optional<std::int64_t> customer_id,
                                                        std::optional<std::int64_t> before_id, std::size_t limit) = 0;

    // ---- a customer's data on request, retention (issue 16)
    /// Everything stored about the customer in one read snapshot; nullopt if no such customer.
    virtual std::optional<CustomerData> customer_data(std::int64_t id) = 0;
    /// Anonymises the customer for good (privacy.hpp erased_customer): the
    /// file, its numbers (so no call or import matches them to it again), its
    /// history entries' text and notes, its issues' text and history, the
    /// numbers, caller names and notes of its call records (figures, times,
    /// agents and dispositions stay), and the personal values in earlier
    /// audit entries about it; then appends the audit entry (actor,
    /// "customer.erase", {"id", "reason", counts}). One transaction: all or
    /// nothing. nullopt if no such customer; an already erased customer is
    /// erased again (nothing left to change) and audited again.
    virtual std::optional<EraseReport> erase_customer(std::int64_t id, const std::string& actor,
                                                      const std::string& reason, Timestamp at) = 0;
    /// Blanks call notes older than call_notes_before, deletes call records
    /// older than call_records_before and audit entries older than
    /// audit_before (by time of the call's start, of the entry), in batches
    /// of short transactions, then appends one audit entry ("system",
    /// "retention.apply", the counts and cutoffs) at `now`.
    virtual RetentionReport apply_retention(const RetentionCutoffs& cutoffs, Timestamp now) = 0;
    /// What apply_retention would change with these cutoffs now, changing
    /// nothing (`ringside retention --dry-run`).
    virtual RetentionReport preview_retention(const RetentionCutoffs& cutoffs) = 0;

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
};

}  // namespace ringside
