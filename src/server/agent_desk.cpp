#include "agent_desk.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "server_state.hpp"

namespace ringside::server::detail {

using json = nlohmann::json;

json agent_state_json(const AgentId& agent, const AgentStatus& s) {
    return {{"agent", agent.value()},
            {"state", to_string(s.state)},
            {"reason", s.reason.empty() ? json(nullptr) : json(s.reason)},
            {"since", format_iso(s.since)},
            {"wrap_up_until", s.wrap_up_until ? json(format_iso(*s.wrap_up_until)) : json(nullptr)}};
}

AgentDesk::AgentDesk(State& st, AgentStateRules rules)
    : st_(st), rules_(rules), book_(std::move(rules), now_ms()), timer_(st.engine),
      writes_(net::make_strand(st.blocking.get_executor())), started_(now_ms()) {}

void AgentDesk::start() {
    try {
        for (const auto& c : st_.storage.latest_agent_states()) {
            book_.restore(c.agent, c.status);
            published_[c.agent.value()] = c.status;
        }
    } catch (const std::exception& e) {
        spdlog::error("agent states: could not read the last states, every agent starts ready: {}", e.what());
    }
    st_.calls.set_agent_activity(this);
    net::post(st_.engine, [self = shared_from_this()] { self->arm(); });
}

void AgentDesk::stop() {
    stopped_.store(true);
    net::post(st_.engine, [self = shared_from_this()] {
        self->timer_.cancel();
        self->st_.calls.set_agent_activity(nullptr);
    });
}

AgentStatus AgentDesk::status(const AgentId& agent) const {
    std::lock_guard lk(published_mutex_);
    if (auto it = published_.find(agent.value()); it != published_.end()) return it->second;
    AgentStatus s;
    s.since = started_;
    return s;
}

std::unordered_map<std::string, AgentStatus> AgentDesk::all() const {
    std::lock_guard lk(published_mutex_);
    return published_;
}

Result<AgentStatus> AgentDesk::set(const User& target, std::string_view state, const std::optional<std::string>& reason,
                                   const std::string& by) {
    auto r = book_.set(target.username, state, reason, by, now_ms());
    if (!r) return r.failure();
    if (r.value()) {
        apply(*r.value(), target.extension, true);
        arm();
    }
    return book_.status(target.username);
}

void AgentDesk::answered_call_ended(const AgentId& agent, const std::optional<std::string>& queue, Timestamp at) {
    if (stopped_.load()) return;
    // The PBX's time of the end may lag ours; the wrap-up runs from whichever is later.
    auto c = book_.call_ended(agent, queue, std::max(at, now_ms()));
    if (!c) return;
    apply(*c, std::nullopt, false);
    arm();
}

void AgentDesk::apply(const AgentStateChange& c, std::optional<Extension> extension, bool extension_known) {
    {
        std::lock_guard lk(published_mutex_);
        published_[c.agent.value()] = c.status;
    }
    json msg = agent_state_json(c.agent, c.status);
    msg["type"] = "agent.state";
    st_.hub.broadcast(PopSink::Audience::supervisors, msg);
    st_.hub.send(c.agent, std::move(msg));
    // A person's choice is worth a line; the system's wrap-ups (two per
    // answered call, on the engine's strand) only at debug.
    spdlog::log(c.by == "system" ? spdlog::level::debug : spdlog::level::info, "agent state: {} is {}{} (by {})",
                c.agent.value(), to_string(c.status.state),
                c.status.reason.empty() ? std::string() : " (" + c.status.reason + ")", c.by);

    // The log, the audit trail and the PBX block: in order, off the engine.
    net::post(writes_, [self = shared_from_this(), c, extension = std::move(extension), extension_known]() mutable {
        auto& st = self->st_;
        try {
            st.storage.append_agent_state(c);
            if (c.by != "system")
                st.storage.audit(c.by, "agent.state",
                                 json{{"agent", c.agent.value()},
                                      {"state", to_string(c.status.state)},
                                      {"reason", c.status.reason}}
                                     .dump(),
                                 c.status.since);
            if (!extension_known)
                if (auto u = st.storage.find_user(c.agent)) extension = u->extension;
        } catch (const std::exception& e) {
            spdlog::error("agent states: could not store {}'s change to {}: {}", c.agent.value(),
                          to_string(c.status.state), e.what());
        }
        self->pause_on_pbx(c.agent, c.status, extension, PbxId{});
    });
}

void AgentDesk::reapply(const PbxId& pbx) {
    if (stopped_.load()) return;
    net::post(writes_, [self = shared_from_this(), pbx] {
        for (const auto& [agent, s] : self->all()) {
            std::optional<Extension> ext;
            try {
                if (auto u = self->st_.storage.find_user(AgentId{agent}); u && !u->disabled) ext = u->extension;
            } catch (const std::exception& e) {
                spdlog::error("agent states: could not read {}'s extension: {}", agent, e.what());
            }
            self->pause_on_pbx(AgentId{agent}, s, ext, pbx);
        }
    });
}

void AgentDesk::pause_on_pbx(const AgentId& agent, const AgentStatus& s, const std::optional<Extension>& extension,
                             const PbxId& pbx) {
    QueuePauser* pauser = st_.queue_pauser.load();
    if (!pauser || !extension) return;
    QueuePauseRequest req;
    req.agent = agent;
    req.extension = *extension;
    req.paused = s.state != WorkState::ready;
    req.reason = s.state == WorkState::not_ready ? s.reason
                 : s.state == WorkState::wrap_up ? std::string("wrap_up")
                                                 : std::string();
    req.pbx = pbx;
    const auto started = pauser->apply(req, [agent, paused = req.paused](const QueuePauseOutcome& o) {
        if (o.ok) spdlog::debug("pbx {}: {} {} in their queues", o.pbx.value(), agent.value(), paused ? "paused" : "unpaused");
        else
            spdlog::warn("pbx {}: could not {} {} in their queues: {}", o.pbx.value(), paused ? "pause" : "unpause",
                         agent.value(), o.message);
    });
    for (const auto& p : started.not_applied)
        spdlog::debug("pbx {}: agent states are not applied on this PBX type", p.value());
}

void AgentDesk::arm() {
    if (stopped_.load()) return;
    const auto next = book_.next_expiry();
    if (!next) {
        timer_.cancel();
        return;
    }
    const auto wait = std::max<std::chrono::milliseconds>(*next - now_ms(), std::chrono::milliseconds(0));
    timer_.expires_after(wait);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->stopped_.load()) return;
        for (const auto& c : self->book_.expire(now_ms())) self->apply(c, std::nullopt, false);
        self->arm();
    });
}

}  // namespace ringside::server::detail
