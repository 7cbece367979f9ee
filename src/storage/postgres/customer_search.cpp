// PostgresStore: the customer file's search and export stream
// (Customers::search_customers, for_each_customer).
//
// One WHERE over customers, every filter a condition on the row; the
// planner picks the index that drives (PQexecParams plans each statement
// with its values, so a LIKE prefix or a rare tag can drive). Name words of
// 3 characters or more match anywhere inside a word of the name or company:
// ILIKE on name_words (the customer's folded words, space-separated) is
// answered by the pg_trgm GIN index customers_name_words_trgm, where SQLite
// keeps an FTS5 trigram table. Shorter words match a word's start, on
// customer_terms' pattern index, as on SQLite.
#include <algorithm>

#include "ringside/storage/postgres_store.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace pg;

namespace {

constexpr std::size_t min_inside_word_chars = 3;  // as SQLite's trigram tokens
constexpr std::int64_t stream_page = 1000;

std::size_t utf8_chars(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char ch) {
        return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    }));
}

struct Built {
    std::string where;          // " WHERE ..." over customers c
    std::vector<Param> params;  // $1.. in order
};

/// Every set field of q as a condition (ports/customers.hpp CustomerQuery).
Built customer_conditions(const CustomerQuery& q) {
    Built b;
    b.where = " WHERE true";
    auto arg = [&](Param p) {
        b.params.push_back(std::move(p));
        return "$" + std::to_string(b.params.size());
    };
    for (const auto& t : q.terms) {
        if (t.empty()) continue;
        if (utf8_chars(t) >= min_inside_word_chars)
            b.where += " AND c.name_words ILIKE " + arg(param("%" + like_literal(t) + "%"));
        else
            b.where += " AND EXISTS (SELECT 1 FROM customer_terms t WHERE t.customer_id = c.id AND t.term LIKE " +
                       arg(param(like_literal(t) + "%")) + ")";
    }
    if (q.phone)
        b.where += " AND c.id IN (SELECT customer_id FROM customer_phones WHERE e164 = " + arg(param(*q.phone)) + ")";
    if (q.email) b.where += " AND c.email_key = " + arg(param(lower_ascii(*q.email))) + " AND c.email_key <> ''";
    if (q.tag)
        b.where += " AND EXISTS (SELECT 1 FROM customer_labels l WHERE l.customer_id = c.id AND l.kind = 't' AND "
                   "l.label = " + arg(param(*q.tag)) + ")";
    if (q.group)
        b.where += " AND EXISTS (SELECT 1 FROM customer_labels l WHERE l.customer_id = c.id AND l.kind = 'g' AND "
                   "l.label = " + arg(param(*q.group)) + ")";
    if (q.tier) b.where += " AND c.tier = " + arg(param(*q.tier));
    if (q.owner) b.where += " AND c.owner = " + arg(param(*q.owner));
    if (q.kind) b.where += " AND c.kind = " + arg(param(*q.kind));
    if (q.min_score) b.where += " AND c.value_score >= " + arg(param(*q.min_score));
    if (q.max_score) b.where += " AND c.value_score <= " + arg(param(*q.max_score));
    if (q.min_lifetime_value) b.where += " AND c.lifetime_value >= " + arg(param(*q.min_lifetime_value));
    if (q.min_complaints)
        b.where += " AND c.id IN (SELECT customer_id FROM issues GROUP BY customer_id HAVING count(*) >= " +
                   arg(param(*q.min_complaints)) + ")";
    if (q.with_open_issues) b.where += " AND c.id IN (SELECT customer_id FROM issues WHERE status = 'open')";
    if (q.contacted_since)
        b.where += " AND EXISTS (SELECT 1 FROM interactions x WHERE x.customer_id = c.id AND x.at >= " +
                   arg(param(*q.contacted_since)) + ")";
    if (q.not_contacted_since)
        b.where += " AND NOT EXISTS (SELECT 1 FROM interactions x WHERE x.customer_id = c.id AND x.at >= " +
                   arg(param(*q.not_contacted_since)) + ")";
    if (q.customer_before)
        b.where += " AND coalesce(c.customer_since, c.created_at) < " + arg(param(*q.customer_before));
    if (!q.include_removed) b.where += " AND c.status = 'active'";
    return b;
}

}  // namespace

std::vector<Customer> PostgresStore::search_customers(const CustomerQuery& q) {
    auto b = customer_conditions(q);
    b.params.push_back(param(static_cast<std::int64_t>(std::clamp<std::size_t>(q.limit, 1, 500))));
    const std::string sql = "SELECT " + customer_columns + " FROM customers c" + b.where +
                            " ORDER BY c.id DESC LIMIT $" + std::to_string(b.params.size());
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");  // the rows and their phones together
    auto r = c->exec("search_customers", sql, b.params);
    std::vector<Customer> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_customer(r, i));
    for (auto& cu : out) load_phones(*c, cu);
    tx.commit();
    return out;
}

void PostgresStore::for_each_customer(const CustomerQuery& q, const std::function<bool(const Customer&)>& fn) {
    // Pages in id order from one snapshot: the whole export is one point in
    // time, and neither side holds more than a page.
    auto b = customer_conditions(q);
    b.params.push_back(param(std::int64_t{0}));
    const auto after = b.params.size();
    b.params.push_back(param(stream_page));
    const std::string sql = "SELECT " + customer_columns + " FROM customers c" + b.where + " AND c.id > $" +
                            std::to_string(after) + " ORDER BY c.id LIMIT $" + std::to_string(after + 1);
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    for (;;) {
        auto r = c->exec("for_each_customer", sql, b.params);
        std::vector<Customer> page;
        page.reserve(static_cast<std::size_t>(r.rows()));
        for (int i = 0; i < r.rows(); ++i) page.push_back(read_customer(r, i));
        for (auto& cu : page) {
            load_phones(*c, cu);
            if (!fn(cu)) {
                tx.commit();
                return;
            }
        }
        if (static_cast<std::int64_t>(page.size()) < stream_page) break;
        b.params[after - 1] = param(page.back().id);
    }
    tx.commit();
}

}  // namespace ringside
