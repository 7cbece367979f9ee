// Directory users' sessions checked again against the company directory
// (docs/interface.md "Sign-in with the company directory"): at most every
// opt.directory_recheck per session, on the directory pool, so a request
// waits for the answer while no I/O thread does.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ringside/core/time.hpp"
#include "server_state.hpp"

namespace ringside::server::detail {
namespace {

using Clock = std::chrono::steady_clock;
using Waiters = std::vector<std::function<void(DirectoryCheck, std::optional<User>)>>;

/// Room for one more entry: past the bound, entries not being checked go.
void make_room(DirectorySessions& ds) {
    if (ds.entries.size() < DirectorySessions::max_entries) return;
    for (auto it = ds.entries.begin(); it != ds.entries.end();)
        it = it->second.checking ? std::next(it) : ds.entries.erase(it);
}

/// Ends the check in flight of `token_hash`: records its outcome and hands
/// back whoever waited for it.
Waiters finish(State& st, const std::string& token_hash, DirectoryCheck outcome) {
    std::lock_guard lock(st.directory_sessions.mutex);
    auto it = st.directory_sessions.entries.find(token_hash);
    if (it == st.directory_sessions.entries.end()) return {};
    Waiters waiting = std::move(it->second.waiting);
    it->second.checking = false;
    if (outcome == DirectoryCheck::ok) it->second.checked = Clock::now();
    if (outcome == DirectoryCheck::withdrawn) st.directory_sessions.entries.erase(it);
    return waiting;
}

/// On the directory pool: asks the directory, applies the answer.
void run_check(State& st, const std::string& token_hash, const User& user, const std::string& dn) {
    DirectoryCheck outcome = DirectoryCheck::unavailable;
    std::optional<User> now_user;
    try {
        auto a = st.opt.directory->recheck(user.username.value(), dn);
        using V = DirectoryAnswer::Verdict;
        if (a.verdict == V::ok) {
            User u = user;
            u.role = a.role;
            if (!a.name.empty()) u.name = a.name;
            u.extension = std::nullopt;  // coalesced: the extension an admin gave stays
            now_user = st.storage.upsert_directory_user(u, a.dn);
            outcome = now_user && !now_user->disabled ? DirectoryCheck::ok : DirectoryCheck::withdrawn;
        } else if (a.verdict == V::unavailable) {
            spdlog::warn("ldap: could not recheck {}'s session: {}", user.username.value(), a.detail);
        } else {
            spdlog::info("ldap: {} lost access ({}); their session ends", user.username.value(), a.detail);
            outcome = DirectoryCheck::withdrawn;
        }
        if (outcome == DirectoryCheck::withdrawn) {
            st.storage.delete_session(token_hash);
            st.end_session(token_hash, "directory access withdrawn");
            st.storage.audit(user.username.value(), "session.withdrawn", nlohmann::json{{"reason", a.detail}}.dump(), now_ms());
        }
    } catch (const std::exception& e) {
        spdlog::error("ldap: recheck of {}'s session failed: {}", user.username.value(), e.what());
        outcome = DirectoryCheck::unavailable;
    }
    // The session's role may have changed: every waiter gets the user as it is now.
    for (auto& then : finish(st, token_hash, outcome)) then(outcome, now_user);
}

}  // namespace

void directory_signed_in(State& st, const std::string& token_hash, const std::string& dn) {
    std::lock_guard lock(st.directory_sessions.mutex);
    make_room(st.directory_sessions);
    auto& e = st.directory_sessions.entries[token_hash];
    e.directory = true;
    e.dn = dn;
    e.checked = Clock::now();
}

bool recheck_directory(State& st, const std::string& token_hash, const User& user,
                       std::function<void(DirectoryCheck, std::optional<User>)> then) {
    if (!st.opt.directory || token_hash.empty()) return false;
    auto& ds = st.directory_sessions;
    {
        std::lock_guard lock(ds.mutex);
        auto it = ds.entries.find(token_hash);
        if (it != ds.entries.end()) {
            auto& e = it->second;
            if (!e.directory) return false;
            if (e.checking) {
                e.waiting.push_back(std::move(then));
                return true;
            }
            if (Clock::now() - e.checked < st.opt.directory_recheck) return false;
        }
    }
    std::string dn;
    {
        // First seen (a restart, or forgotten): the stored user says whether it is a directory user.
        std::unique_lock lock(ds.mutex);
        if (ds.entries.find(token_hash) == ds.entries.end()) {
            lock.unlock();
            std::optional<StoredCredentials> creds;
            try {
                creds = st.storage.find_credentials(user.username);
            } catch (const std::exception& e) {
                spdlog::error("ldap: cannot tell whether {} is a directory user: {}", user.username.value(), e.what());
                then(DirectoryCheck::unavailable, std::nullopt);
                return true;
            }
            lock.lock();
            make_room(ds);
            auto& e = ds.entries[token_hash];
            e.directory = creds && creds->directory_dn;
            if (e.directory) e.dn = *creds->directory_dn;
        }
        auto& e = ds.entries[token_hash];
        if (!e.directory) return false;
        if (e.checking) {
            e.waiting.push_back(std::move(then));
            return true;
        }
        if (e.checked != Clock::time_point{} && Clock::now() - e.checked < st.opt.directory_recheck) return false;
        if (st.directory_queued.fetch_add(1) >= st.opt.login_queue_limit) {
            st.directory_queued.fetch_sub(1);
            lock.unlock();
            then(DirectoryCheck::busy, std::nullopt);
            return true;
        }
        e.checking = true;
        e.waiting.push_back(std::move(then));
        dn = e.dn;
    }
    net::post(st.directory_pool, [&st, token_hash, user, dn] {
        struct Dequeued {
            State& st;
            ~Dequeued() { st.directory_queued.fetch_sub(1); }
        } dequeued{st};
        run_check(st, token_hash, user, dn);
    });
    return true;
}

}  // namespace ringside::server::detail
