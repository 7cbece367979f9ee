// PostgresStore: the agents' state changes (append-only), as SQLite's.
#include <algorithm>

#include "ringside/storage/postgres_store.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace pg;

namespace {

const std::string change_columns = "agent, state, reason, at, wrap_up_until, by";

std::vector<AgentStateChange> changes_of(const Result& r) {
    std::vector<AgentStateChange> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
        AgentStateChange c;
        c.agent = AgentId{r.str(i, 0)};
        c.status.state = work_state_from_string(r.str(i, 1)).value_or(WorkState::ready);
        c.status.reason = r.str(i, 2);
        c.status.since = r.time(i, 3);
        c.status.wrap_up_until = r.opt_time(i, 4);
        c.by = r.str(i, 5);
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace

void PostgresStore::append_agent_state(const AgentStateChange& c) {
    auto conn = impl_->pool.lease();
    conn->run("append_agent_state",
              "INSERT INTO agent_state_changes (agent, state, reason, at, wrap_up_until, by) "
              "VALUES ($1, $2, $3, $4, $5, $6)",
              c.agent, std::string(to_string(c.status.state)), c.status.reason, c.status.since,
              c.status.wrap_up_until, c.by);
}

std::vector<AgentStateChange> PostgresStore::latest_agent_states() {
    auto conn = impl_->pool.lease();
    return changes_of(conn->run("latest_agent_states",
                                "SELECT DISTINCT ON (agent) " + change_columns +
                                    " FROM agent_state_changes ORDER BY agent, id DESC"));
}

std::vector<AgentStateChange> PostgresStore::agent_states_before(Timestamp at) {
    auto conn = impl_->pool.lease();
    return changes_of(conn->run("agent_states_before",
                                "SELECT DISTINCT ON (agent) " + change_columns +
                                    " FROM agent_state_changes WHERE at < $1 ORDER BY agent, id DESC",
                                at));
}

std::vector<AgentStateChange> PostgresStore::agent_state_changes(const std::optional<AgentId>& agent, Timestamp from,
                                                                 Timestamp to, std::size_t limit) {
    const auto n = static_cast<std::int64_t>(std::min<std::size_t>(limit, 100000));
    auto conn = impl_->pool.lease();
    if (agent)
        return changes_of(conn->run("agent_state_changes",
                                    "SELECT " + change_columns +
                                        " FROM agent_state_changes WHERE agent = $1 AND at >= $2 AND at < $3 "
                                        "ORDER BY at, id LIMIT $4",
                                    *agent, from, to, n));
    return changes_of(conn->run("agent_state_changes",
                                "SELECT " + change_columns +
                                    " FROM agent_state_changes WHERE at >= $1 AND at < $2 ORDER BY at, id LIMIT $3",
                                from, to, n));
}

}  // namespace ringside
