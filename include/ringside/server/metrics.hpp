#pragma once
// Server counters and their Prometheus text form. Thread-safe.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "ringside/core/call_service.hpp"
#include "ringside/server/pop_hub.hpp"

namespace ringside::server {

class Metrics {
public:
    /// route: the route pattern ("/api/calls/{id}/disposition"), "static", or "unmatched"; bounded cardinality.
    void http_request(const std::string& route, unsigned status);
    void ws_opened() noexcept { ws_open_.fetch_add(1, std::memory_order_relaxed); ws_total_.fetch_add(1, std::memory_order_relaxed); }
    void ws_closed() noexcept { ws_open_.fetch_sub(1, std::memory_order_relaxed); }
    void ws_refused() noexcept { ws_refused_.fetch_add(1, std::memory_order_relaxed); }
    void ws_overflow() noexcept { ws_overflow_.fetch_add(1, std::memory_order_relaxed); }
    void login_failed() noexcept { login_failed_.fetch_add(1, std::memory_order_relaxed); }
    void connection_opened() noexcept { conn_open_.fetch_add(1, std::memory_order_relaxed); }
    void connection_closed() noexcept { conn_open_.fetch_sub(1, std::memory_order_relaxed); }
    /// A connection closed at accept (or at its first request's headers) for a connection cap.
    void connection_refused() noexcept { conn_refused_.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t connections_refused() const noexcept { return conn_refused_.load(std::memory_order_relaxed); }
    std::int64_t ws_open() const noexcept { return ws_open_.load(std::memory_order_relaxed); }
    std::uint64_t ws_overflows() const noexcept { return ws_overflow_.load(std::memory_order_relaxed); }

    /// A pop's card showed on an agent's screen this long after the phone
    /// started ringing (a counted `pop.shown`): ringside_pop_shown_seconds.
    void pop_shown(std::chrono::milliseconds since_ringing) noexcept;
    /// A `pop.shown` that matched no pop of that agent, or repeated one.
    void pop_shown_ignored() noexcept { pop_shown_ignored_.fetch_add(1, std::memory_order_relaxed); }

    /// Upper bounds of ringside_pop_shown_seconds' buckets, in seconds.
    static constexpr std::array<double, 12> pop_shown_bounds{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300};

    /// Prometheus text exposition (version 0.0.4), `extra` appended as is.
    std::string render(const PopHubStats& hub, const CallServiceStats& calls, const std::string& extra) const;

private:
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
    std::atomic<std::int64_t> ws_open_{0};
    std::atomic<std::uint64_t> ws_total_{0};
    std::atomic<std::uint64_t> ws_refused_{0};
    std::atomic<std::uint64_t> ws_overflow_{0};
    std::atomic<std::uint64_t> login_failed_{0};
    std::atomic<std::int64_t> conn_open_{0};
    std::atomic<std::uint64_t> conn_refused_{0};
    std::array<std::atomic<std::uint64_t>, pop_shown_bounds.size() + 1> pop_shown_buckets_{};  // last: +Inf
    std::atomic<std::uint64_t> pop_shown_sum_ms_{0};
    std::atomic<std::uint64_t> pop_shown_ignored_{0};
};

}  // namespace ringside::server
