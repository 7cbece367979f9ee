// SqliteStore: imports of customers and of orders (lifetime values), each
// batch one transaction with its audit entries; a dry run rolls back.
#include <map>

#include <nlohmann/json.hpp>

#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

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

}  // namespace ringside
