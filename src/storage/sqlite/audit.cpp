// SqliteStore: the audit trail (append-only) and its pages.
#include <limits>

#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

void sqlite::insert_audit(Connection& c, const std::string& actor, const std::string& action,
                          const std::string& detail, Timestamp at) {
    Query(c, "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)").bind(at, actor, action, detail).exec();
}

/// One customer's audit entries, newest first: a seek on audit_log_customer
/// (the expression and the GLOB are the index's own).
std::vector<AuditEntry> sqlite::read_customer_audit(Connection& c, std::int64_t customer_id,
                                                    std::int64_t before_id, std::int64_t limit) {
    static const std::string sql =
        "SELECT id, at, actor, action, detail FROM audit_log WHERE action GLOB 'customer*' "
        "AND (CASE WHEN json_valid(detail) THEN json_extract(detail, '$.id') END) = ? AND id < ? "
        "ORDER BY id DESC LIMIT ?";
    Query q(c, sql);
    q.bind(customer_id, before_id, limit);
    std::vector<AuditEntry> out;
    while (q.step()) out.push_back(AuditEntry{q.i64(0), from_ms(q.i64(1)), q.str(2), q.str(3), q.str(4)});
    return out;
}

void SqliteStore::audit(const std::string& actor, const std::string& action, const std::string& detail,
                        Timestamp at) {
    impl_->write("audit", [&](Connection& c) {
        Query(c, "INSERT INTO audit_log (at, actor, action, detail) VALUES (?, ?, ?, ?)")
            .bind(at, actor, action, detail)
            .exec();
    });
}

std::vector<AuditEntry> SqliteStore::list_audit(std::optional<std::int64_t> before_id, std::size_t limit) {
    return impl_->read("list_audit", [&](Connection& c) {
        Query q(c, "SELECT id, at, actor, action, detail FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?");
        q.bind(before_id.value_or(std::numeric_limits<std::int64_t>::max()), static_cast<std::int64_t>(limit));
        std::vector<AuditEntry> out;
        while (q.step()) out.push_back(AuditEntry{q.i64(0), from_ms(q.i64(1)), q.str(2), q.str(3), q.str(4)});
        return out;
    });
}

std::vector<AuditEntry> SqliteStore::list_customer_audit(std::optional<std::int64_t> customer_id,
                                                         std::optional<std::int64_t> before_id, std::size_t limit) {
    return impl_->read("list_customer_audit", [&](Connection& c) {
        // One customer: read_customer_audit. All: newest first by id, skipping others.
        static const std::string all =
            "SELECT id, at, actor, action, detail FROM audit_log "
            "WHERE (action GLOB 'customer*' OR action = 'issues.export') AND id < ? ORDER BY id DESC LIMIT ?";
        const auto before = before_id.value_or(std::numeric_limits<std::int64_t>::max());
        const auto n = static_cast<std::int64_t>(std::clamp<std::size_t>(limit, 1, 500));
        if (customer_id) return read_customer_audit(c, *customer_id, before, n);
        Query q(c, all);
        q.bind(before, n);
        std::vector<AuditEntry> out;
        while (q.step()) out.push_back(AuditEntry{q.i64(0), from_ms(q.i64(1)), q.str(2), q.str(3), q.str(4)});
        return out;
    });
}

}  // namespace ringside
