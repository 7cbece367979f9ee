#pragma once
// Credentials on the wire, parsed without sockets: the bearer header, the
// session cookie, the ?token= of /ws, and the login failure limiter.
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ringside::server {

/// Name of the HttpOnly session cookie.
inline constexpr std::string_view session_cookie_name = "ringside_session";

/// "Bearer TOKEN" (scheme case-insensitive, one or more spaces) -> TOKEN.
/// nullopt for any other scheme, an empty token, or a token with characters
/// outside the base64url/hex set.
std::optional<std::string> parse_bearer(std::string_view authorization);

/// The value of cookie `name` in a Cookie header ("a=1; b=2"), nullopt if absent or empty.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

/// Set-Cookie value for a new session (HttpOnly, SameSite=Strict, Path=/).
std::string session_cookie(std::string_view token, std::chrono::seconds max_age, bool secure);
/// Set-Cookie value that removes the session cookie.
std::string expired_session_cookie(bool secure);

/// True for a plausible token: 16..256 characters of [A-Za-z0-9_-.].
bool token_shape_ok(std::string_view token) noexcept;

/// Counts failed logins per key (a username, an address) in a sliding window.
/// Thread-safe. Memory is bounded: at most max_keys keys are tracked, the
/// oldest forgotten first.
class LoginThrottle {
public:
    using clock = std::chrono::steady_clock;
    LoginThrottle(std::size_t max_failures = 5, std::chrono::seconds window = std::chrono::seconds(60),
                  std::size_t max_keys = 10000);
    /// Seconds until `key` may try again; 0 when it may try now.
    std::chrono::seconds retry_after(const std::string& key, clock::time_point now = clock::now());
    void record_failure(const std::string& key, clock::time_point now = clock::now());
    void record_success(const std::string& key);

private:
    void prune_locked(std::deque<clock::time_point>& q, clock::time_point now) const;
    std::size_t max_failures_;
    std::chrono::seconds window_;
    std::size_t max_keys_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::deque<clock::time_point>> failures_;
    std::deque<std::string> order_;   // insertion order of keys, for the bound
};

}  // namespace ringside::server
