#include "ringside/server/auth.hpp"

#include "ringside/server/http_util.hpp"

#include <algorithm>
#include <cctype>

namespace ringside::server {
namespace {

}  // namespace

bool token_shape_ok(std::string_view token) noexcept {
    if (token.size() < 16 || token.size() > 256) return false;
    return std::all_of(token.begin(), token.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.';
    });
}

std::optional<std::string> parse_bearer(std::string_view authorization) {
    authorization = trim(authorization);
    const auto sp = authorization.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    if (!iequals(authorization.substr(0, sp), "Bearer")) return std::nullopt;
    const auto token = trim(authorization.substr(sp + 1));
    if (!token_shape_ok(token)) return std::nullopt;
    return std::string(token);
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const auto semi = header.find(';');
        auto pair = trim(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        if (trim(pair.substr(0, eq)) != name) continue;
        auto value = trim(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        if (value.empty()) return std::nullopt;
        return std::string(value);
    }
    return std::nullopt;
}

std::string session_cookie(std::string_view token, std::chrono::seconds max_age, bool secure) {
    std::string c(session_cookie_name);
    c += '=';
    c += token;
    c += "; Path=/; HttpOnly; SameSite=Strict; Max-Age=";
    c += std::to_string(max_age.count());
    if (secure) c += "; Secure";
    return c;
}

std::string expired_session_cookie(bool secure) {
    std::string c(session_cookie_name);
    c += "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";
    if (secure) c += "; Secure";
    return c;
}

LoginThrottle::LoginThrottle(std::size_t max_failures, std::chrono::seconds window, std::size_t max_keys,
                             std::chrono::seconds max_lock)
    : max_failures_(std::max<std::size_t>(1, max_failures)), window_(window), max_keys_(std::max<std::size_t>(1, max_keys)),
      max_lock_(std::max(max_lock, window)) {}

LoginThrottle::Entry* LoginThrottle::find_locked(const std::string& key, bool create) {
    if (auto it = entries_.find(key); it != entries_.end()) return &it->second;
    if (!create) return nullptr;
    entries_.try_emplace(key);
    order_.push_back(key);
    while (entries_.size() > max_keys_ && !order_.empty()) {
        entries_.erase(order_.front());
        order_.pop_front();
    }
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
}

std::chrono::seconds LoginThrottle::wait_locked(Entry& e, clock::time_point now) const {
    while (!e.failures.empty() && now - e.failures.front() >= window_) e.failures.pop_front();
    if (e.locked_until > now) return std::max(std::chrono::ceil<std::chrono::seconds>(e.locked_until - now), std::chrono::seconds(1));
    // Quiet for a whole max_lock after its last lock: the back-off starts over.
    if (e.lockouts > 0 && now - e.locked_until >= max_lock_) e.lockouts = 0;
    if (e.failures.size() + e.in_flight < max_failures_) return std::chrono::seconds(0);
    // Only attempts in flight hold the places: one of them ends within a hash.
    if (e.failures.empty()) return std::chrono::seconds(1);
    const auto free_at = e.failures.front() + window_;
    return std::max(std::chrono::ceil<std::chrono::seconds>(free_at - now), std::chrono::seconds(1));
}

void LoginThrottle::fail_locked(Entry& e, clock::time_point now) {
    while (!e.failures.empty() && now - e.failures.front() >= window_) e.failures.pop_front();
    e.failures.push_back(now);
    while (e.failures.size() > max_failures_) e.failures.pop_front();
    if (e.failures.size() < max_failures_) return;
    // At the limit: locked until the oldest failure leaves the window the
    // first time, then for 2, 4, 8... windows (at most max_lock).
    ++e.lockouts;
    auto lock = std::chrono::duration_cast<clock::duration>(e.failures.front() + window_ - now);
    if (e.lockouts > 1) {
        auto longer = std::chrono::duration_cast<clock::duration>(window_);
        for (unsigned i = 1; i < e.lockouts && longer < max_lock_; ++i) longer *= 2;
        lock = std::min<clock::duration>(longer, max_lock_);
    }
    e.locked_until = now + lock;
    e.failures.clear();
}

std::chrono::seconds LoginThrottle::retry_after(const std::string& key, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto* e = find_locked(key, false);
    return e ? wait_locked(*e, now) : std::chrono::seconds(0);
}

std::chrono::seconds LoginThrottle::try_begin(const std::string& key, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto* e = find_locked(key, true);
    if (!e) return std::chrono::seconds(1);
    if (auto wait = wait_locked(*e, now); wait.count() > 0) return wait;
    ++e->in_flight;
    return std::chrono::seconds(0);
}

void LoginThrottle::finish(const std::string& key, Outcome outcome, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto* e = find_locked(key, outcome == Outcome::failed);  // forgotten meanwhile: a failure still counts
    if (!e) return;
    if (e->in_flight > 0) --e->in_flight;
    if (outcome == Outcome::failed) fail_locked(*e, now);
    if (outcome == Outcome::succeeded) {
        e->failures.clear();
        e->lockouts = 0;
        e->locked_until = {};
    }
}

void LoginThrottle::record_failure(const std::string& key, clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (auto* e = find_locked(key, true)) fail_locked(*e, now);
}

void LoginThrottle::record_success(const std::string& key) {
    std::lock_guard lock(mutex_);
    // Cleared, not erased: order_ keeps exactly one entry per tracked key.
    if (auto* e = find_locked(key, false)) {
        e->failures.clear();
        e->lockouts = 0;
        e->locked_until = {};
    }
}

void KnownDesks::remember(const std::string& user, const std::string& address, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto key = user + '\n' + address;
    auto [it, inserted] = seen_.insert_or_assign(key, now);
    if (!inserted) return;
    order_.push_back(std::move(key));
    while (seen_.size() > max_entries_ && !order_.empty()) {
        seen_.erase(order_.front());
        order_.pop_front();
    }
}

bool KnownDesks::known(const std::string& user, const std::string& address, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = seen_.find(user + '\n' + address);
    return it != seen_.end() && now - it->second < keep_;
}

}  // namespace ringside::server
