// SqliteStore: issues, their history, and the customers' interactions.
#include <limits>
#include <set>

#include "ringside/core/stored_records.hpp"
#include "rows.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

std::optional<std::int64_t> SqliteStore::Impl::issue_customer(Connection& c, std::int64_t issue_id) {
    static const std::string sql = "SELECT customer_id FROM issues WHERE id = ?";
    Query q(c, sql);
    q.bind(issue_id);
    if (!q.step()) return std::nullopt;
    return q.i64(0);
}

std::int64_t SqliteStore::Impl::upsert_interaction(Connection& c, const Interaction& i, const std::string& notes) {
    // A call's entry keeps the agent's disposition and notes when the write
    // carries none (kept_agent_text, in SQL).
    static const std::string sql =
        "INSERT INTO interactions (customer_id, at, channel, direction, summary, agent, call_id, status, "
        "disposition, notes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (call_id) WHERE call_id IS NOT NULL DO UPDATE SET "
        "customer_id = excluded.customer_id, at = excluded.at, channel = excluded.channel, "
        "direction = excluded.direction, summary = excluded.summary, agent = excluded.agent, "
        "status = excluded.status, "
        "disposition = CASE WHEN excluded.disposition <> '' THEN excluded.disposition "
        "ELSE interactions.disposition END, "
        "notes = CASE WHEN excluded.notes <> '' THEN excluded.notes ELSE interactions.notes END "
        "RETURNING id";
    Query q(c, sql);
    q.bind(i.customer_id, i.at, i.channel, i.direction, stored_text(i.summary), i.agent, i.call_id, i.status,
           i.disposition, stored_text(notes));
    if (!q.step()) throw StorageError("storage: interaction upsert returned no row on " + path);
    return q.i64(0);
}

std::vector<IssueChange> sqlite::read_issue_history(Connection& c, std::int64_t issue_id) {
    Query q(c, "SELECT at, actor, field, before, after FROM issue_changes WHERE issue_id = ? ORDER BY at, id");
    q.bind(issue_id);
    std::vector<IssueChange> out;
    while (q.step()) out.push_back({from_ms(q.i64(0)), q.str(1), q.str(2), q.str(3), q.str(4)});
    return out;
}

std::int64_t SqliteStore::create_issue(const Issue& given) {
    const Issue i = stored_form(given);
    return impl_->write("create_issue", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        Query(c,
              "INSERT INTO issues (customer_id, title, description, status, opened_at, resolved_at, priority, owner) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(i.customer_id, i.title, i.description, i.status, i.opened_at,
                  i.resolved_at, i.priority.empty() ? std::string("normal") : i.priority, i.owner)
            .exec();
        const auto id = static_cast<std::int64_t>(c.db.getLastInsertRowid());
        impl_->rescore(c, i.customer_id, now_ms());
        tx.commit();
        return id;
    });
}

std::optional<Issue> SqliteStore::find_issue(std::int64_t id) {
    return impl_->read("find_issue", [&](Connection& c) -> std::optional<Issue> {
        Query q(c, "SELECT " + issue_columns + " FROM issues WHERE id = ?");
        q.bind(id);
        if (!q.step()) return std::nullopt;
        return read_issue(q);
    });
}

bool SqliteStore::set_issue_status(std::int64_t id, const std::string& status, Timestamp at) {
    if (status != "open" && status != "resolved")
        throw std::invalid_argument("set_issue_status: status must be \"open\" or \"resolved\"");
    return impl_->write("set_issue_status", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        std::optional<Timestamp> resolved_at;
        if (status == "resolved") resolved_at = at;
        if (Query(c, "UPDATE issues SET status = ?, resolved_at = ? WHERE id = ?").bind(status, resolved_at, id).exec() == 0)
            return false;
        if (const auto customer = impl_->issue_customer(c, id)) impl_->rescore(c, *customer, now_ms());
        tx.commit();
        return true;
    });
}

std::int64_t SqliteStore::add_interaction(const Interaction& i) {
    return impl_->write("add_interaction", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const auto id = impl_->upsert_interaction(c, i, "");
        impl_->rescore(c, i.customer_id, now_ms());
        tx.commit();
        return id;
    });
}

void SqliteStore::add_interactions(const std::vector<Interaction>& batch) {
    if (batch.empty()) return;
    impl_->write("add_interactions", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        std::set<std::int64_t> customers;
        for (const auto& i : batch) {
            impl_->upsert_interaction(c, i, "");
            customers.insert(i.customer_id);
        }
        const auto now = now_ms();
        for (const auto id : customers) impl_->rescore(c, id, now);
        tx.commit();
    });
}

std::vector<Interaction> SqliteStore::customer_timeline(std::int64_t customer_id, std::optional<Timestamp> before,
                                                        std::size_t limit) {
    return impl_->read("customer_timeline", [&](Connection& c) {
        Query q(c, "SELECT " + interaction_columns +
                       " FROM interactions WHERE customer_id = ? AND at < ? ORDER BY at DESC, id DESC LIMIT ?");
        q.bind(customer_id, before ? to_ms(*before) : std::numeric_limits<std::int64_t>::max(),
               static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, 200)));
        std::vector<Interaction> out;
        while (q.step()) out.push_back(read_interaction(q));
        return out;
    });
}

std::vector<Issue> SqliteStore::customer_issues(std::int64_t customer_id) {
    return impl_->read("customer_issues", [&](Connection& c) {
        Query q(c, "SELECT " + issue_columns + " FROM issues WHERE customer_id = ? ORDER BY opened_at DESC, id DESC");
        q.bind(customer_id);
        std::vector<Issue> out;
        while (q.step()) out.push_back(read_issue(q));
        return out;
    });
}

bool SqliteStore::update_issue(const Issue& given, const std::vector<IssueChange>& changes) {
    const Issue i = stored_form(given);
    return impl_->write("update_issue", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        if (Query(c,
                  "UPDATE issues SET title = ?, description = ?, status = ?, resolved_at = ?, priority = ?, owner = ? "
                  "WHERE id = ?")
                .bind(i.title, i.description, i.status, i.resolved_at, i.priority, i.owner, i.id)
                .exec() == 0)
            return false;
        for (const auto& given_change : changes) {
            const auto ch = stored_form(given_change);
            Query(c, "INSERT INTO issue_changes (issue_id, at, actor, field, before, after) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(i.id, ch.at, ch.actor, ch.field, ch.before, ch.after)
                .exec();
        }
        if (const auto customer = impl_->issue_customer(c, i.id)) impl_->rescore(c, *customer, now_ms());
        tx.commit();
        return true;
    });
}

std::vector<IssueChange> SqliteStore::issue_history(std::int64_t issue_id) {
    return impl_->read("issue_history", [&](Connection& c) { return read_issue_history(c, issue_id); });
}

void SqliteStore::for_each_issue(const std::function<bool(const Issue&)>& fn) {
    impl_->read("for_each_issue", [&](Connection& c) {
        Query q(c, "SELECT " + issue_columns + " FROM issues ORDER BY id");
        while (q.step())
            if (!fn(read_issue(q))) break;
    });
}

}  // namespace ringside
