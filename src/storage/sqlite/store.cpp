// SqliteStore: opening the file (backup before a migration, migrations,
// pragmas), the connections, and closing. The aggregates are in the files
// beside this one; store_impl.hpp says how they share the connections.
#include <filesystem>
#include "migrations.hpp"
#include "ringside/storage/sqlite_backup.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

SqliteStore::Impl::~Impl() {
    {
        std::lock_guard lk(checkpoint_mutex);
        stopping = true;
    }
    checkpoint_cv.notify_all();
    if (upkeep.joinable()) upkeep.join();  // between batches: a batch is one short transaction
    if (checkpointer.joinable()) checkpointer.join();
}

std::unique_ptr<Connection> SqliteStore::Impl::open_reader() {
    auto c = std::make_unique<Connection>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX);
    c->db.exec("PRAGMA query_only = ON; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL");
    // Reads map the file instead of copying each page through read():
    // a pop at a million customers touches about 20 pages scattered over
    // a file of a gigabyte or more, and the copies were most of its time.
    // Address space only; the OS page cache holds the pages either way.
    // SQLite caps the size at its build's limit (2 GB in Debian's), past
    // which pages are read as before.
    c->db.exec("PRAGMA mmap_size = " + std::to_string(reader_mmap_bytes));
    return c;
}

SqliteStore::Impl::ReadLease::ReadLease(Impl& impl) : impl_(impl) {
    {
        std::lock_guard lk(impl_.pool_mutex);
        if (!impl_.idle_readers.empty()) {
            c_ = std::move(impl_.idle_readers.back());
            impl_.idle_readers.pop_back();
        }
    }
    if (!c_) c_ = impl_.open_reader();
}

SqliteStore::Impl::ReadLease::~ReadLease() {
    std::unique_ptr<Connection> drop;
    std::lock_guard lk(impl_.pool_mutex);
    if (impl_.idle_readers.size() < max_idle_readers)
        impl_.idle_readers.push_back(std::move(c_));
    else
        drop = std::move(c_);  // closed after the lock is released
}

SqliteStore::SqliteStore(const std::filesystem::path& file) : impl_(std::make_unique<Impl>()) {
    impl_->path = file.string();
    const std::string& path = impl_->path;
    try {
        if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    } catch (const std::filesystem::filesystem_error& e) {
        throw StorageError("database " + path + ": cannot create its directory: " + e.code().message());
    }
    try {
        impl_->writer = std::make_unique<Connection>(
            path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX);
        auto& db = impl_->writer->db;
        db.exec("PRAGMA foreign_keys = ON");
        // An upgrade keeps the file as it was first: a migration that goes
        // wrong (or a new build that must be rolled back) leaves a copy the
        // old binary opens. A new file, a foreign one (migrate refuses it)
        // and a current one are not copied.
        {
            const int app = db.execAndGet("PRAGMA application_id").getInt();
            const int before = storage_detail::stored_schema_version(db);
            if (app == storage_detail::application_id && before > 0 &&
                before < storage_detail::latest_schema_version()) {
                std::filesystem::path copy = path + ".pre-migration-v" + std::to_string(before) + "-" + file_stamp() + ".db";
                BackupOptions at_once;  // the open waits for the copy anyway: one step, no pauses
                at_once.pages_per_step = -1;
                at_once.pause = std::chrono::milliseconds(0);
                try {
                    backup_database(file, copy, at_once);
                } catch (const StorageError& e) {
                    throw StorageError("database " + path + ": not upgraded from schema version " +
                                       std::to_string(before) + ", its backup failed: " + e.what());
                }
                impl_->migration_backup = MigrationBackup{before, copy};
            }
        }
        // Identity and version are checked before anything is written, so a
        // foreign or newer file is left exactly as it was.
        impl_->version = storage_detail::migrate(db, path);
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("PRAGMA synchronous = NORMAL");
        // The writer's page cache (SQLite's default is 2 MB): imports and
        // bulk writes at a million customers touch index pages all over the
        // file, and re-reading them from the OS cost more than the inserts.
        db.exec("PRAGMA cache_size = -65536");  // KiB: 64 MB at most, only as used
        db.exec("PRAGMA wal_autocheckpoint = 0");  // see Impl::run_checkpoints
        impl_->backfill_search_terms();
        {
            Impl::ReadLease lease(*impl_);
            impl_->refresh_histogram(*lease);
            impl_->names_ready = !impl_->meta(*lease, "customer_names_fill_from");
            impl_->refresh_lifetime_quartiles(*lease);
        }
        impl_->checkpointer = std::thread([impl = impl_.get()] { impl->run_checkpoints(); });
        impl_->upkeep = std::thread([impl = impl_.get()] { impl->run_upkeep(); });
    } catch (const StorageError&) {
        throw;
    } catch (const SQLite::Exception& e) {
        throw StorageError("database " + path + ": cannot open: " + e.what());
    }
}

SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() const { return impl_->version; }

std::optional<SqliteStore::MigrationBackup> SqliteStore::pre_migration_backup() const {
    return impl_->migration_backup;
}

std::uint64_t SqliteStore::user_writes() const { return impl_->user_writes.load(std::memory_order_acquire); }

}  // namespace ringside
