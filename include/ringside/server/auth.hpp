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

/// Counts sign-in attempts per key (a user from an address, an address, a
/// user) in a sliding window. An attempt counts from the moment it is let
/// through (try_begin), before its password is checked, so concurrent guesses
/// cannot all pass the limit before the first failure is recorded. A key
/// that reaches max_failures is locked: the first time until its oldest
/// failure leaves the window, each time after for twice as long as the last
/// (back-off, at most max_lock), until a success or a quiet max_lock resets it.
/// Thread-safe. Memory is bounded: at most max_keys keys are tracked, the
/// oldest forgotten first.
class LoginThrottle {
public:
    using clock = std::chrono::steady_clock;
    enum class Outcome { failed, succeeded, abandoned };

    LoginThrottle(std::size_t max_failures = 5, std::chrono::seconds window = std::chrono::seconds(60),
                  std::size_t max_keys = 10000, std::chrono::seconds max_lock = std::chrono::hours(1));
    /// Lets one attempt through and counts it (returns 0), or returns the
    /// seconds to wait and counts nothing. Every 0 needs one finish().
    std::chrono::seconds try_begin(const std::string& key, clock::time_point now = clock::now());
    /// Ends an attempt try_begin let through: a failure stays counted, a
    /// success clears the key, an abandoned one (the check never ran) is forgotten.
    void finish(const std::string& key, Outcome outcome, clock::time_point now = clock::now());
    /// Seconds until `key` may try again; 0 when it may try now. Takes no place.
    std::chrono::seconds retry_after(const std::string& key, clock::time_point now = clock::now());
    void record_failure(const std::string& key, clock::time_point now = clock::now());
    void record_success(const std::string& key);

private:
    struct Entry {
        std::deque<clock::time_point> failures;   // in the window, at most max_failures
        std::size_t in_flight = 0;                // let through, not finished
        unsigned lockouts = 0;                    // locks since the last success (the back-off's exponent)
        clock::time_point locked_until{};
    };
    Entry* find_locked(const std::string& key, bool create);
    std::chrono::seconds wait_locked(Entry& e, clock::time_point now) const;
    void fail_locked(Entry& e, clock::time_point now);
    std::size_t max_failures_;
    std::chrono::seconds window_;
    std::size_t max_keys_;
    std::chrono::seconds max_lock_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
    std::deque<std::string> order_;   // insertion order of keys, for the bound
};

/// Users and the addresses they signed in from lately ("their desks"), so
/// that guesses against a user from elsewhere never lock them out at their
/// own desk. Thread-safe; at most max_entries, the oldest forgotten first.
class KnownDesks {
public:
    using clock = std::chrono::steady_clock;
    explicit KnownDesks(std::chrono::hours keep = std::chrono::hours(24 * 30), std::size_t max_entries = 10000)
        : keep_(keep), max_entries_(max_entries) {}
    void remember(const std::string& user, const std::string& address, clock::time_point now = clock::now());
    bool known(const std::string& user, const std::string& address, clock::time_point now = clock::now());

private:
    std::chrono::hours keep_;
    std::size_t max_entries_;
    std::mutex mutex_;
    std::unordered_map<std::string, clock::time_point> seen_;
    std::deque<std::string> order_;
};

}  // namespace ringside::server
