#include "ringside/storage/user_directory_cache.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

namespace ringside {
namespace {

using namespace std::chrono_literals;

bool same_users(const std::vector<User>& a, const std::vector<User>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const User& x, const User& y) {
        return x.id == y.id && x.username == y.username && x.name == y.name && x.role == y.role &&
               x.extension == y.extension && x.disabled == y.disabled;
    });
}

}  // namespace

UserDirectoryCache::UserDirectoryCache(Storage& store, std::function<void(const std::string&)> on_error)
    : store_(store), on_error_(std::move(on_error)) {
    refresh();
    thread_ = std::thread([this] { run(); });
}

UserDirectoryCache::~UserDirectoryCache() {
    {
        std::lock_guard lk(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

std::shared_ptr<const UserDirectoryCache::Snapshot> UserDirectoryCache::current() const {
    std::lock_guard lk(mutex_);
    return snapshot_;
}

std::vector<User> UserDirectoryCache::users_by_extension(const Extension& ext) {
    auto snap = current();
    if (!snap || snap->writes != store_.user_writes()) {
        // A write of this process is newer than the list: the store knows.
        read_through_.fetch_add(1, std::memory_order_relaxed);
        wake_.notify_one();
        return store_.users_by_extension(ext);
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    auto it = snap->by_extension.find(ext.value());
    return it == snap->by_extension.end() ? std::vector<User>{} : it->second;
}

void UserDirectoryCache::refresh() {
    auto next = std::make_shared<Snapshot>();
    next->writes = store_.user_writes();  // before the read: a write after it makes the list stale
    try {
        next->users = store_.list_users();
    } catch (const std::exception& e) {
        // Kept as it was; lookups read through meanwhile if it is stale.
        if (on_error_) on_error_(std::string("user directory: could not read the users, keeping the previous list: ") + e.what());
        return;
    }
    {
        std::lock_guard lk(mutex_);
        if (snapshot_ && snapshot_->writes == next->writes && same_users(snapshot_->users, next->users)) return;
    }
    for (const auto& u : next->users)
        if (!u.disabled && u.extension) next->by_extension[u.extension->value()].push_back(u);
    for (auto& [ext, users] : next->by_extension)
        std::sort(users.begin(), users.end(), [](const User& a, const User& b) { return a.id < b.id; });
    std::shared_ptr<const Snapshot> done = std::move(next);
    std::lock_guard lk(mutex_);
    snapshot_ = std::move(done);
}

void UserDirectoryCache::run() {
    auto last_full = std::chrono::steady_clock::now();
    std::unique_lock lk(mutex_);
    while (!stop_) {
        wake_.wait_for(lk, 100ms);
        if (stop_) break;
        const bool stale = !snapshot_ || snapshot_->writes != store_.user_writes();
        const bool due = std::chrono::steady_clock::now() - last_full >= 1s;
        if (!stale && !due) continue;
        lk.unlock();
        refresh();
        last_full = std::chrono::steady_clock::now();
        lk.lock();
    }
}

}  // namespace ringside
