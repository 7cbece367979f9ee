#pragma once
// Internal to ringside_server: the agents' states as the service runs them
// (docs/interface.md "Agent state"). The core's AgentStates decides; this
// runs it on the engine's strand (where the call engine reports the end of
// answered calls), arms one timer for the next wrap-up to run out, and for
// every change: publishes it for readers on other threads, pushes
// `agent.state` to the agent and the supervisors (on the engine strand, in
// seq order with the pops), then, in order on a strand of the blocking pool,
// appends it to the state log, audits a user's choice and applies it on the
// PBX (queue pause).
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "ringside/core/agent_state.hpp"
#include "ringside/core/errors.hpp"
#include "ringside/core/model.hpp"
#include "ringside/core/ports/agent_activity.hpp"

namespace ringside::server::detail {

struct State;

/// {"agent","state","reason" (null unless not_ready),"since","wrap_up_until" (null unless wrap_up)}
nlohmann::json agent_state_json(const AgentId& agent, const AgentStatus& s);

class AgentDesk final : public AgentActivity, public std::enable_shared_from_this<AgentDesk> {
public:
    AgentDesk(State& st, AgentStateRules rules);
    /// Reads every agent's last state from the log (blocking: call at start,
    /// before PBX events flow), registers with the call engine and arms the
    /// timer for wrap-ups that were running (or ran out meanwhile).
    void start();
    /// Cancels the timer; later changes are refused quietly. Any thread.
    void stop();

    /// The agent's state now. Any thread (a copy published at each change).
    AgentStatus status(const AgentId& agent) const;
    /// Every agent's state that was set or restored. Any thread.
    std::unordered_map<std::string, AgentStatus> all() const;
    const AgentStateRules& rules() const { return rules_; }

    /// A user's choice for `target` (the caller checked who may). Engine
    /// strand only. The failure names the field; an unchanged state is no change.
    Result<AgentStatus> set(const User& target, std::string_view state, const std::optional<std::string>& reason,
                            const std::string& by);

    /// Every state set or restored, applied on this PBX again (its link just
    /// logged in). Any thread.
    void reapply(const PbxId& pbx);

    /// AgentActivity, on the engine strand.
    void answered_call_ended(const AgentId& agent, const std::optional<std::string>& queue, Timestamp at) override;

private:
    void apply(const AgentStateChange& c, std::optional<Extension> extension, bool extension_known);
    /// On writes_: the state on the PBX (all links, or only `pbx`).
    void pause_on_pbx(const AgentId& agent, const AgentStatus& s, const std::optional<Extension>& extension,
                      const PbxId& pbx);
    void arm();

    State& st_;
    const AgentStateRules rules_;
    AgentStates book_;          // engine strand only
    boost::asio::steady_timer timer_;   // on the engine strand
    boost::asio::strand<boost::asio::thread_pool::executor_type> writes_;
    std::atomic<bool> stopped_{false};
    mutable std::mutex published_mutex_;
    std::unordered_map<std::string, AgentStatus> published_;
    Timestamp started_;
};

}  // namespace ringside::server::detail
