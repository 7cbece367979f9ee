#pragma once
// The commands behind main.cpp: each returns the process exit status.
#include <istream>
#include <stdexcept>
#include <string>

namespace ringside::app {

/// A command line that cannot be understood: exit 2 with usage.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct DemoOptions {
    std::string listen = "127.0.0.1:8080";
    std::string data_dir = "var/demo";
};

struct UserAddOptions {
    std::string username, role, extension, name, config;
};

int run_demo(const DemoOptions& o);
int run_serve(const std::string& config_file);
int run_check_config(const std::string& config_file);
int run_user_add(const UserAddOptions& o, std::istream& password_in);
/// dry_run: report what would happen, store nothing.
int run_import_customers(const std::string& csv_file, const std::string& config_file, bool dry_run = false);
/// Orders CSV: each customer's lifetime value becomes the sum of their orders.
int run_import_orders(const std::string& csv_file, const std::string& config_file, bool dry_run = false);
/// Online copy of the config's database to out_file (refused if it exists, unless force).
int run_backup(const std::string& config_file, const std::string& out_file, bool force);
/// Puts in_file in place of the config's database (the service stopped);
/// dry_run: check in_file and say what would happen, change nothing.
int run_restore(const std::string& config_file, const std::string& in_file, bool dry_run);
/// Applies the config's [retention] rules once, now; dry_run: count what
/// would go, change nothing.
int run_retention(const std::string& config_file, bool dry_run);
/// Copies the SQLite file into a new PostgreSQL database, table by table,
/// resumable (storage/copy_to_postgres.hpp); prints the counts per table.
int run_migrate(const std::string& from_file, const std::string& to_url);

}  // namespace ringside::app
