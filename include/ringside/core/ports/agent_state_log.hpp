#pragma once
// The agents' state changes, append-only, for restoring states at start and
// for reports of the time spent in each state. Owned by the core; storage
// implements it. Blocking: append is one write (a disk commit on SQLite, a
// few ms), so the server makes it off the engine's strand; the reads scan
// the log and run at start or on a report's request. Infrastructure
// failures throw.
#include <optional>
#include <vector>

#include "ringside/core/agent_status.hpp"

namespace ringside {

class AgentStateLog {
public:
    virtual ~AgentStateLog() = default;
    /// Adds one change; entries are never updated or deleted.
    virtual void append_agent_state(const AgentStateChange& change) = 0;
    /// Each agent's newest entry (by when it was appended), in no order.
    virtual std::vector<AgentStateChange> latest_agent_states() = 0;
    /// Each agent's newest entry whose state began before `at`: the state
    /// they were in at that moment. In no order.
    virtual std::vector<AgentStateChange> agent_states_before(Timestamp at) = 0;
    /// One agent's changes whose state began in [from, to), oldest first
    /// (empty `agent`: every agent's), at most `limit`.
    virtual std::vector<AgentStateChange> agent_state_changes(const std::optional<AgentId>& agent, Timestamp from,
                                                              Timestamp to, std::size_t limit) = 0;
};

}  // namespace ringside
