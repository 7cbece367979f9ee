// The one-shot commands: check-config, user add, import customers and
// orders, backup, restore, retention.
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include "app.hpp"
#include "retention.hpp"
#include "service_lock.hpp"
#include "ringside/app/config.hpp"
#include "ringside/core/csv.hpp"
#include "ringside/core/password.hpp"
#include "ringside/core/phone.hpp"
#include "ringside/core/privacy.hpp"
#include "ringside/storage/copy_to_postgres.hpp"
#include "ringside/storage/customer_import.hpp"
#include "ringside/storage/sqlite_backup.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "stores.hpp"

namespace ringside::app {

Config load_or_explain(const std::string& file) {
    auto r = load_config(file);
    if (!r.config) {
        std::string what;
        for (const auto& e : r.errors) {
            std::cerr << file << (e.line ? ":" + std::to_string(e.line) : "") << ": "
                      << (e.key.empty() ? "" : e.key + ": ") << e.message << "\n";
        }
        throw std::runtime_error("config " + file + " has " + std::to_string(r.errors.size()) + " error(s)");
    }
    return *r.config;
}

namespace {

/// A command run as root on a database in a directory owned by the service
/// user (/var/lib/ringside of the package) must not leave it a root-owned
/// file the service can no longer write: the file takes the directory's owner.
void keep_owner_of_directory(const std::filesystem::path& db) {
    if (::geteuid() != 0) return;
    const auto dir = db.has_parent_path() ? db.parent_path() : std::filesystem::path(".");
    struct stat d {};
    if (::stat(dir.c_str(), &d) != 0 || d.st_uid == 0) return;
    for (const char* side : {"", "-wal", "-shm", ".lock"}) {
        auto f = db;
        f += side;
        struct stat st {};
        if (::stat(f.c_str(), &st) == 0 && (st.st_uid != d.st_uid || st.st_gid != d.st_gid))
            (void)!::chown(f.c_str(), d.st_uid, d.st_gid);
    }
}

/// The config's store for a one-shot command: says so on stderr when
/// opening it upgraded the SQLite file.
struct CliStore {
    explicit CliStore(const Config& cfg) : path(cfg.database), opened(open_store(cfg)), store(*opened.store) {
        if (!opened.sqlite) return;
        if (auto b = opened.sqlite->pre_migration_backup())
            std::cerr << "database " << path.string() << " upgraded from schema version " << b->from_version << " to "
                      << opened.schema_version << "; the file as it was is kept at " << b->file.string() << "\n";
    }
    ~CliStore() {
        if (opened.sqlite) keep_owner_of_directory(path);
    }
    std::filesystem::path path;
    OpenedStore opened;
    Storage& store;
};

std::string describe(const DatabaseInfo& i) {
    return "schema version " + std::to_string(i.schema_version) + ", " + std::to_string(i.users) + " users, " +
           std::to_string(i.customers) + " customers, " + std::to_string(i.calls) + " calls, " +
           std::to_string(i.bytes) + " bytes, integrity ok";
}

}  // namespace

/// Backups and restores copy the SQLite file; a PostgreSQL database has its own tools.
void require_sqlite(const Config& cfg, const char* what) {
    if (!cfg.database_url.empty())
        throw std::runtime_error(std::string(what) + " copies the SQLite file of [database] path; " +
                                 cfg.file.string() + " names a PostgreSQL database ([database] url): use pg_dump "
                                 "and pg_restore (docs/install.md, \"PostgreSQL\")");
}

int run_backup(const std::string& config_file, const std::string& out_file, bool force) {
    auto cfg = load_or_explain(config_file);
    require_sqlite(cfg, "ringside backup");
    BackupOptions o;
    o.overwrite = force;
    backup_database(cfg.database, out_file, o);
    auto info = check_database(out_file);
    std::cout << "backed up " << cfg.database.string() << " to " << out_file << " (" << describe(info) << ")\n";
    return 0;
}

int run_restore(const std::string& config_file, const std::string& in_file, bool dry_run) {
    auto cfg = load_or_explain(config_file);
    require_sqlite(cfg, "ringside restore");
    const auto& db = cfg.database;
    auto info = check_database(in_file);
    std::cout << in_file << ": a Ringside database (" << describe(info) << ")\n";
    const int latest = latest_database_schema_version();
    const std::string upgrade = info.schema_version < latest
                                    ? "; the next start upgrades it to schema version " + std::to_string(latest) +
                                          " (keeping a copy of it first)"
                                    : "";
    if (dry_run) {
        std::cout << "dry run, nothing changed: would replace " << db.string()
                  << (std::filesystem::exists(db) ? " (keeping it as " + db.string() + ".before-restore-<time>)" : "")
                  << upgrade << "\n";
        return 0;
    }
    ServiceLock lock(db, "restore");
    auto r = restore_database(in_file, db, file_stamp());
    keep_owner_of_directory(db);
    std::cout << "restored " << in_file << " to " << db.string()
              << (r.kept ? "; the database it replaced is kept at " + r.kept->string() : "") << upgrade << "\n";
    return 0;
}

int run_check_config(const std::string& config_file) {
    auto r = load_config(config_file);
    for (const auto& e : r.errors)
        std::cout << config_file << (e.line ? ":" + std::to_string(e.line) : "") << ": "
                  << (e.key.empty() ? "" : e.key + ": ") << e.message << "\n";
    if (!r.config) return 1;
    std::cout << config_file << ": ok (" << r.config->pbx.size() << " PBX connection"
              << (r.config->pbx.size() == 1 ? "" : "s") << ")\n";
    return 0;
}

int run_user_add(const UserAddOptions& o, std::istream& password_in) {
    auto cfg = load_or_explain(o.config);
    auto role = role_from_string(o.role);
    if (!role) throw UsageError("--role must be agent, supervisor or admin, not \"" + o.role + "\"");
    std::string password;
    std::getline(password_in, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.size() < 8) throw std::runtime_error("password from stdin must be at least 8 characters");
    if (o.username.empty() || o.username.size() > 64 ||
        o.username.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos)
        throw std::runtime_error("--username must be 1 to 64 of a-z 0-9 . _ -");
    User u;
    u.username = AgentId{o.username};
    u.name = o.name.empty() ? o.username : o.name;
    u.role = *role;
    if (!o.extension.empty()) u.extension = Extension{o.extension};
    CliStore cli(cfg);
    auto& store = cli.store;
    try {
        store.create_user(u, hash_password(password));
    } catch (const StorageConflict&) {
        throw std::runtime_error("user \"" + o.username + "\" already exists");
    }
    store.audit("cli", "user.create", o.username + " role=" + o.role, now_ms());
    std::cout << "created " << to_string(u.role) << " " << o.username
              << (u.extension ? " (extension " + u.extension->value() + ")" : "") << "\n";
    return 0;
}

int run_import_customers(const std::string& csv_file, const std::string& config_file, bool dry_run) {
    auto cfg = load_or_explain(config_file);
    std::ifstream in(csv_file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + csv_file);
    std::stringstream ss;
    ss << in.rdbuf();
    PhoneNormalizer phones(cfg.default_region);
    CliStore cli(cfg);
    auto& store = cli.store;
    auto report = run_customer_import(store, ss.str(), phones, CustomerRules{cfg.customer_tiers}, dry_run, "cli");
    if (report.fatal) throw std::runtime_error(csv_file + ": " + *report.fatal);
    for (const auto& r : report.rows) {
        if (r.status == "rejected") std::cerr << csv_file << ": row " << r.row << " rejected: " << r.reason << "\n";
        else std::cerr << csv_file << ": row " << r.row << " already present: " << r.reason << "\n";
    }
    if (!dry_run)
        store.audit("cli", "customers.import",
                    csv_file + ": imported " + std::to_string(report.imported) + ", already present " +
                        std::to_string(report.already_present) + ", rejected " + std::to_string(report.rejected),
                    now_ms());
    std::cout << (dry_run ? "dry run, nothing stored: would import " : "imported ") << report.imported
              << ", already present " << report.already_present << ", rejected " << report.rejected << "\n";
    return report.rejected ? 1 : 0;
}

int run_import_orders(const std::string& csv_file, const std::string& config_file, bool dry_run) {
    auto cfg = load_or_explain(config_file);
    std::ifstream in(csv_file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + csv_file);
    std::stringstream ss;
    ss << in.rdbuf();
    PhoneNormalizer phones(cfg.default_region);
    CliStore cli(cfg);
    auto& store = cli.store;
    auto report = run_orders_import(store, ss.str(), phones, dry_run, "cli");
    if (report.fatal) throw std::runtime_error(csv_file + ": " + *report.fatal);
    for (const auto& r : report.rows)
        std::cerr << csv_file << ": row " << r.row << (r.status == "rejected" ? " rejected: " : " already present: ")
                  << r.reason << "\n";
    std::cout << (dry_run ? "dry run, nothing stored: would import " : "imported ") << report.imported
              << " orders, already present " << report.already_present << ", rejected " << report.rejected << "\n";
    return report.rejected ? 1 : 0;
}

int run_retention(const std::string& config_file, bool dry_run) {
    auto cfg = load_or_explain(config_file);
    if (!cfg.retention.any()) {
        std::cout << config_file << ": no [retention] rules, everything is kept: nothing to do\n";
        return 0;
    }
    CliStore cli(cfg);
    const auto now = now_ms();
    const auto cutoffs = retention_cutoffs(cfg.retention, now);
    std::cout << "keeping " << retention_rules_text(cfg.retention) << "\n";
    if (dry_run) {
        std::cout << "dry run, nothing changed: " << retention_summary(cli.store.preview_retention(cutoffs), cutoffs, true)
                  << "\n";
        return 0;
    }
    std::cout << retention_summary(cli.store.apply_retention(cutoffs, now), cutoffs, false) << "\n";
    return 0;
}

int run_migrate(const std::string& from_file, const std::string& to_url) {
    if (!to_url.starts_with("postgresql://") && !to_url.starts_with("postgres://"))
        throw std::runtime_error("--to must be a PostgreSQL URL, e.g. postgresql://ringside@db.example/ringside");
    bool all = true;
    copy_sqlite_to_postgres(from_file, to_url, [&](const TableCopy& t) {
        std::cout << t.table << ": " << t.rows << " rows, "
                  << (t.earlier ? "copied by an earlier run" : std::to_string(t.copied) + " copied") << ", "
                  << t.in_postgres << " in PostgreSQL" << (t.in_postgres == t.rows ? "" : "  MISMATCH") << "\n";
        all = all && t.in_postgres == t.rows;
    });
    if (!all) {
        std::cerr << "ringside: migrate: some tables differ (marked MISMATCH): was the service running during the "
                     "copy? Copy again into a new database with the service stopped\n";
        return 1;
    }
    std::cout << "done: every table holds what " << from_file << " holds; set [database] url to use it\n";
    return 0;
}

}  // namespace ringside::app
