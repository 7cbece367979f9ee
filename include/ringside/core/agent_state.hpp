#pragma once
// Agent states (docs/interface.md "Agent state"): whether an agent takes
// calls now. Pure rules, no clock and no I/O: every call takes `now`, and the
// server runs the book on the engine's strand, arms one timer for
// next_expiry() and persists and pushes each change the book returns.
//
//   ready      takes calls (queue member unpaused)
//   not_ready  chose to take none, with one of the configured reasons
//   wrap_up    after-call work: entered when an answered call of theirs
//              ends (unless they are not_ready), or chosen; back to ready
//              when its timer runs out
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringside/core/agent_status.hpp"
#include "ringside/core/errors.hpp"
#include "ringside/core/strong_typedef.hpp"
#include "ringside/core/time.hpp"

namespace ringside {

/// `[agent_states]`: the reasons an agent may give for not_ready and how
/// long wrap-up lasts, per queue where a queue names its own.
struct AgentStateRules {
    std::vector<std::string> reasons{"break", "lunch", "training", "meeting"};
    std::chrono::seconds wrap_up{15};                     // 0: no wrap-up after calls
    std::map<std::string, std::chrono::seconds> queue_wrap_up;  // queue name -> its own wrap-up
    /// The wrap-up after a call of `queue` (none: the default).
    std::chrono::seconds wrap_up_for(const std::optional<std::string>& queue) const;
};

/// Whether `r` is a reason name a config may list: 1-32 of a-z 0-9 _ -.
bool valid_reason_name(std::string_view r);

class AgentStates {
public:
    /// `started`: the `since` of agents with no state yet (ready).
    AgentStates(AgentStateRules rules, Timestamp started);

    const AgentStateRules& rules() const { return rules_; }
    /// The agent's state; ready since `started` for one never changed.
    AgentStatus status(const AgentId& agent) const;

    /// A user's choice. invalid_argument naming the field: an unknown state,
    /// not_ready without a reason or with one not configured, a reason with
    /// another state. Choosing the state (and reason) the agent is in already
    /// changes nothing: nullopt. wrap_up chosen runs the default wrap-up.
    Result<std::optional<AgentStateChange>> set(const AgentId& agent, std::string_view state,
                                               const std::optional<std::string>& reason, const std::string& by,
                                               Timestamp now);
    /// An answered call of this agent ended: wrap-up for the call's queue
    /// (nullopt when the agent is not_ready, or wrap-up is 0). In wrap-up
    /// already, it starts again from now.
    std::optional<AgentStateChange> call_ended(const AgentId& agent, const std::optional<std::string>& queue,
                                               Timestamp now);
    /// Every wrap-up that has run out by `now`, turned ready (since its end).
    std::vector<AgentStateChange> expire(Timestamp now);
    /// The earliest wrap-up end; nullopt when nobody is in wrap-up.
    std::optional<Timestamp> next_expiry() const;
    /// A state read back from the log after a restart (no checks: it was
    /// valid when stored; a reason no longer configured stays until changed).
    void restore(const AgentId& agent, const AgentStatus& status);
    /// Every agent whose state was set or restored.
    const std::unordered_map<AgentId, AgentStatus>& known() const { return states_; }

private:
    AgentStateChange change(const AgentId& agent, AgentStatus s, std::string by);

    AgentStateRules rules_;
    Timestamp started_;
    std::unordered_map<AgentId, AgentStatus> states_;
};

/// Time one agent spent in each state within a period, for reports.
struct AgentStateTotals {
    AgentId agent;
    std::int64_t ready_seconds = 0;
    std::int64_t not_ready_seconds = 0;
    std::int64_t wrap_up_seconds = 0;
    std::map<std::string, std::int64_t> not_ready_by_reason;  // reason -> seconds
};

/// Each agent's time per state in [from, to) from their state log: `before`
/// is each agent's last change before `from` (the state they were in when
/// the period began; none: the agent's time starts at their first change),
/// `changes` the changes within it, oldest first. A state lasts until the
/// agent's next change, or `to`. Agents in username order.
std::vector<AgentStateTotals> time_in_states(const std::vector<AgentStateChange>& before,
                                             const std::vector<AgentStateChange>& changes, Timestamp from,
                                             Timestamp to);

}  // namespace ringside
