// GET and PUT /api/agent/state: an agent's state (ready, not ready with a
// reason, wrap-up). The route checks who may read or set whose state and
// hands the change to the AgentDesk on the engine's strand, which decides
// (the core's rules), pushes, stores and applies it on the PBX.
#include <boost/asio/post.hpp>

#include "agent_desk.hpp"
#include "route_answers.hpp"
#include "server_state.hpp"

namespace ringside::server::detail {
namespace {

using json = nlohmann::json;
using http::verb;

/// Whose state a request is about: the caller, or `?agent=USERNAME` for a
/// supervisor or admin. Answers the refusal itself and returns nullopt:
/// 403 for an agent naming someone else, 404 for no such (enabled) user.
std::optional<User> target_of(State& st, const ExchangePtr& ex) {
    const User& me = *ex->user;
    auto it = ex->query.find("agent");
    if (it == ex->query.end() || it->second == me.username.value()) return me;
    if (it->second.empty() || it->second.size() > 64) {
        reply_invalid(ex, "parameter 'agent' must be a username");
        return std::nullopt;
    }
    if (!role_at_least(me.role, Role::supervisor)) {
        reply_error(ex, http::status::forbidden, "forbidden", "agents read and set their own state only");
        return std::nullopt;
    }
    auto u = st.storage.find_user(AgentId{it->second});
    if (!u || u->disabled) {
        reply_error(ex, http::status::not_found, "not_found", "no such agent");
        return std::nullopt;
    }
    return u;
}

json answer_of(const AgentDesk& desk, const AgentId& agent, const AgentStatus& s) {
    json out = agent_state_json(agent, s);
    out["reasons"] = desk.rules().reasons;
    out["wrap_up_seconds"] = desk.rules().wrap_up.count();
    out["server_time"] = format_iso(now_ms());
    return out;
}

}  // namespace

void add_agent_state_routes(State& st) {
    st.agent_desk = std::make_shared<AgentDesk>(st, st.opt.agent_states);
    st.agent_desk->start();

    // GET /api/agent/state[?agent=USERNAME]
    //   -> 200 {"agent","state","reason","since","wrap_up_until","reasons":[...],"wrap_up_seconds","server_time"}
    // Agents read their own; supervisors and admins anyone's with ?agent.
    st.router.add(verb::get, "/api/agent/state", Endpoint{Access::user, Role::agent, [&st](const ExchangePtr& ex) {
        guarded(ex, "GET /api/agent/state", [&] {
            auto target = target_of(st, ex);
            if (!target) return;
            reply(ex, http::status::ok, answer_of(*st.agent_desk, target->username, st.agent_desk->status(target->username)));
        });
    }});

    // GET /api/reports/agent-states?since&until[&agent=USERNAME]
    //   -> 200 {"since","until","agents":[{"agent","ready_seconds","not_ready_seconds","wrap_up_seconds",
    //            "not_ready_by_reason":{reason: seconds}}]}
    // Time each agent spent in each state, from the state log; `until` is
    // capped at now. Supervisor and admin. At most 366 days.
    st.router.add(verb::get, "/api/reports/agent-states", Endpoint{Access::user, Role::supervisor, [&st](const ExchangePtr& ex) {
        const auto& p = ex->query;
        const auto range = report_range(ex);
        if (!range) return;
        std::optional<AgentId> agent;
        if (auto it = p.find("agent"); it != p.end() && !it->second.empty()) agent = AgentId{it->second};
        net::post(st.blocking, [&st, ex, from = range->since, to = std::min(range->until, now_ms()), agent] {
            guarded(ex, "/api/reports/agent-states", [&] {
                auto before = st.storage.agent_states_before(from);
                if (agent) std::erase_if(before, [&](const AgentStateChange& c) { return c.agent != *agent; });
                const auto changes = st.storage.agent_state_changes(agent, from, to, 100000);
                json agents = json::array();
                for (const auto& t : time_in_states(before, changes, from, std::max(from, to)))
                    agents.push_back({{"agent", t.agent.value()},
                                      {"ready_seconds", t.ready_seconds},
                                      {"not_ready_seconds", t.not_ready_seconds},
                                      {"wrap_up_seconds", t.wrap_up_seconds},
                                      {"not_ready_by_reason", t.not_ready_by_reason}});
                reply(ex, http::status::ok, {{"since", format_iso(from)}, {"until", format_iso(std::max(from, to))}, {"agents", std::move(agents)}});
            });
        });
    }});

    // PUT /api/agent/state[?agent=USERNAME] {"state":"ready"|"not_ready"|"wrap_up","reason"?}
    //   -> 200 as GET, the state now. 400 names the bad field (an unknown
    //   state, a reason not configured or missing for not_ready, a reason
    //   with another state, an unknown field); 403 for an agent naming
    //   another; 404 for no such user. The change is pushed as
    //   `agent.state` to the agent and the supervisors and applied on the PBX.
    st.router.add(verb::put, "/api/agent/state", Endpoint{Access::user, Role::agent, [&st](const ExchangePtr& ex) {
        guarded(ex, "PUT /api/agent/state", [&] {
            auto parsed = json_body(ex);
            if (!parsed) return;
            const json& body = *parsed;
            for (const auto& [key, value] : body.items())
                if (key != "state" && key != "reason") return reply_invalid(ex, "unknown field '" + key + "'");
            auto st_it = body.find("state");
            if (st_it == body.end() || !st_it->is_string())
                return reply_invalid(ex, "field 'state' is required: \"ready\", \"not_ready\" or \"wrap_up\"");
            std::optional<std::string> reason;
            if (auto r = body.find("reason"); r != body.end() && !r->is_null()) {
                if (!r->is_string()) return reply_invalid(ex, "field 'reason' must be a string");
                if (!r->get_ref<const std::string&>().empty()) reason = r->get<std::string>();
            }
            auto target = target_of(st, ex);
            if (!target) return;
            net::post(st.engine, [&st, ex, target = std::move(*target), state = st_it->get<std::string>(),
                                  reason = std::move(reason)] {
                guarded(ex, "PUT /api/agent/state", [&] {
                    auto r = st.agent_desk->set(target, state, reason, ex->user->username.value());
                    if (!r) return reply_failure(ex, r.failure());
                    reply(ex, http::status::ok, answer_of(*st.agent_desk, target.username, r.value()));
                });
            });
        });
    }});
}

}  // namespace ringside::server::detail
