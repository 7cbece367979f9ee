#pragma once
// The values of agent states (agent_state.hpp has the rules): what a store
// keeps and the wire carries, with no dependency on the rules' result types.
#include <optional>
#include <string>
#include <string_view>

#include "ringside/core/strong_typedef.hpp"
#include "ringside/core/time.hpp"

namespace ringside {

enum class WorkState { ready, not_ready, wrap_up };
std::string_view to_string(WorkState s);
std::optional<WorkState> work_state_from_string(std::string_view s);

/// One agent's state now.
struct AgentStatus {
    WorkState state = WorkState::ready;
    std::string reason;                    // "" unless not_ready
    Timestamp since{};                     // when this state began
    std::optional<Timestamp> wrap_up_until;  // wrap_up only: when it turns back to ready
    bool operator==(const AgentStatus&) const = default;
};

/// One change, as stored (the append-only log), pushed and audited.
struct AgentStateChange {
    AgentId agent;
    AgentStatus status;
    std::string by;     // the username who chose it, or "system" (a call ended, wrap-up ran out)
};

}  // namespace ringside
