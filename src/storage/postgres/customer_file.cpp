// PostgresStore: the customer file's edits and reads beyond the pop's
// (Customers' contracts): batches of customers, audited creation and
// edits, issues with their history, the timeline, the customer audit trail.
// Rules stay in the core (stored_form, with_initial_value_score,
// value_score_follows_history); this file stores and queries.
#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "ringside/core/customers.hpp"
#include "ringside/core/stored_records.hpp"
#include "ringside/core/time.hpp"
#include "ringside/storage/postgres_store.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace pg;

namespace {

constexpr std::int64_t stream_page = 1000;

std::optional<std::int64_t> issue_customer(Connection& c, std::int64_t issue_id) {
    auto r = c.run("issue_customer", "SELECT customer_id FROM issues WHERE id = $1", issue_id);
    if (!r.rows()) return std::nullopt;
    return r.i64(0, 0);
}

std::vector<AuditEntry> audit_entries(const Result& r) {
    std::vector<AuditEntry> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(AuditEntry{r.i64(i, 0), r.time(i, 1), r.str(i, 2), r.str(i, 3), r.str(i, 4)});
    return out;
}

}  // namespace

std::vector<std::int64_t> PostgresStore::create_customers(const std::vector<Customer>& batch) {
    for (const auto& cu : batch) require_e164(cu, "create_customers");
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    const auto quartiles = lifetime_quartiles(*c);
    const auto now = now_ms();
    std::vector<std::int64_t> ids;
    ids.reserve(batch.size());
    for (const auto& cu : batch) ids.push_back(insert_customer(*c, with_initial_value_score(cu, quartiles, now)));
    tx.commit();
    return ids;
}

std::int64_t PostgresStore::create_customer_audited(const Customer& cu, const std::string& actor,
                                                    const std::string& detail, Timestamp at) {
    require_e164(cu, "create_customer_audited");
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    const auto id = insert_customer(*c, with_initial_value_score(cu, lifetime_quartiles(*c), now_ms()));
    auto d = nlohmann::json::parse(detail, nullptr, false);
    if (!d.is_object()) d = nlohmann::json::object();
    d["id"] = id;
    insert_audit(*c, actor, "customer.create", d.dump(), at);
    tx.commit();
    return id;
}

bool PostgresStore::update_customer(const Customer& after, const std::string& actor, const std::string& action,
                                    const std::string& detail, Timestamp at) {
    require_e164(after, "update_customer");
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    // The row lock orders this edit after an erasure committing meanwhile
    // (on any node), which it then sees and refuses.
    auto row = c->run("update_customer", "SELECT erased_at IS NOT NULL FROM customers WHERE id = $1 FOR UPDATE",
                      after.id);
    if (!row.rows() || row.boolean(0, 0)) return false;
    update_customer_row(*c, after, at);
    // A score handed back to Ringside (none set by hand) follows the
    // history again, and a computed one follows a new lifetime value.
    if (value_score_follows_history(after.value_score.has_value(), after.value_score_computed))
        rescore(*c, after.id, now_ms(), lifetime_quartiles(*c));
    insert_audit(*c, actor, action, detail, at);
    tx.commit();
    return true;
}

std::optional<Issue> PostgresStore::find_issue(std::int64_t id) {
    auto c = impl_->pool.lease();
    auto r = c->run("find_issue", "SELECT " + issue_columns + " FROM issues WHERE id = $1", id);
    if (!r.rows()) return std::nullopt;
    return read_issue(r, 0);
}

bool PostgresStore::set_issue_status(std::int64_t id, const std::string& status, Timestamp at) {
    if (status != "open" && status != "resolved")
        throw std::invalid_argument("set_issue_status: status must be \"open\" or \"resolved\"");
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    std::optional<Timestamp> resolved_at;
    if (status == "resolved") resolved_at = at;
    auto r = c->run("set_issue_status", "UPDATE issues SET status = $1, resolved_at = $2 WHERE id = $3 RETURNING customer_id",
                    status, resolved_at, id);
    if (!r.rows()) return false;
    rescore(*c, r.i64(0, 0), now_ms(), lifetime_quartiles(*c));
    tx.commit();
    return true;
}

std::vector<Issue> PostgresStore::customer_issues(std::int64_t customer_id) {
    auto c = impl_->pool.lease();
    auto r = c->run("customer_issues",
                    "SELECT " + issue_columns + " FROM issues WHERE customer_id = $1 ORDER BY opened_at DESC, id DESC",
                    customer_id);
    std::vector<Issue> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_issue(r, i));
    return out;
}

bool PostgresStore::update_issue(const Issue& given, const std::vector<IssueChange>& changes) {
    const Issue i = stored_form(given);
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    if (c->run("update_issue",
               "UPDATE issues SET title = $1, description = $2, status = $3, resolved_at = $4, priority = $5, "
               "owner = $6 WHERE id = $7",
               i.title, i.description, i.status, i.resolved_at, i.priority, i.owner, i.id)
            .affected() == 0)
        return false;
    for (const auto& given_change : changes) {
        const auto ch = stored_form(given_change);
        c->run("update_issue",
               "INSERT INTO issue_changes (issue_id, at, actor, field, before, after) VALUES ($1, $2, $3, $4, $5, $6)",
               i.id, ch.at, ch.actor, ch.field, ch.before, ch.after);
    }
    if (const auto customer = issue_customer(*c, i.id)) rescore(*c, *customer, now_ms(), lifetime_quartiles(*c));
    tx.commit();
    return true;
}

std::vector<IssueChange> PostgresStore::issue_history(std::int64_t issue_id) {
    auto c = impl_->pool.lease();
    auto r = c->run("issue_history",
                    "SELECT at, actor, field, before, after FROM issue_changes WHERE issue_id = $1 ORDER BY at, id",
                    issue_id);
    std::vector<IssueChange> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.time(i, 0), r.str(i, 1), r.str(i, 2), r.str(i, 3), r.str(i, 4)});
    return out;
}

void PostgresStore::for_each_issue(const std::function<bool(const Issue&)>& fn) {
    // Pages in id order from one snapshot, as for_each_customer.
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    for (std::int64_t after = 0;;) {
        auto r = c->run("for_each_issue", "SELECT " + issue_columns + " FROM issues WHERE id > $1 ORDER BY id LIMIT $2",
                        after, stream_page);
        for (int i = 0; i < r.rows(); ++i) {
            const auto issue = read_issue(r, i);
            after = issue.id;
            if (!fn(issue)) {
                tx.commit();
                return;
            }
        }
        if (r.rows() < stream_page) break;
    }
    tx.commit();
}

void PostgresStore::add_interactions(const std::vector<Interaction>& batch) {
    if (batch.empty()) return;
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    std::set<std::int64_t> customers;
    for (const auto& i : batch) {
        upsert_interaction(*c, i, "");
        customers.insert(i.customer_id);
    }
    const auto quartiles = lifetime_quartiles(*c);
    const auto now = now_ms();
    for (const auto id : customers) rescore(*c, id, now, quartiles);
    tx.commit();
}

std::vector<Interaction> PostgresStore::customer_timeline(std::int64_t customer_id, std::optional<Timestamp> before,
                                                          std::size_t limit) {
    auto c = impl_->pool.lease();
    auto r = c->run("customer_timeline",
                    "SELECT " + interaction_columns +
                        " FROM interactions WHERE customer_id = $1 AND at < $2 ORDER BY at DESC, id DESC LIMIT $3",
                    customer_id, before ? to_ms(*before) : std::numeric_limits<std::int64_t>::max(),
                    static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, 200)));
    std::vector<Interaction> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_interaction(r, i));
    return out;
}

std::vector<AuditEntry> PostgresStore::list_customer_audit(std::optional<std::int64_t> customer_id,
                                                           std::optional<std::int64_t> before_id, std::size_t limit) {
    const auto before = before_id.value_or(std::numeric_limits<std::int64_t>::max());
    const auto n = static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, 500));
    auto c = impl_->pool.lease();
    if (customer_id)  // a seek on audit_log_customer: its expression and condition
        return audit_entries(c->run("list_customer_audit",
                                    "SELECT id, at, actor, action, detail FROM audit_log WHERE action LIKE 'customer%' "
                                    "AND audit_detail_id(detail) = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                                    std::to_string(*customer_id), before, n));
    return audit_entries(c->run("list_customer_audit",
                                "SELECT id, at, actor, action, detail FROM audit_log "
                                "WHERE (action LIKE 'customer%' OR action = 'issues.export') AND id < $1 "
                                "ORDER BY id DESC LIMIT $2",
                                before, n));
}

}  // namespace ringside
