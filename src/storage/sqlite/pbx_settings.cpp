// SqliteStore: the PBX connections added on the admin page.
#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

std::vector<StoredPbx> SqliteStore::list_pbx() {
    return impl_->read("list_pbx", [&](Connection& c) {
        Query q(c, "SELECT id, type, settings, enabled, created_at, created_by FROM pbx_connections ORDER BY created_at, id");
        std::vector<StoredPbx> out;
        while (q.step()) out.push_back(StoredPbx{q.str(0), q.str(1), q.str(2), q.i64(3) != 0, from_ms(q.i64(4)), q.str(5)});
        return out;
    });
}

void SqliteStore::create_pbx(const StoredPbx& p) {
    try {
        impl_->write("create_pbx", [&](Connection& c) {
            Query(c, "INSERT INTO pbx_connections (id, type, settings, enabled, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(p.id, p.type, p.settings, p.enabled, p.created_at, p.created_by)
                .exec();
        });
    } catch (const StorageConflict&) {
        throw StorageConflict("PBX id '" + p.id + "' is taken");
    }
}

bool SqliteStore::set_pbx_enabled(const std::string& id, bool enabled) {
    return impl_->write("set_pbx_enabled", [&](Connection& c) {
        return Query(c, "UPDATE pbx_connections SET enabled = ? WHERE id = ?").bind(enabled, id).exec() > 0;
    });
}

bool SqliteStore::update_pbx(const std::string& id, const std::string& settings, bool enabled) {
    return impl_->write("update_pbx", [&](Connection& c) {
        return Query(c, "UPDATE pbx_connections SET settings = ?, enabled = ? WHERE id = ?")
                   .bind(settings, enabled, id)
                   .exec() > 0;
    });
}

bool SqliteStore::remove_pbx(const std::string& id) {
    return impl_->write("remove_pbx", [&](Connection& c) {
        return Query(c, "DELETE FROM pbx_connections WHERE id = ?").bind(id).exec() > 0;
    });
}

}  // namespace ringside
