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

LoginThrottle::LoginThrottle(std::size_t max_failures, std::chrono::seconds window, std::size_t max_keys)
    : max_failures_(std::max<std::size_t>(1, max_failures)), window_(window), max_keys_(std::max<std::size_t>(1, max_keys)) {}

void LoginThrottle::prune_locked(std::deque<clock::time_point>& q, clock::time_point now) const {
    while (!q.empty() && now - q.front() >= window_) q.pop_front();
}

std::chrono::seconds LoginThrottle::retry_after(const std::string& key, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = failures_.find(key);
    if (it == failures_.end()) return std::chrono::seconds(0);
    prune_locked(it->second, now);
    if (it->second.size() < max_failures_) return std::chrono::seconds(0);
    // Free again when the oldest failure that keeps the count at the limit leaves the window.
    const auto free_at = it->second[it->second.size() - max_failures_] + window_;
    const auto wait = std::chrono::ceil<std::chrono::seconds>(free_at - now);
    return std::max(wait, std::chrono::seconds(1));
}

void LoginThrottle::record_failure(const std::string& key, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = failures_.try_emplace(key);
    if (inserted) {
        order_.push_back(key);
        while (failures_.size() > max_keys_ && !order_.empty()) {
            failures_.erase(order_.front());
            order_.pop_front();
        }
        it = failures_.find(key);
        if (it == failures_.end()) return;
    }
    prune_locked(it->second, now);
    it->second.push_back(now);
    // Never keep more than the limit needs.
    while (it->second.size() > max_failures_) it->second.pop_front();
}

void LoginThrottle::record_success(const std::string& key) {
    std::lock_guard lock(mutex_);
    // Cleared, not erased: order_ keeps exactly one entry per tracked key.
    if (auto it = failures_.find(key); it != failures_.end()) it->second.clear();
}

}  // namespace ringside::server
