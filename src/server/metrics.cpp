#include "ringside/server/metrics.hpp"

#include <cstdio>

namespace ringside::server {
namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

template <class N>
void sample(std::string& out, const char* name, N value) {
    out += name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

// Route patterns only contain path characters, but escape anyway: the text format requires it.
std::string label_escape(const std::string& v) {
    std::string s;
    for (char c : v) {
        if (c == '\\' || c == '"') s.push_back('\\');
        if (c == '\n') {
            s += "\\n";
            continue;
        }
        s.push_back(c);
    }
    return s;
}

}  // namespace

void Metrics::pop_shown(std::chrono::milliseconds since_ringing) noexcept {
    const double seconds = static_cast<double>(since_ringing.count()) / 1000.0;
    std::size_t i = 0;
    while (i < pop_shown_bounds.size() && seconds > pop_shown_bounds[i]) ++i;
    pop_shown_buckets_[i].fetch_add(1, std::memory_order_relaxed);
    pop_shown_sum_ms_.fetch_add(static_cast<std::uint64_t>(since_ringing.count()), std::memory_order_relaxed);
}

void Metrics::http_request(const std::string& route, unsigned status) {
    std::lock_guard lock(mutex_);
    ++requests_[{route, status}];
}

std::string Metrics::render(const PopHubStats& hub, const CallServiceStats& calls, const std::string& extra) const {
    std::string out;
    family(out, "ringside_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, n] : requests_) {
            out += "ringside_http_requests_total{route=\"" + label_escape(key.first) +
                   "\",status=\"" + std::to_string(key.second) + "\"} " + std::to_string(n) + '\n';
        }
    }
    family(out, "ringside_http_connections_open", "gauge", "TCP connections open now (HTTP and WebSocket).");
    sample(out, "ringside_http_connections_open", conn_open_.load(std::memory_order_relaxed));
    family(out, "ringside_http_connections_refused_total", "counter",
           "Connections closed unserved because [server] max_connections or max_connections_per_address was reached.");
    sample(out, "ringside_http_connections_refused_total", conn_refused_.load(std::memory_order_relaxed));
    family(out, "ringside_ws_connections_open", "gauge", "WebSocket connections open now.");
    sample(out, "ringside_ws_connections_open", ws_open_.load(std::memory_order_relaxed));
    family(out, "ringside_ws_connections_total", "counter", "WebSocket connections accepted.");
    sample(out, "ringside_ws_connections_total", ws_total_.load(std::memory_order_relaxed));
    family(out, "ringside_ws_refused_total", "counter", "WebSocket upgrades refused for missing or bad credentials.");
    sample(out, "ringside_ws_refused_total", ws_refused_.load(std::memory_order_relaxed));
    family(out, "ringside_ws_queue_overflow_total", "counter", "WebSocket sessions closed because their send queue was full.");
    sample(out, "ringside_ws_queue_overflow_total", ws_overflow_.load(std::memory_order_relaxed));
    family(out, "ringside_login_failures_total", "counter", "Failed or throttled login attempts.");
    sample(out, "ringside_login_failures_total", login_failed_.load(std::memory_order_relaxed));

    family(out, "ringside_pops_messages_total", "counter", "Messages numbered by the pop hub.");
    sample(out, "ringside_pops_messages_total", hub.messages);
    family(out, "ringside_pops_sent_total", "counter", "Messages handed to open sessions.");
    sample(out, "ringside_pops_sent_total", hub.deliveries);
    family(out, "ringside_pops_dropped_total", "counter", "Messages dropped because a session's send queue was full.");
    sample(out, "ringside_pops_dropped_total", hub.dropped);
    family(out, "ringside_resume_requests_total", "counter", "WebSocket resume requests.");
    sample(out, "ringside_resume_requests_total", hub.resumes);

    family(out, "ringside_pop_shown_seconds", "histogram",
           "From the PBX ringing an agent's phone to the agent's console acknowledging the painted card (pop.shown), "
           "the first receipt of each pop.");
    {
        std::uint64_t cum = 0;
        for (std::size_t i = 0; i < pop_shown_bounds.size(); ++i) {
            cum += pop_shown_buckets_[i].load(std::memory_order_relaxed);
            char le[32];
            std::snprintf(le, sizeof le, "%g", pop_shown_bounds[i]);
            out += std::string("ringside_pop_shown_seconds_bucket{le=\"") + le + "\"} " + std::to_string(cum) + '\n';
        }
        cum += pop_shown_buckets_[pop_shown_bounds.size()].load(std::memory_order_relaxed);
        out += "ringside_pop_shown_seconds_bucket{le=\"+Inf\"} " + std::to_string(cum) + '\n';
        char sum[64];
        std::snprintf(sum, sizeof sum, "%.3f", static_cast<double>(pop_shown_sum_ms_.load(std::memory_order_relaxed)) / 1000.0);
        out += std::string("ringside_pop_shown_seconds_sum ") + sum + '\n';
        out += "ringside_pop_shown_seconds_count " + std::to_string(cum) + '\n';
    }
    family(out, "ringside_pop_shown_ignored_total", "counter",
           "pop.shown receipts ignored: malformed, for no pop of that agent, or repeating one already counted.");
    sample(out, "ringside_pop_shown_ignored_total", pop_shown_ignored_.load(std::memory_order_relaxed));

    family(out, "ringside_calls_active", "gauge", "Calls in progress.");
    sample(out, "ringside_calls_active", calls.active_calls);
    family(out, "ringside_calls_started_total", "counter", "Calls started.");
    sample(out, "ringside_calls_started_total", calls.calls_started);
    family(out, "ringside_calls_ended_total", "counter", "Calls ended.");
    sample(out, "ringside_calls_ended_total", calls.calls_ended);
    family(out, "ringside_engine_events_total", "counter", "PBX events fed to the call engine (all PBXs).");
    sample(out, "ringside_engine_events_total", calls.events);
    family(out, "ringside_customer_lookups_total", "counter", "Caller lookups.");
    sample(out, "ringside_customer_lookups_total", calls.lookups);
    family(out, "ringside_customer_lookup_hits_total", "counter", "Caller lookups that found a customer.");
    sample(out, "ringside_customer_lookup_hits_total", calls.lookup_hits);
    out += extra;
    if (!extra.empty() && extra.back() != '\n') out += '\n';
    return out;
}

}  // namespace ringside::server
