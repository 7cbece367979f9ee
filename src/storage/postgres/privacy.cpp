// PostgresStore: a customer's data on request (export, erasure), with
// SQLite's contracts (ports/customers.hpp). The rules of what an erasure
// leaves are the core's (privacy.hpp); this file applies them.
#include <nlohmann/json.hpp>

#include "ringside/core/privacy.hpp"
#include "ringside/core/stored_records.hpp"
#include "ringside/storage/postgres_store.hpp"
#include "erase_sql.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace pg;

namespace {

// The audit entries naming a customer: the expression and the condition of
// the index audit_log_customer.
const std::string customer_audit_sql =
    "SELECT id, at, actor, action, detail FROM audit_log WHERE action LIKE 'customer%' "
    "AND audit_detail_id(detail) = $1 ORDER BY id DESC";

std::optional<Customer> customer_row(Connection& c, std::int64_t id, const char* lock = "") {
    auto r = c.run("customer_row", "SELECT " + customer_columns + " FROM customers c WHERE c.id = $1" + lock, id);
    if (!r.rows()) return std::nullopt;
    auto cu = read_customer(r, 0);
    load_phones(c, cu);
    return cu;
}

}  // namespace

std::optional<CustomerData> PostgresStore::customer_data(std::int64_t id) {
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");  // one snapshot for the whole file
    auto customer = customer_row(*c, id);
    if (!customer) return std::nullopt;
    CustomerData d;
    d.customer = std::move(*customer);
    auto issues = c->run("customer_data",
                         "SELECT " + issue_columns + " FROM issues WHERE customer_id = $1 ORDER BY opened_at DESC, id DESC",
                         id);
    for (int i = 0; i < issues.rows(); ++i) d.issues.push_back({read_issue(issues, i), {}});
    for (auto& i : d.issues) {
        auto h = c->run("customer_data",
                        "SELECT at, actor, field, before, after FROM issue_changes WHERE issue_id = $1 ORDER BY at, id",
                        i.issue.id);
        for (int k = 0; k < h.rows(); ++k)
            i.history.push_back({h.time(k, 0), h.str(k, 1), h.str(k, 2), h.str(k, 3), h.str(k, 4)});
    }
    auto history = c->run("customer_data",
                          "SELECT " + interaction_columns +
                              " FROM interactions WHERE customer_id = $1 ORDER BY at DESC, id DESC",
                          id);
    for (int i = 0; i < history.rows(); ++i) {
        auto entry = read_interaction(history, i);
        entry.summary = history.str(i, 5);  // the notes apart, as stored
        d.interactions.push_back(std::move(entry));
        d.interaction_notes.push_back(history.str(i, 10));
    }
    // Calls linked to the customer, and calls from or to one of their
    // numbers made before they were known (or unmatched).
    auto calls = c->run("customer_data",
                        call_select +
                            " WHERE customer_id = $1 OR from_number IN (SELECT e164 FROM customer_phones WHERE "
                            "customer_id = $1) OR to_number IN (SELECT e164 FROM customer_phones WHERE customer_id = $1) "
                            "ORDER BY started_at DESC, id DESC",
                        id);
    for (int i = 0; i < calls.rows(); ++i) d.calls.push_back(read_call(calls, i));
    auto audit = c->run("customer_data", customer_audit_sql, std::to_string(id));
    for (int i = 0; i < audit.rows(); ++i)
        d.audit.push_back(AuditEntry{audit.i64(i, 0), audit.time(i, 1), audit.str(i, 2), audit.str(i, 3), audit.str(i, 4)});
    tx.commit();
    return d;
}

std::optional<EraseReport> PostgresStore::erase_customer(std::int64_t id, const std::string& actor,
                                                         const std::string& reason, Timestamp at) {
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    // The row lock holds off another node's edit or erasure of the same
    // customer until this one commits.
    auto before = customer_row(*c, id, " FOR UPDATE");
    if (!before) return std::nullopt;
    EraseReport r;
    // Numbers first, while customer_phones still holds them.
    static const std::string calls_sql = storage_sql::erase_calls("$1", "$2");
    r.calls = c->run("erase_customer", calls_sql, id, erased_number(id)).affected();
    r.interactions =
        c->run("erase_customer", "UPDATE interactions SET summary = '', notes = '' WHERE customer_id = $1", id)
            .affected();
    c->run("erase_customer",
           "DELETE FROM issue_changes WHERE field IN ('title', 'description', 'created') "
           "AND issue_id IN (SELECT id FROM issues WHERE customer_id = $1)",
           id);
    r.issues = c->run("erase_customer", "UPDATE issues SET title = $1, description = '' WHERE customer_id = $2",
                      std::string(erased_name), id)
                   .affected();
    // The audit trail keeps who did what when, without the values (the
    // append-only trigger admits exactly this change). CASE orders the
    // tests: only a detail audit_detail_id could read is cast to jsonb.
    r.audit_entries =
        c->run("erase_customer",
               "UPDATE audit_log SET detail = jsonb_build_object('id', $1::bigint, 'erased', true)::text "
               "WHERE action LIKE 'customer%' AND action <> 'customer.erase' AND CASE WHEN audit_detail_id(detail) = $2 "
               "THEN (detail::jsonb ->> 'erased') IS DISTINCT FROM 'true' ELSE false END",
               id, std::to_string(id))
            .affected();
    update_customer_row(*c, erased_customer(*before, actor, reason, at), at);  // drops its numbers, words, labels
    c->run("erase_customer", "UPDATE customers SET erased_at = coalesce(erased_at, $1) WHERE id = $2", at, id);
    insert_audit(*c, actor, "customer.erase", erase_audit_details(id, reason, r), at);
    tx.commit();
    return r;
}

}  // namespace ringside
