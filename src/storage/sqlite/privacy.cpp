// SqliteStore: a customer's data on request (export, erasure) and retention.
#include <limits>

#include <nlohmann/json.hpp>

#include "ringside/core/privacy.hpp"
#include "ringside/core/stored_records.hpp"
#include "ringside/core/time.hpp"
#include "erase_sql.hpp"
#include "rows.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

std::optional<CustomerData> SqliteStore::customer_data(std::int64_t id) {
    return impl_->read("customer_data", [&](Connection& c) -> std::optional<CustomerData> {
        Transaction tx(c, "BEGIN");  // one snapshot for the whole file
        auto customer = customer_row(c, id);
        if (!customer) return std::nullopt;
        CustomerData d;
        d.customer = std::move(*customer);
        impl_->load_phones(c, d.customer);
        {
            Query q(c, "SELECT " + issue_columns + " FROM issues WHERE customer_id = ? ORDER BY opened_at DESC, id DESC");
            q.bind(id);
            while (q.step()) d.issues.push_back({read_issue(q), {}});
        }
        for (auto& i : d.issues) i.history = read_issue_history(c, i.issue.id);
        {
            Query q(c, "SELECT " + interaction_columns +
                           " FROM interactions WHERE customer_id = ? ORDER BY at DESC, id DESC");
            q.bind(id);
            while (q.step()) {
                auto i = read_interaction(q);
                i.summary = q.str(5);  // the notes apart, as stored
                d.interactions.push_back(std::move(i));
                d.interaction_notes.push_back(q.str(10));
            }
        }
        {
            // Calls linked to the customer, and calls from or to one of their
            // numbers made before they were known (or unmatched).
            static const std::string sql =
                call_select +
                " WHERE customer_id = ?1 OR from_number IN (SELECT e164 FROM customer_phones WHERE customer_id = ?1) "
                "OR to_number IN (SELECT e164 FROM customer_phones WHERE customer_id = ?1) "
                "ORDER BY started_at DESC, id DESC";
            Query q(c, sql);
            q.bind(id);
            while (q.step()) d.calls.push_back(read_call(q));
        }
        for (std::int64_t before = std::numeric_limits<std::int64_t>::max();;) {
            auto page = read_customer_audit(c, id, before, 500);
            if (page.empty()) break;
            before = page.back().id;
            for (auto& e : page) d.audit.push_back(std::move(e));
        }
        tx.commit();
        return d;
    });
}

std::optional<EraseReport> SqliteStore::erase_customer(std::int64_t id, const std::string& actor,
                                                       const std::string& reason, Timestamp at) {
    return impl_->write("erase_customer", [&](Connection& c) -> std::optional<EraseReport> {
        Transaction tx(c, "BEGIN IMMEDIATE");
        auto before = customer_row(c, id);
        if (!before) return std::nullopt;
        EraseReport r;
        // Numbers first, while customer_phones still holds them.
        static const std::string calls_sql = storage_sql::erase_calls("?1", "?2");
        r.calls = Query(c, calls_sql).bind(id, erased_number(id)).exec();
        r.interactions = Query(c, "UPDATE interactions SET summary = '', notes = '' WHERE customer_id = ?").bind(id).exec();
        Query(c,
              "DELETE FROM issue_changes WHERE field IN ('title', 'description', 'created') "
              "AND issue_id IN (SELECT id FROM issues WHERE customer_id = ?)")
            .bind(id)
            .exec();
        r.issues = Query(c, "UPDATE issues SET title = ?, description = '' WHERE customer_id = ?")
                       .bind(std::string(erased_name), id)
                       .exec();
        // The audit trail keeps who did what when, without the values.
        r.audit_entries =
            Query(c,
                  "UPDATE audit_log SET detail = json_object('id', ?1, 'erased', json('true')) "
                  "WHERE action GLOB 'customer*' AND action <> 'customer.erase' "
                  "AND (CASE WHEN json_valid(detail) THEN json_extract(detail, '$.id') END) = ?1 "
                  "AND json_extract(detail, '$.erased') IS NOT 1")
                .bind(id)
                .exec();
        const auto after = erased_customer(*before, actor, reason, at);
        update_customer_row(c, after, at);  // also drops its numbers, search words and labels
        Query(c, "UPDATE customers SET erased_at = coalesce(erased_at, ?) WHERE id = ?").bind(at, id).exec();
        insert_audit(c, actor, "customer.erase", erase_audit_details(id, reason, r), at);
        std::optional<std::int64_t> before_score;
        if (before->status == "active" && before->value_score) before_score = *before->value_score;
        tx.commit();
        if (before->status == "active") impl_->pending_moves = {{before_score, std::nullopt}};
        return r;
    });
}

RetentionReport SqliteStore::apply_retention(const RetentionCutoffs& cut, Timestamp now) {
    // Short transactions of a few thousand rows each: the call engine's
    // writes wait for one batch at most, never for the whole run.
    constexpr std::int64_t batch = 2000;
    auto drain = [&](const char* op, auto&& one_batch) {
        std::int64_t total = 0;
        for (;;) {
            const std::int64_t n = impl_->write(op, [&](Connection& c) {
                Transaction tx(c, "BEGIN IMMEDIATE");
                const std::int64_t done = one_batch(c);
                tx.commit();
                return done;
            });
            total += n;
            if (n < batch) return total;
        }
    };
    RetentionReport r;
    if (cut.call_notes_before) {
        const auto before = *cut.call_notes_before;
        r.call_notes_blanked = drain("apply_retention", [&](Connection& c) -> std::int64_t {
            return Query(c,
                         "UPDATE calls SET notes = '' WHERE rowid IN "
                         "(SELECT rowid FROM calls WHERE started_at < ? AND notes <> '' LIMIT ?)")
                .bind(before, batch)
                .exec();
        });
        drain("apply_retention", [&](Connection& c) -> std::int64_t {
            return Query(c,
                         "UPDATE interactions SET notes = '' WHERE id IN "
                         "(SELECT id FROM interactions WHERE at < ? AND call_id IS NOT NULL AND notes <> '' LIMIT ?)")
                .bind(before, batch)
                .exec();
        });
    }
    if (cut.call_records_before) {
        const auto before = *cut.call_records_before;
        r.call_records_deleted = drain("apply_retention", [&](Connection& c) -> std::int64_t {
            return Query(c, "DELETE FROM calls WHERE rowid IN (SELECT rowid FROM calls WHERE started_at < ? LIMIT ?)")
                .bind(before, batch)
                .exec();
        });
    }
    if (cut.audit_before) {
        const auto before = *cut.audit_before;
        r.audit_entries_deleted = drain("apply_retention", [&](Connection& c) -> std::int64_t {
            // The trigger lets entries older than this key go, only while it is set.
            Query(c, "INSERT OR REPLACE INTO store_meta (key, value) VALUES ('audit_retention_before', ?)")
                .bind(before)
                .exec();
            const std::int64_t n =
                Query(c, "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ?)")
                    .bind(before, batch)
                    .exec();
            Query(c, "DELETE FROM store_meta WHERE key = 'audit_retention_before'").exec();
            return n;
        });
    }
    audit("system", "retention.apply", retention_audit_details(r, cut), now);
    return r;
}

RetentionReport SqliteStore::preview_retention(const RetentionCutoffs& cut) {
    return impl_->read("preview_retention", [&](Connection& c) {
        Transaction tx(c, "BEGIN");  // one snapshot for the three counts
        RetentionReport r;
        auto count = [&](const char* sql, Timestamp before) {
            Query q(c, sql);
            q.bind(before);
            return q.step() ? q.i64(0) : std::int64_t{0};
        };
        // The same rows apply_retention's batches pick.
        if (cut.call_notes_before)
            r.call_notes_blanked = count("SELECT count(*) FROM calls WHERE started_at < ? AND notes <> ''", *cut.call_notes_before);
        if (cut.call_records_before)
            r.call_records_deleted = count("SELECT count(*) FROM calls WHERE started_at < ?", *cut.call_records_before);
        if (cut.audit_before)
            r.audit_entries_deleted = count("SELECT count(*) FROM audit_log WHERE at < ?", *cut.audit_before);
        tx.commit();
        return r;
    });
}

}  // namespace ringside
