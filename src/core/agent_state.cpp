#include "ringside/core/agent_state.hpp"

#include <algorithm>

namespace ringside {

std::string_view to_string(WorkState s) {
    switch (s) {
    case WorkState::ready: return "ready";
    case WorkState::not_ready: return "not_ready";
    case WorkState::wrap_up: return "wrap_up";
    }
    return "ready";
}

std::optional<WorkState> work_state_from_string(std::string_view s) {
    if (s == "ready") return WorkState::ready;
    if (s == "not_ready") return WorkState::not_ready;
    if (s == "wrap_up") return WorkState::wrap_up;
    return std::nullopt;
}

std::chrono::seconds AgentStateRules::wrap_up_for(const std::optional<std::string>& queue) const {
    if (queue)
        if (auto it = queue_wrap_up.find(*queue); it != queue_wrap_up.end()) return it->second;
    return wrap_up;
}

bool valid_reason_name(std::string_view r) {
    if (r.empty() || r.size() > 32) return false;
    return std::all_of(r.begin(), r.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

AgentStates::AgentStates(AgentStateRules rules, Timestamp started) : rules_(std::move(rules)), started_(started) {}

AgentStatus AgentStates::status(const AgentId& agent) const {
    if (auto it = states_.find(agent); it != states_.end()) return it->second;
    AgentStatus s;
    s.since = started_;
    return s;
}

AgentStateChange AgentStates::change(const AgentId& agent, AgentStatus s, std::string by) {
    states_[agent] = s;
    return AgentStateChange{agent, std::move(s), std::move(by)};
}

Result<std::optional<AgentStateChange>> AgentStates::set(const AgentId& agent, std::string_view state,
                                                         const std::optional<std::string>& reason,
                                                         const std::string& by, Timestamp now) {
    const auto ws = work_state_from_string(state);
    if (!ws)
        return Failure{DomainError::invalid_argument,
                       "field 'state' must be \"ready\", \"not_ready\" or \"wrap_up\", not \"" +
                           std::string(state.substr(0, 40)) + "\""};
    std::string why = reason.value_or("");
    if (*ws == WorkState::not_ready) {
        if (why.empty()) {
            std::string list;
            for (const auto& r : rules_.reasons) list += (list.empty() ? "" : ", ") + r;
            return Failure{DomainError::invalid_argument, "field 'reason' is required with not_ready: one of " + list};
        }
        if (std::find(rules_.reasons.begin(), rules_.reasons.end(), why) == rules_.reasons.end()) {
            std::string list;
            for (const auto& r : rules_.reasons) list += (list.empty() ? "" : ", ") + r;
            return Failure{DomainError::invalid_argument,
                           "field 'reason' must be one of " + list + ", not \"" + why.substr(0, 40) + "\""};
        }
    } else if (!why.empty()) {
        return Failure{DomainError::invalid_argument, "field 'reason' is only for not_ready"};
    }
    const auto cur = status(agent);
    if (cur.state == *ws && cur.reason == why) return std::optional<AgentStateChange>{};
    AgentStatus next;
    next.state = *ws;
    next.reason = std::move(why);
    next.since = now;
    if (*ws == WorkState::wrap_up) next.wrap_up_until = now + rules_.wrap_up;
    return std::optional<AgentStateChange>{change(agent, std::move(next), by)};
}

std::optional<AgentStateChange> AgentStates::call_ended(const AgentId& agent, const std::optional<std::string>& queue,
                                                        Timestamp now) {
    const auto cur = status(agent);
    const auto wrap = rules_.wrap_up_for(queue);
    if (cur.state == WorkState::not_ready || wrap.count() <= 0) return std::nullopt;
    AgentStatus next;
    next.state = WorkState::wrap_up;
    next.since = cur.state == WorkState::wrap_up ? cur.since : now;
    next.wrap_up_until = now + wrap;
    return change(agent, std::move(next), "system");
}

std::vector<AgentStateChange> AgentStates::expire(Timestamp now) {
    std::vector<AgentStateChange> out;
    std::vector<std::pair<AgentId, Timestamp>> due;
    for (const auto& [agent, s] : states_)
        if (s.state == WorkState::wrap_up && s.wrap_up_until && *s.wrap_up_until <= now)
            due.emplace_back(agent, *s.wrap_up_until);
    // Oldest first, so the log and the pushes read in time order.
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second < b.second : a.first < b.first;
    });
    for (auto& [agent, until] : due) {
        AgentStatus next;
        next.since = until;
        out.push_back(change(agent, std::move(next), "system"));
    }
    return out;
}

std::optional<Timestamp> AgentStates::next_expiry() const {
    std::optional<Timestamp> first;
    for (const auto& [agent, s] : states_)
        if (s.state == WorkState::wrap_up && s.wrap_up_until && (!first || *s.wrap_up_until < *first))
            first = s.wrap_up_until;
    return first;
}

std::vector<AgentStateTotals> time_in_states(const std::vector<AgentStateChange>& before,
                                             const std::vector<AgentStateChange>& changes, Timestamp from,
                                             Timestamp to) {
    struct Open {
        AgentStatus status;
        Timestamp since{};
    };
    std::map<AgentId, Open> open;
    std::map<AgentId, AgentStateTotals> totals;
    const auto add = [&](const AgentId& agent, const AgentStatus& s, Timestamp a, Timestamp b) {
        auto& t = totals[agent];
        t.agent = agent;
        a = std::max(a, from);
        b = std::min(b, to);
        if (b <= a) return;
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(b - a).count();
        switch (s.state) {
        case WorkState::ready: t.ready_seconds += secs; break;
        case WorkState::not_ready:
            t.not_ready_seconds += secs;
            t.not_ready_by_reason[s.reason] += secs;
            break;
        case WorkState::wrap_up: t.wrap_up_seconds += secs; break;
        }
    };
    for (const auto& c : before) {
        open[c.agent] = Open{c.status, from};
        totals[c.agent].agent = c.agent;
    }
    for (const auto& c : changes) {
        if (c.status.since >= to) continue;
        if (auto it = open.find(c.agent); it != open.end()) add(c.agent, it->second.status, it->second.since, c.status.since);
        open[c.agent] = Open{c.status, std::max(c.status.since, from)};
        totals[c.agent].agent = c.agent;
    }
    for (const auto& [agent, o] : open) add(agent, o.status, o.since, to);
    std::vector<AgentStateTotals> out;
    out.reserve(totals.size());
    for (auto& [agent, t] : totals) out.push_back(std::move(t));
    return out;
}

void AgentStates::restore(const AgentId& agent, const AgentStatus& status) { states_[agent] = status; }

}  // namespace ringside
