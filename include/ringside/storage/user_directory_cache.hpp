#pragma once
// The user directory held in memory, for the call engine's strand: who
// answers each extension, without a read of the database per ring.
//
// Coherent with this process's writes at once: a user created, changed or
// disabled through the store (the admin page, a directory sign-in) makes
// the cache read through to the store until its thread has read the list
// again (within ~100 ms). Another process's writes to the same database (the
// CLI's `ringside user add` while the server runs, another node) show
// within about a second: the thread reads the whole list again every second and swaps it
// in when it changed. A read of the list is one query over the users table
// (about 1 ms for 1,000 users), on that thread, never the engine's.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ringside/core/ports/user_directory.hpp"
#include "ringside/storage/store.hpp"

namespace ringside {

class UserDirectoryCache final : public UserDirectory {
public:
    /// Reads the list once before returning (so the first ring finds it),
    /// then keeps it current on a thread of its own. `store` outlives this.
    /// `on_error` hears of a read of the list that failed (the list is kept).
    explicit UserDirectoryCache(Storage& store, std::function<void(const std::string&)> on_error = {});
    ~UserDirectoryCache() override;
    UserDirectoryCache(const UserDirectoryCache&) = delete;
    UserDirectoryCache& operator=(const UserDirectoryCache&) = delete;

    /// Enabled users whose extension is ext, oldest first (as the store
    /// answers). From memory; from the store while a write of this
    /// process is not in the list yet, or if the list could not be read.
    std::vector<User> users_by_extension(const Extension& ext) override;
    /// From the store (the engine does not ask these per event).
    std::optional<User> find_user(const AgentId& username) override { return store_.find_user(username); }
    std::vector<User> list_users() override { return store_.list_users(); }

    /// Reads the list again now (the thread does it on its own). For tests.
    void refresh();
    /// Lookups answered from memory, and from the store, since start.
    std::uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
    std::uint64_t read_through() const { return read_through_.load(std::memory_order_relaxed); }

private:
    struct Snapshot {
        std::uint64_t writes = 0;  // store_.user_writes() before the list was read
        std::vector<User> users;   // the whole list, by username (list_users' order)
        std::unordered_map<std::string, std::vector<User>> by_extension;  // enabled only, by id
    };
    std::shared_ptr<const Snapshot> current() const;
    void run();

    Storage& store_;
    std::function<void(const std::string&)> on_error_;
    mutable std::mutex mutex_;
    std::shared_ptr<const Snapshot> snapshot_;  // null until a read of the list succeeded
    std::condition_variable wake_;
    bool stop_ = false;
    std::atomic<std::uint64_t> hits_{0}, read_through_{0};
    std::thread thread_;
};

}  // namespace ringside
