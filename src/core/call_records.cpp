#include "call_records.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace ringside::detail {
namespace {

std::string duration_text(std::int64_t secs) {
    char buf[48];
    if (secs >= 3600)
        std::snprintf(buf, sizeof buf, "%lldh %lldm %llds", static_cast<long long>(secs / 3600),
                      static_cast<long long>(secs % 3600 / 60), static_cast<long long>(secs % 60));
    else if (secs >= 60)
        std::snprintf(buf, sizeof buf, "%lldm %llds", static_cast<long long>(secs / 60),
                      static_cast<long long>(secs % 60));
    else
        std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(secs));
    return buf;
}

std::string capitalised(std::string_view word) {
    std::string s(word);
    if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
    return s;
}

/// One line for the customer's history. Never carries a phone number.
std::string summary_of(const CallRecord& r) {
    const std::string dir(to_string(r.direction));
    switch (r.status) {
    case CallStatus::answered: {
        std::string s = capitalised(dir) + " call answered";
        if (r.agent) s += " by " + r.agent->value();
        return s + ", " + duration_text(r.talk_seconds);
    }
    case CallStatus::abandoned: {
        std::string s = "Abandoned " + dir + " call";
        if (r.queue) s += " in queue " + *r.queue;
        return s + " after " + duration_text(r.wait_seconds);
    }
    case CallStatus::busy: return capitalised(dir) + " call, line busy";
    case CallStatus::failed: return capitalised(dir) + " call failed";
    default: return "Missed " + dir + " call";
    }
}

}  // namespace

void finalise_times(CallRecord& r, Timestamp end) {
    r.ended_at = end;
    if (r.answered_at) {
        r.wait_seconds = seconds_between(r.started_at, *r.answered_at);
        r.talk_seconds = seconds_between(*r.answered_at, end);
    } else {
        r.wait_seconds = seconds_between(r.started_at, end);
        r.talk_seconds = 0;
    }
}

std::optional<Interaction> history_of(const CallRecord& r) {
    if (!r.customer_id) return std::nullopt;
    Interaction i;
    i.customer_id = *r.customer_id;
    i.at = r.started_at;
    i.channel = "call";
    i.direction = std::string(to_string(r.direction));
    i.summary = summary_of(r);
    i.agent = r.agent;
    i.call_id = r.id;
    i.status = std::string(to_string(r.status));
    i.disposition = r.disposition;
    return i;
}

}  // namespace ringside::detail
