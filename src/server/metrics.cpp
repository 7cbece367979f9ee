#include "ringside/server/metrics.hpp"

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
