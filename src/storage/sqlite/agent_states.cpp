// SqliteStore: the agents' state changes (append-only).
#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

namespace {
AgentStateChange read_change(const Query& q) {
    AgentStateChange c;
    c.agent = AgentId{q.str(0)};
    c.status.state = work_state_from_string(q.str(1)).value_or(WorkState::ready);
    c.status.reason = q.str(2);
    c.status.since = from_ms(q.i64(3));
    c.status.wrap_up_until = q.opt_time(4);
    c.by = q.str(5);
    return c;
}
}  // namespace

void SqliteStore::append_agent_state(const AgentStateChange& c) {
    impl_->write("append_agent_state", [&](Connection& conn) {
        Query q(conn, "INSERT INTO agent_state_changes (agent, state, reason, at, wrap_up_until, by) "
                      "VALUES (?, ?, ?, ?, ?, ?)");
        q.bind(c.agent, to_string(c.status.state), c.status.reason, c.status.since, c.status.wrap_up_until, c.by);
        q.exec();
    });
}

std::vector<AgentStateChange> SqliteStore::latest_agent_states() {
    return impl_->read("latest_agent_states", [&](Connection& conn) {
        Query q(conn, "SELECT agent, state, reason, at, wrap_up_until, by FROM agent_state_changes "
                      "WHERE id IN (SELECT max(id) FROM agent_state_changes GROUP BY agent)");
        std::vector<AgentStateChange> out;
        while (q.step()) out.push_back(read_change(q));
        return out;
    });
}

std::vector<AgentStateChange> SqliteStore::agent_states_before(Timestamp at) {
    return impl_->read("agent_states_before", [&](Connection& conn) {
        Query q(conn, "SELECT agent, state, reason, at, wrap_up_until, by FROM agent_state_changes WHERE id IN "
                      "(SELECT max(id) FROM agent_state_changes WHERE at < ? GROUP BY agent)");
        q.bind(at);
        std::vector<AgentStateChange> out;
        while (q.step()) out.push_back(read_change(q));
        return out;
    });
}

std::vector<AgentStateChange> SqliteStore::agent_state_changes(const std::optional<AgentId>& agent, Timestamp from,
                                                               Timestamp to, std::size_t limit) {
    return impl_->read("agent_state_changes", [&](Connection& conn) {
        const auto n = static_cast<std::int64_t>(std::min<std::size_t>(limit, 100000));
        std::vector<AgentStateChange> out;
        if (agent) {
            Query q(conn, "SELECT agent, state, reason, at, wrap_up_until, by FROM agent_state_changes "
                          "WHERE agent = ? AND at >= ? AND at < ? ORDER BY at, id LIMIT ?");
            q.bind(*agent, from, to, n);
            while (q.step()) out.push_back(read_change(q));
        } else {
            Query q(conn, "SELECT agent, state, reason, at, wrap_up_until, by FROM agent_state_changes "
                          "WHERE at >= ? AND at < ? ORDER BY at, id LIMIT ?");
            q.bind(from, to, n);
            while (q.step()) out.push_back(read_change(q));
        }
        return out;
    });
}

}  // namespace ringside
