// PostgresStore: imports of customers and of orders (lifetime values), each
// batch one transaction with its audit entries; a dry run rolls back.
//
// Several nodes may import at once, and PostgreSQL does not serialise their
// transactions as SQLite's one writer does, so each import takes the locks
// that make its reads still true when it writes:
// - customers: a transaction-scoped advisory lock per phone number
//   (hashtext(e164)) and per email key, all taken before the first match is
//   read, in key order (two batches sharing numbers cannot deadlock). A
//   second import of the same number waits for the first to commit, then
//   finds its customer. Nothing else of the schema is locked: a number has
//   no unique constraint, as the same number may belong to several
//   customers (a family, a reassigned line).
// - orders: the row of each customer whose orders change (SELECT ... FOR
//   UPDATE, in id order), so each lifetime value is summed over every order
//   committed before, and two imports for one customer add up.
#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "ringside/core/customers.hpp"
#include "ringside/core/time.hpp"
#include "ringside/storage/postgres_store.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace pg;

namespace {

/// Takes the batch's advisory locks (see the top of the file). The keys
/// are sorted in the subquery; the outer SELECT locks them in that order.
void lock_numbers_and_emails(Connection& c, const std::vector<Customer>& batch) {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& cu : batch) {
        for (const auto& p : cu.phones) keys.push_back(p);
        if (!cu.email.empty()) keys.push_back("email:" + lower_ascii(cu.email));
    }
    if (keys.empty()) return;
    c.run("import_customers",
          "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtext(v) AS k "
          "FROM json_array_elements_text($1::json) AS v ORDER BY k) AS keys",
          keys.dump());
}

std::optional<std::int64_t> first_row_id(const Result& r) {
    if (!r.rows()) return std::nullopt;
    return r.i64(0, 0);
}

}  // namespace

std::vector<ImportMatch> PostgresStore::import_customers(const std::vector<Customer>& batch, bool dry_run,
                                                         const std::string& actor, Timestamp at) {
    for (const auto& cu : batch) require_e164(cu, "import_customers");
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    lock_numbers_and_emails(*c, batch);
    const auto now = now_ms();
    // Read once for the batch, as SQLite's cached quartiles are.
    const auto quartiles = lifetime_quartiles(*c);
    std::vector<ImportMatch> res;
    res.reserve(batch.size());
    for (const auto& cu : batch) {
        ImportMatch m;
        for (const auto& p : cu.phones) {
            if (auto id = first_row_id(c->run("import_customers",
                                              "SELECT customer_id FROM customer_phones WHERE e164 = $1 "
                                              "ORDER BY customer_id LIMIT 1",
                                              p))) {
                m.customer_id = *id;
                m.matched_on = "phone";
                break;
            }
        }
        if (!m.customer_id && !cu.email.empty()) {
            if (auto id = first_row_id(c->run("import_customers",
                                              "SELECT id FROM customers WHERE email_key = $1 AND email_key <> '' "
                                              "ORDER BY id LIMIT 1",
                                              lower_ascii(cu.email)))) {
                m.customer_id = *id;
                m.matched_on = "email";
            }
        }
        if (!m.customer_id) {
            m.created = true;
            m.customer_id = insert_customer(*c, with_initial_value_score(cu, quartiles, now));
            insert_audit(*c, actor, "customer.create", nlohmann::json{{"id", m.customer_id}, {"via", "import"}}.dump(),
                         at);
            if (dry_run) m.customer_id = 0;
        }
        res.push_back(std::move(m));
    }
    const bool values = std::any_of(batch.begin(), batch.end(), [](const Customer& cu) { return cu.lifetime_value; });
    if (values && !dry_run) impl_->start_recount(*c);  // new lifetime values move the quartiles
    if (!dry_run) tx.commit();  // a dry run rolls back in ~Transaction
    if (values && !dry_run) impl_->wake_upkeep();
    return res;
}

std::vector<ImportRowResult> PostgresStore::import_orders(const std::vector<OrderRow>& batch, bool dry_run,
                                                          const std::string& actor, Timestamp at) {
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    // Whose orders these are, first: the rows to lock.
    std::vector<std::optional<std::int64_t>> owner(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& o = batch[i];
        if (o.customer_id)
            owner[i] = first_row_id(c->run("import_orders", "SELECT id FROM customers WHERE id = $1", *o.customer_id));
        else if (!o.phone.empty())
            owner[i] = first_row_id(c->run("import_orders",
                                           "SELECT p.customer_id FROM customer_phones p JOIN customers cu ON cu.id = "
                                           "p.customer_id WHERE p.e164 = $1 AND cu.status = 'active' "
                                           "ORDER BY p.customer_id DESC LIMIT 1",
                                           o.phone));
        else
            owner[i] = first_row_id(c->run("import_orders",
                                           "SELECT id FROM customers WHERE email_key = $1 AND email_key <> '' AND "
                                           "status = 'active' ORDER BY id DESC LIMIT 1",
                                           lower_ascii(o.email)));
    }
    std::set<std::int64_t> ids;
    for (const auto& w : owner)
        if (w) ids.insert(*w);
    // customer -> lifetime value before, read under the row lock.
    std::map<std::int64_t, std::optional<std::int64_t>> touched;
    if (!ids.empty()) {
        auto locked = c->run("import_orders",
                             "SELECT id, lifetime_value FROM customers WHERE id IN "
                             "(SELECT v::bigint FROM json_array_elements_text($1::json) AS v) ORDER BY id FOR UPDATE",
                             nlohmann::json(std::vector<std::int64_t>(ids.begin(), ids.end())).dump());
        for (int i = 0; i < locked.rows(); ++i) touched[locked.i64(i, 0)] = locked.opt_i64(i, 1);
    }
    std::vector<ImportRowResult> res;
    res.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& o = batch[i];
        ImportRowResult r{o.row, "rejected", "", std::nullopt};
        if (!owner[i]) {
            r.reason = "no such customer";
            res.push_back(std::move(r));
            continue;
        }
        r.customer_id = owner[i];
        if (c->run("import_orders",
                   "INSERT INTO orders (order_ref, customer_id, amount, at) VALUES ($1, $2, $3, $4) "
                   "ON CONFLICT (order_ref) DO NOTHING",
                   o.order_ref, *owner[i], o.amount, o.at)
                .affected() > 0) {
            r.status = "imported";
        } else {
            r.status = "already_present";
            r.reason = "order already imported";
        }
        res.push_back(std::move(r));
    }
    for (const auto& [id, before] : touched) {
        auto now_value = c->run("import_orders",
                                "UPDATE customers SET lifetime_value = (SELECT sum(amount) FROM orders WHERE "
                                "customer_id = $1), updated_at = $2 WHERE id = $1 RETURNING lifetime_value",
                                id, at);
        const auto after = now_value.opt_i64(0, 0);
        if (after == before) continue;
        auto js = [](const std::optional<std::int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
        insert_audit(*c, actor, "customer.update",
                     nlohmann::json{{"id", id},
                                    {"via", "orders import"},
                                    {"changes", {{"lifetime_value", {{"before", js(before)}, {"after", js(after)}}}}}}
                         .dump(),
                     at);
    }
    // The money part of a computed score compares with everybody's lifetime
    // values: the quartiles are read after the new sums.
    if (!touched.empty() && !dry_run) {
        const auto quartiles = lifetime_quartiles(*c);
        const auto now = now_ms();
        for (const auto& [id, before] : touched) rescore(*c, id, now, quartiles);
        impl_->start_recount(*c);  // the others' money part moved too
    }
    if (!dry_run) tx.commit();  // a dry run rolls back in ~Transaction
    if (!touched.empty() && !dry_run) impl_->wake_upkeep();
    return res;
}

}  // namespace ringside
