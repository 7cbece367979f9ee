#pragma once
// A Storage that takes call-record writes off the caller's thread.
//
// The call engine writes a call record three or four times a call; each
// write is a transaction, and a transaction now and then waits on the disk.
// Wrapped in a WriteBehindStore, upsert_call and finish_call are queued and
// applied in order by a thread of their own, so the engine never waits for
// the disk between a PBX event and the pop it causes.
//
// Reads see their own writes: every method that reads or changes call
// records (find_call, list_calls, for_each_call, open_calls,
// set_disposition, set_disposition_if) first waits until every write queued
// before it has been applied. Everything else goes straight to the wrapped
// store.
//
// Batching: the writer gathers writes for up to `gather` (25 ms by default)
// after the first one arrives, then applies them in one transaction, where a
// call's upsert that a later write of the same call in the batch supersedes
// is skipped (every write carries the whole record). A call's start and
// first ring are one row write instead of two, and a transaction's commit
// (most of a write's cost: WAL frames) is paid about 40 times a second at
// most, not once per PBX event. A reader's flush() cuts the wait short.
//
// Durability: the destructor (and flush()) applies everything queued. A
// process killed with SIGKILL loses what was still queued (at most the
// gather window and one batch of writes); the next start's resync closes
// such calls from what the PBX says.
//
// An unreachable database (StorageUnavailable: a PostgreSQL server
// restarting, the network to it down) loses nothing: the writes stay
// queued, in order, and are tried again with back-off (100 ms doubling to
// 5 s) until the store answers. Meanwhile a call's upserts that a later
// write of it supersedes are dropped from the queue, and past `max_queued`
// writes the oldest upserts go (counted: dropped_writes()); a call's final
// write, which carries its history entry, is never dropped. Reads do not
// wait for the queue while the store is unreachable (they would wait for
// the outage). At shutdown the writer keeps trying for up to 10 s, then
// reports what it could not store.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "ringside/storage/store.hpp"

namespace ringside {

class WriteBehindStore final : public Storage {
public:
    /// on_error is called on the writer thread when a queued write fails
    /// (the write is dropped after being reported; later writes go on).
    WriteBehindStore(Storage& inner, std::function<void(const std::string&)> on_error = {},
                     std::chrono::milliseconds gather = std::chrono::milliseconds(25),
                     std::size_t max_queued = 200'000);
    ~WriteBehindStore() override;
    WriteBehindStore(const WriteBehindStore&) = delete;
    WriteBehindStore& operator=(const WriteBehindStore&) = delete;

    /// Waits until every write queued so far has been applied.
    void flush();
    std::size_t queued() const;
    std::uint64_t failed_writes() const;
    /// Queued writes skipped because a later write of the same call in
    /// the same batch carried its whole record.
    std::uint64_t coalesced_writes() const;
    /// Whether the last attempt found the store unreachable (writes are kept and retried).
    bool unavailable() const;
    /// Attempts that found the store unreachable.
    std::uint64_t retries() const;
    /// Upserts dropped because the queue passed max_queued while the store was unreachable.
    std::uint64_t dropped_writes() const;

    std::int64_t create_user(const User& u, const std::string& h) override { return inner_.create_user(u, h); }
    std::optional<User> find_user(const AgentId& u) override { return inner_.find_user(u); }
    std::optional<StoredCredentials> find_credentials(const AgentId& u) override { return inner_.find_credentials(u); }
    std::vector<User> users_by_extension(const Extension& e) override { return inner_.users_by_extension(e); }
    std::vector<User> list_users() override { return inner_.list_users(); }
    void create_session(const std::string& t, const AgentId& u, Timestamp e) override { inner_.create_session(t, u, e); }
    std::optional<User> session_user(const std::string& t, Timestamp n) override { return inner_.session_user(t, n); }
    void delete_session(const std::string& t) override { inner_.delete_session(t); }

    std::optional<CustomerContext> customer_context_by_phone(const std::string& e164) override {
        return inner_.customer_context_by_phone(e164);
    }
    std::optional<CustomerContext> customer_context(std::int64_t id) override { return inner_.customer_context(id); }
    std::vector<Customer> customers_by_phone(const std::string& e164) override { return inner_.customers_by_phone(e164); }
    std::int64_t create_customer(const Customer& c) override { return inner_.create_customer(c); }
    std::vector<std::int64_t> create_customers(const std::vector<Customer>& b) override {
        return inner_.create_customers(b);
    }
    std::int64_t create_issue(const Issue& i) override { return inner_.create_issue(i); }
    std::optional<Issue> find_issue(std::int64_t id) override { return inner_.find_issue(id); }
    bool set_issue_status(std::int64_t id, const std::string& s, Timestamp at) override {
        return inner_.set_issue_status(id, s, at);
    }
    std::int64_t add_interaction(const Interaction& i) override { return inner_.add_interaction(i); }
    std::size_t customer_count() override { return inner_.customer_count(); }

    std::optional<Customer> find_customer(std::int64_t id) override { return inner_.find_customer(id); }
    bool update_customer(const Customer& after, const std::string& actor, const std::string& action,
                         const std::string& detail, Timestamp at) override {
        return inner_.update_customer(after, actor, action, detail, at);
    }
    std::int64_t create_customer_audited(const Customer& c, const std::string& actor, const std::string& detail,
                                         Timestamp at) override {
        return inner_.create_customer_audited(c, actor, detail, at);
    }
    std::vector<Customer> search_customers(const CustomerQuery& q) override { return inner_.search_customers(q); }
    void for_each_customer(const CustomerQuery& q, const std::function<bool(const Customer&)>& fn) override {
        inner_.for_each_customer(q, fn);
    }
    std::vector<ImportMatch> import_customers(const std::vector<Customer>& b, bool dry_run, const std::string& actor,
                                              Timestamp at) override {
        return inner_.import_customers(b, dry_run, actor, at);
    }
    std::vector<ImportRowResult> import_orders(const std::vector<OrderRow>& b, bool dry_run, const std::string& actor,
                                               Timestamp at) override {
        return inner_.import_orders(b, dry_run, actor, at);
    }
    void add_interactions(const std::vector<Interaction>& b) override { inner_.add_interactions(b); }
    /// Flushes first: a call's history entry is written with its call record.
    std::vector<Interaction> customer_timeline(std::int64_t id, std::optional<Timestamp> before,
                                               std::size_t limit) override {
        flush();
        return inner_.customer_timeline(id, before, limit);
    }
    std::vector<Issue> customer_issues(std::int64_t id) override { return inner_.customer_issues(id); }
    bool update_issue(const Issue& after, const std::vector<IssueChange>& ch) override {
        return inner_.update_issue(after, ch);
    }
    std::vector<IssueChange> issue_history(std::int64_t id) override { return inner_.issue_history(id); }
    void for_each_issue(const std::function<bool(const Issue&)>& fn) override { inner_.for_each_issue(fn); }
    std::array<std::int64_t, 11> value_score_histogram() override { return inner_.value_score_histogram(); }
    void recount_value_scores() override { inner_.recount_value_scores(); }

    void upsert_call(const CallRecord& c) override;
    void finish_call(const CallRecord& c, const std::optional<Interaction>& history) override;
    std::optional<CallRecord> find_call(const CallId& id) override;
    std::vector<CallRecord> list_calls(const CallFilter& f) override;
    void for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) override;
    // supervisor call log and reports: flush first, like the reads above
    CallPage list_call_page(const CallFilter& f) override;
    CallFigures call_figures(Timestamp since, Timestamp until, int service_level_seconds) override;
    CallReport call_report(const ReportQuery& q) override;
    std::vector<CallRecord> open_calls(const PbxId& pbx) override;
    bool set_disposition(const CallId& id, const std::string& d, const std::string& n) override;
    /// Flushes first, as set_disposition does: the check compares with
    /// every write queued before it.
    DispositionWrite set_disposition_if(const CallId& id, const std::string& d, const std::string& n,
                                        const std::string& previous) override;

    // Agent states are not queued here: the server appends them off the engine's strand itself.
    void append_agent_state(const AgentStateChange& c) override { inner_.append_agent_state(c); }
    std::vector<AgentStateChange> latest_agent_states() override { return inner_.latest_agent_states(); }
    std::vector<AgentStateChange> agent_states_before(Timestamp at) override { return inner_.agent_states_before(at); }
    std::vector<AgentStateChange> agent_state_changes(const std::optional<AgentId>& agent, Timestamp from,
                                                      Timestamp to, std::size_t limit) override {
        return inner_.agent_state_changes(agent, from, to, limit);
    }
    void audit(const std::string& a, const std::string& act, const std::string& d, Timestamp at) override {
        inner_.audit(a, act, d, at);
    }

    std::vector<AuditEntry> list_audit(std::optional<std::int64_t> before, std::size_t limit) override {
        return inner_.list_audit(before, limit);
    }
    bool update_user(const AgentId& u, const UserChange& c) override { return inner_.update_user(u, c); }
    std::vector<StoredPbx> list_pbx() override { return inner_.list_pbx(); }
    void create_pbx(const StoredPbx& p) override { inner_.create_pbx(p); }
    bool set_pbx_enabled(const std::string& id, bool enabled) override { return inner_.set_pbx_enabled(id, enabled); }
    bool update_pbx(const std::string& id, const std::string& settings, bool enabled) override {
        return inner_.update_pbx(id, settings, enabled);
    }
    bool remove_pbx(const std::string& id) override { return inner_.remove_pbx(id); }

    // the customer file's audit trail (issue 7): customer writes are not queued here
    std::vector<AuditEntry> list_customer_audit(std::optional<std::int64_t> customer_id,
                                                std::optional<std::int64_t> before, std::size_t limit) override {
        return inner_.list_customer_audit(customer_id, before, limit);
    }

    // a customer's data and retention touch call records: flush first
    std::optional<CustomerData> customer_data(std::int64_t id) override {
        flush();
        return inner_.customer_data(id);
    }
    std::optional<EraseReport> erase_customer(std::int64_t id, const std::string& actor, const std::string& reason,
                                              Timestamp at) override {
        flush();
        return inner_.erase_customer(id, actor, reason, at);
    }
    RetentionReport apply_retention(const RetentionCutoffs& c, Timestamp now) override {
        flush();
        return inner_.apply_retention(c, now);
    }
    RetentionReport preview_retention(const RetentionCutoffs& c) override {
        flush();
        return inner_.preview_retention(c);
    }
    std::optional<User> upsert_directory_user(const User& u, const std::string& dn) override {
        return inner_.upsert_directory_user(u, dn);
    }
    std::vector<std::pair<User, std::string>> directory_users_signed_in(Timestamp now) override {
        return inner_.directory_users_signed_in(now);
    }
    void end_sessions(const AgentId& u) override { inner_.end_sessions(u); }
    std::uint64_t user_writes() const override { return inner_.user_writes(); }

private:
    using Op = CallWrite;

    void enqueue(Op op);
    /// Applies a batch: one transaction; if it fails, one write at a time so
    /// the good ones land and the bad one is reported by call id. What the
    /// store was unreachable for is left in `batch` (the tail not applied);
    /// returns how many writes the store refused.
    std::uint64_t apply(std::vector<Op>& batch);
    /// While unreachable, past max_queued: the oldest upserts go. Under mutex_.
    void shed_locked();
    void run();

    Storage& inner_;
    std::function<void(const std::string&)> on_error_;
    mutable std::mutex mutex_;
    std::condition_variable work_cv_;   // writer waits for ops
    std::condition_variable done_cv_;   // flush waits for applied_ to catch up
    std::vector<Op> queue_;
    std::uint64_t enqueued_ = 0;        // ops ever queued
    std::uint64_t applied_ = 0;         // ops applied (or failed and reported)
    std::uint64_t failed_ = 0;
    std::uint64_t coalesced_ = 0;
    std::size_t flush_waiters_ = 0;     // readers in flush(): apply without gathering
    std::chrono::milliseconds gather_;
    std::size_t max_queued_;
    bool stopping_ = false;
    bool unavailable_ = false;          // the last attempt found the store unreachable
    std::uint64_t retries_ = 0;
    std::uint64_t dropped_ = 0;
    std::thread writer_;
};

}  // namespace ringside
