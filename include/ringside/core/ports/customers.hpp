#pragma once
// The customer file: customers, their issues and history, search, imports,
// a customer's data on request and erasure. Owned by the core; storage
// implements it. The pop's read of a customer is CustomerContexts'.
//
// Blocking: every call reads or writes the store on the caller's thread;
// none is for the engine's strand. Reads of one customer, issue or timeline
// are indexed (well under a millisecond on SQLite); a search seeks one index
// and stops at its limit (milliseconds at a million customers). A write is
// one transaction and a disk commit (a few ms), and waits for the store's
// one writer: behind another write, or one batch of background upkeep (a few
// hundred ms at most). Imports write their whole batch in one transaction
// (seconds for thousands of rows); erase_customer rewrites everything about
// the customer in one. for_each_customer and for_each_issue hold a read
// snapshot for as long as their callback streams. value_score_histogram
// never blocks: it is kept in memory.
// Infrastructure failures throw; "no such row" is an empty optional or false.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ringside/core/customer_import.hpp"
#include "ringside/core/model.hpp"
#include "ringside/core/ports/audit_log.hpp"

namespace ringside {

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

class Customers {
public:
    virtual ~Customers() = default;

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

    // ---- the customer file's audit trail, for supervisors
    /// Newest first: the audit entries about customers (actions customer.*
    /// and customers.*, and issues.export) with id < before_id (all when
    /// unset), at most limit (1..500). With customer_id, only the entries
    /// whose detail names that customer ({"id": customer_id}).
    virtual std::vector<AuditEntry> list_customer_audit(std::optional<std::int64_t> customer_id,
                                                        std::optional<std::int64_t> before_id, std::size_t limit) = 0;

    // ---- a customer's data on request
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
};

}  // namespace ringside
