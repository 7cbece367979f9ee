// SqliteStore: customers (the file, its phones, search words and labels),
// the pop's customer context, search and streaming.
#include <nlohmann/json.hpp>

#include "ringside/core/customers.hpp"
#include "ringside/core/stored_records.hpp"
#include "rows.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

void SqliteStore::Impl::load_phones(Connection& c, Customer& cu) {
    static const std::string sql =
        "SELECT e164, label FROM customer_phones WHERE customer_id = ? ORDER BY position";
    Query q(c, sql);
    q.bind(cu.id);
    cu.phones.clear();
    cu.phone_labels.clear();
    while (q.step()) {
        cu.phones.push_back(q.str(0));
        cu.phone_labels.push_back(q.str(1));
    }
}

CustomerContext SqliteStore::Impl::context_of(Connection& c, Customer customer) {
    CustomerContext ctx;
    load_phones(c, customer);
    {
        static const std::string sql = "SELECT count(*) FROM issues WHERE customer_id = ?";
        Query q(c, sql);
        q.bind(customer.id);
        if (q.step()) ctx.complaints = q.i64(0);
    }
    ctx.score_histogram = histogram();
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

namespace sqlite {

/// The customer's folded words in the trigram index (customer_names), for
/// name search inside words; the caller has removed any earlier row.
void write_customer_words(Connection& c, std::int64_t id, const std::vector<std::string>& terms) {
    std::string words;
    for (const auto& t : terms) words += (words.empty() ? "" : " ") + t;
    Query(c, "INSERT INTO customer_names (rowid, words) VALUES (?, ?)").bind(id, words).exec();
}

namespace {

/// Phones, search terms and labels of a customer row, rewritten whole.
void write_customer_children(Connection& c, std::int64_t id, const Customer& cu, bool fresh) {
    if (!fresh) {
        Query(c, "DELETE FROM customer_phones WHERE customer_id = ?").bind(id).exec();
        Query(c, "DELETE FROM customer_terms WHERE customer_id = ?").bind(id).exec();
        Query(c, "DELETE FROM customer_labels WHERE customer_id = ?").bind(id).exec();
        Query(c, "DELETE FROM customer_names WHERE rowid = ?").bind(id).exec();
    }
    std::int64_t pos = 0;
    for (std::size_t i = 0; i < cu.phones.size(); ++i) {
        const std::string label = i < cu.phone_labels.size() ? cu.phone_labels[i] : std::string();
        // The same number twice on one customer is stored once.
        Query(c, "INSERT OR IGNORE INTO customer_phones (e164, customer_id, label, position) VALUES (?, ?, ?, ?)")
            .bind(cu.phones[i], id, label, pos++)
            .exec();
    }
    const auto terms = search_terms(cu);
    for (const auto& t : terms)
        Query(c, "INSERT OR IGNORE INTO customer_terms (term, customer_id) VALUES (?, ?)").bind(t, id).exec();
    write_customer_words(c, id, terms);
    for (const auto& t : cu.tags)
        Query(c, "INSERT OR IGNORE INTO customer_labels (kind, label, customer_id) VALUES ('t', ?, ?)").bind(t, id).exec();
    for (const auto& g : cu.groups)
        Query(c, "INSERT OR IGNORE INTO customer_labels (kind, label, customer_id) VALUES ('g', ?, ?)").bind(g, id).exec();
}

/// Inside the caller's transaction.
std::int64_t insert_customer(Connection& c, const Customer& given) {
    const Customer cu = stored_form(given);
    Query(c,
          "INSERT INTO customers (name, salutation, email, tier, tags, company, notes, language, created_at, "
          "birthday, groups, owner, kind, source_campaign, preferred_channel, contact_time, opt_outs, value_score, "
          "lifetime_value, customer_since, email_key, terms_version, value_score_computed) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)")
        .bind(cu.name, cu.salutation, cu.email, cu.tier, tags_to_json(cu.tags), cu.company,
              cu.notes, cu.language, cu.created_at, cu.birthday, tags_to_json(cu.groups), cu.owner,
              cu.kind.empty() ? std::string("customer") : cu.kind, cu.source_campaign, cu.preferred_channel,
              cu.contact_time, tags_to_json(cu.opt_outs), cu.value_score, cu.lifetime_value, cu.customer_since,
              lower_ascii(cu.email), cu.value_score && cu.value_score_computed)
        .exec();
    const std::int64_t id = c.db.getLastInsertRowid();
    write_customer_children(c, id, cu, true);
    return id;
}

}  // namespace

/// Inside the caller's transaction: every field of the row from cu.
void update_customer_row(Connection& c, const Customer& given, Timestamp at) {
    const Customer cu = stored_form(given);
    Query(c,
          "UPDATE customers SET name = ?, salutation = ?, email = ?, tier = ?, tags = ?, company = ?, notes = ?, "
          "language = ?, birthday = ?, groups = ?, owner = ?, kind = ?, source_campaign = ?, preferred_channel = ?, "
          "contact_time = ?, opt_outs = ?, value_score = ?, lifetime_value = ?, customer_since = ?, status = ?, "
          "removed_at = ?, removed_by = ?, removed_reason = ?, updated_at = ?, email_key = ?, terms_version = 1, "
          "value_score_computed = ? WHERE id = ?")
        .bind(cu.name, cu.salutation, cu.email, cu.tier, tags_to_json(cu.tags), cu.company, cu.notes,
              cu.language, cu.birthday, tags_to_json(cu.groups), cu.owner, cu.kind, cu.source_campaign,
              cu.preferred_channel, cu.contact_time, tags_to_json(cu.opt_outs), cu.value_score, cu.lifetime_value,
              cu.customer_since, cu.status, cu.removed_at, cu.removed_by, cu.removed_reason, at,
              lower_ascii(cu.email), cu.value_score && cu.value_score_computed, cu.id)
        .exec();
    write_customer_children(c, cu.id, cu, false);
}

}  // namespace sqlite

std::int64_t SqliteStore::Impl::insert_scored(Connection& c, const Customer& cu, Timestamp now) {
    const auto scored = with_initial_value_score(cu, lifetime_quartiles(), now);
    const auto id = insert_customer(c, scored);
    if (scored.value_score) pending_moves.push_back({std::nullopt, *scored.value_score});
    return id;
}

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
        auto customer = customer_row(c, customer_id, true);
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
        for (auto& cu : out) impl_->load_phones(c, cu);
        tx.commit();
        return out;
    });
}

std::int64_t SqliteStore::create_customer(const Customer& cu) {
    require_e164(cu);
    return impl_->write("create_customer", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const auto id = impl_->insert_scored(c, cu, now_ms());
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
        const auto now = now_ms();
        for (const auto& cu : batch) ids.push_back(impl_->insert_scored(c, cu, now));
        tx.commit();
        return ids;
    });
}

std::size_t SqliteStore::customer_count() {
    return impl_->read("customer_count", [&](Connection& c) {
        Query q(c, "SELECT count(*) FROM customers WHERE status = 'active'");
        q.step();
        return static_cast<std::size_t>(q.i64(0));
    });
}

std::optional<Customer> SqliteStore::find_customer(std::int64_t id) {
    return impl_->read("find_customer", [&](Connection& c) -> std::optional<Customer> {
        Transaction tx(c, "BEGIN");
        auto out = customer_row(c, id);
        if (out) impl_->load_phones(c, *out);
        tx.commit();
        return out;
    });
}

bool SqliteStore::update_customer(const Customer& after, const std::string& actor, const std::string& action,
                                  const std::string& detail, Timestamp at) {
    for (const auto& p : after.phones)
        if (!is_e164(p)) throw std::invalid_argument("update_customer: phone is not E.164 (normalise it first)");
    return impl_->write("update_customer", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        std::optional<std::int64_t> before_score;
        {
            Query q(c, "SELECT value_score, status, erased_at IS NOT NULL FROM customers WHERE id = ?");
            q.bind(after.id);
            if (!q.step() || q.i64(2) != 0) return false;
            if (q.str(1) == "active") before_score = q.opt_i64(0);
        }
        update_customer_row(c, after, at);
        // A score handed back to Ringside (none set by hand) follows the
        // history again, and a computed one follows a new lifetime value.
        if (value_score_follows_history(after.value_score.has_value(), after.value_score_computed))
            impl_->rescore(c, after.id, now_ms());
        insert_audit(c, actor, action, detail, at);
        std::optional<std::int64_t> after_score;
        {
            Query q(c, "SELECT value_score, status FROM customers WHERE id = ?");
            q.bind(after.id);
            if (q.step() && q.str(1) == "active") after_score = q.opt_i64(0);
        }
        tx.commit();
        impl_->pending_moves = {{before_score, after_score}};  // the whole edit's move, rescore's included
        return true;
    });
}

std::int64_t SqliteStore::create_customer_audited(const Customer& cu, const std::string& actor,
                                                  const std::string& detail, Timestamp at) {
    require_e164(cu);
    const auto id = impl_->write("create_customer_audited", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const auto new_id = impl_->insert_scored(c, cu, now_ms());
        auto d = nlohmann::json::parse(detail, nullptr, false);
        if (!d.is_object()) d = nlohmann::json::object();
        d["id"] = new_id;
        insert_audit(c, actor, "customer.create", d.dump(), at);
        tx.commit();
        return new_id;
    });
    return id;
}

namespace {

/// Which of the query's filters at most 20,000 rows pass, by bounded counts
/// on their indexes (at most that many entries read). A common filter is
/// better walked newest first, stopping at the limit; a rare (or empty) one
/// would make that walk read every customer.
RareFilters rare_filters(Connection& c, const CustomerQuery& q) {
    constexpr std::int64_t rare = 20000;
    RareFilters out;
    if (q.include_removed) return out;
    if (q.min_score || q.max_score) {
        static const std::string sql =
            "SELECT count(*) FROM (SELECT 1 FROM customers WHERE status = 'active' AND value_score >= ? "
            "AND value_score <= ? LIMIT ?)";
        Query count(c, sql);
        count.bind(static_cast<std::int64_t>(q.min_score.value_or(1)),
                   static_cast<std::int64_t>(q.max_score.value_or(10)), rare + 1);
        out.score = count.step() && count.i64(0) <= rare;
    }
    if (q.contacted_since && !out.score) {
        static const std::string sql = "SELECT count(*) FROM (SELECT 1 FROM interactions WHERE at >= ? LIMIT ?)";
        Query count(c, sql);
        count.bind(to_ms(*q.contacted_since), rare + 1);
        out.contacted = count.step() && count.i64(0) <= rare;
    }
    return out;
}

}  // namespace

std::vector<Customer> SqliteStore::search_customers(const CustomerQuery& cq) {
    return impl_->read("search_customers", [&](Connection& c) {
        Transaction tx(c, "BEGIN");
        const auto b = build_customer_query(cq, true, false, impl_->names_ready, rare_filters(c, cq));
        std::vector<Customer> out;
        {
            Query q(c, b.sql);
            bind_all(q, b.params);
            while (q.step()) out.push_back(read_customer(q));
        }
        for (auto& cu : out) impl_->load_phones(c, cu);
        tx.commit();
        return out;
    });
}

void SqliteStore::for_each_customer(const CustomerQuery& cq, const std::function<bool(const Customer&)>& fn) {
    impl_->read("for_each_customer", [&](Connection& c) {
        Transaction tx(c, "BEGIN");
        const auto b = build_customer_query(cq, false, true, impl_->names_ready);
        Query q(c, b.sql);
        bind_all(q, b.params);
        while (q.step()) {
            auto cu = read_customer(q);
            impl_->load_phones(c, cu);
            if (!fn(cu)) break;
        }
    });
}

}  // namespace ringside
