#pragma once
#include <optional>
// Internal to ringside_server: the supervisors' live wallboard (issue 4).
//
// Calls in progress come from the core: every board_flush this flushes the
// engine's changed calls (CallService::flush_board, on the engine strand),
// which broadcasts them to PopSink::Audience::supervisors as deltas.
// What only the server knows is added here: which agents are connected
// (the hub's subscribers) and the day's figures (a storage read). A timer
// recomputes both every tick while a supervisor is connected and
// broadcasts `board.agents` / `board.figures` through the same hub when they
// changed. Broadcasts go out on the engine strand, so every user's seq
// order stays the delivery order.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>

#include "ringside/core/agent_state.hpp"
#include "ringside/core/call_service.hpp"
#include "ringside/core/model.hpp"
#include "ringside/storage/store.hpp"

namespace ringside::server::detail {

struct State;

/// One agent on the wallboard, as `board.agents` lists it.
struct BoardAgent {
    std::string username;
    std::string name;
    std::optional<std::string> extension;
    Role role = Role::agent;
    bool online = false;
    /// "on_call" (answered a live call), "ringing" (their phone rings now),
    /// "available" (signed in) or "offline".
    std::string_view state = "offline";
    /// What the agent chose (or wrap-up after a call): the agent state of
    /// GET /api/agent/state; ready since the start for one never changed.
    AgentStatus agent_state;
    bool operator==(const BoardAgent&) const = default;
};
/// An agent's state by username (AgentDesk::status); empty: every agent ready since the epoch.
using AgentStateOf = std::function<AgentStatus(const AgentId&)>;

/// The wallboard's agents: every enabled agent and every user with an
/// extension, in the users' order. The phone's state wins over presence.
/// Pure: live_calls is the engine's published board
/// (CallService::published_live_calls()).
std::vector<BoardAgent> board_agents(const std::vector<User>& users, const CallService::BoardList& live_calls,
                                     const std::function<bool(const AgentId&)>& online,
                                     const AgentStateOf& agent_state = {});
/// {"username","name","extension","role","online","state","agent_state","reason","state_since","wrap_up_until"}
nlohmann::json board_agent_json(const BoardAgent& a);
/// board_agents() as the JSON array `board.agents` and GET /api/wallboard carry.
nlohmann::json wallboard_agents(const std::vector<User>& users, const CallService::BoardList& live_calls,
                                const std::function<bool(const AgentId&)>& online,
                                const AgentStateOf& agent_state = {});

/// What `board.agent_changes` carries between two lists of board_agents():
/// the agents new or changed since `before` (in `now`'s order) and the
/// usernames no longer on the board. O(agents), once a tick.
struct AgentChanges {
    std::vector<const BoardAgent*> changed;
    std::vector<std::string> removed;
    bool empty() const { return changed.empty() && removed.empty(); }
};
AgentChanges agent_changes(const std::vector<BoardAgent>& before, const std::vector<BoardAgent>& now);

/// The published board as a JSON array (a copy of each entry), for an answer.
nlohmann::json board_json(const CallService::BoardList& live_calls);

/// {"offered","answered","missed","abandoned","ringing","average_wait_seconds",
///  "average_talk_seconds","answered_within","service_level","service_level_seconds"}
nlohmann::json figures_json(const CallFigures& f, int service_level_seconds);

/// Figures of two disjoint ranges of calls as one (counts add, averages
/// weigh by answered calls, the service level is recomputed).
CallFigures add_figures(const CallFigures& a, const CallFigures& b);

/// Start of the server's local day containing `t` (TZ of the process) and the next one.
std::pair<Timestamp, Timestamp> local_day(Timestamp t);

class Wallboard : public std::enable_shared_from_this<Wallboard> {
public:
    Wallboard(State& st, int service_level_seconds, std::chrono::milliseconds tick, std::chrono::milliseconds flush);
    void start();
    /// Stops the timer; later ticks do nothing. Any thread.
    void stop();
    int service_level_seconds() const { return service_level_seconds_; }

private:
    void schedule();
    void tick();
    void schedule_flush();
    void publish(std::vector<BoardAgent> agents, nlohmann::json figures, std::size_t audience);
    /// Today's figures: the settled part kept, the rest read (blocking pool).
    CallFigures day_figures(Timestamp from, Timestamp to, const CallService::BoardList& live);

    State& st_;
    const int service_level_seconds_;
    const std::chrono::milliseconds tick_;
    const std::chrono::milliseconds flush_;
    boost::asio::steady_timer timer_;
    boost::asio::steady_timer flush_timer_;
    std::atomic<bool> stopped_{false};
    // What the supervisors were last sent. The agents go out whole when
    // someone starts watching, when the audience grew (a supervisor who
    // just joined may have read GET /api/wallboard before the last change)
    // and every minute; else only the agents that changed: a full list of
    // 1,000 agents each second was 120 KB a second to every supervisor.
    std::mutex last_mutex_;
    std::vector<BoardAgent> last_agents_;
    bool agents_sent_ = false;
    std::size_t last_audience_ = 0;
    std::chrono::steady_clock::time_point last_full_{};
    std::string last_figures_;
    // Today's figures of the calls that are over: those started before the
    // oldest live call cannot change, so a tick reads only the calls since
    // `upto` (a scan of the whole day, every tick, grew with the day's calls:
    // 106,000 calls took 85 % of a core). Touched by one tick at a time.
    struct Settled {
        Timestamp day{};   // the day start they belong to
        Timestamp upto{};  // calls started in [day, upto)
        CallFigures figures;
        std::chrono::steady_clock::time_point read_at{};
    };
    std::optional<Settled> settled_;
};

}  // namespace ringside::server::detail
