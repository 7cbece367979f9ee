#include "caller_history.hpp"

#include <chrono>

#include "ringside/core/time.hpp"

namespace ringside::detail {
namespace {

std::int64_t day_of(Timestamp t) {
    const auto h = std::chrono::duration_cast<std::chrono::hours>(t.time_since_epoch()).count();
    return h >= 0 ? h / 24 : (h - 23) / 24;
}

}  // namespace

CallerHistory::Log& CallerHistory::log_of(const std::string& e164, const CallId& call,
                                          const std::optional<CustomerContext>& ctx, Timestamp at) {
    if (numbers_.size() >= max_numbers && !numbers_.contains(e164)) numbers_.clear();
    auto [it, fresh] = numbers_.try_emplace(e164);
    Log& l = it->second;
    if (fresh) {
        l.day = day_of(at);
        if (ctx) {
            bool closed = false;
            for (const auto& h : ctx->recent_interactions) {  // newest first
                if (h.channel != "call" || (h.call_id && *h.call_id == call)) continue;
                if (h.direction == "inbound" && day_of(h.at) == l.day) ++l.today;
                if (closed) continue;
                if (h.status == "answered") {
                    closed = true;
                } else if (h.direction == "inbound" && (h.status == "missed" || h.status == "abandoned")) {
                    l.missed = {{"id", h.call_id ? h.call_id->value() : ""}, {"at", format_iso(h.at)}, {"status", h.status}};
                    closed = true;
                }
            }
        }
    } else if (l.day != day_of(at)) {
        l.day = day_of(at);
        l.today = 0;
    }
    return l;
}

nlohmann::json CallerHistory::count_ring(const std::string& e164, const CallId& call,
                                         const std::optional<CustomerContext>& ctx, Timestamp at) {
    Log& l = log_of(e164, call, ctx, at);
    ++l.today;
    return {{"calls_today", l.today}, {"missed_waiting", l.missed}};
}

void CallerHistory::settle(const std::string& e164, const CallRecord& r, const std::optional<CustomerContext>& ctx) {
    Log& l = log_of(e164, r.id, ctx, r.started_at);
    if (r.status == CallStatus::answered) l.missed = nullptr;
    else if (r.direction == Direction::inbound && (r.status == CallStatus::missed || r.status == CallStatus::abandoned))
        l.missed = {{"id", r.id.value()}, {"at", format_iso(r.started_at)}, {"status", to_string(r.status)}};
}

}  // namespace ringside::detail
