#include "wallboard.hpp"

#include <ctime>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "agent_desk.hpp"
#include "server_state.hpp"

namespace ringside::server::detail {

using json = nlohmann::json;

nlohmann::json board_json(const CallService::BoardList& live_calls) {
    json out = json::array();
    for (const auto& c : live_calls) out.push_back(*c);
    return out;
}

std::vector<BoardAgent> board_agents(const std::vector<User>& users, const CallService::BoardList& live_calls,
                                     const std::function<bool(const AgentId&)>& online,
                                     const AgentStateOf& agent_state) {
    // One pass over the calls, then O(1) per user: not users x calls.
    std::unordered_set<std::string> talking_agents, talking_exts, ringing_exts;
    for (const auto& entry : live_calls) {
        const json& c = *entry;
        if (c.value("status", "") == "answered") {
            if (c["agent"].is_string()) talking_agents.insert(c["agent"].get<std::string>());
            if (c["extension"].is_string()) talking_exts.insert(c["extension"].get<std::string>());
        }
        for (const auto& r : c["ringing"])
            if (r["extension"].is_string()) ringing_exts.insert(r["extension"].get<std::string>());
    }
    std::vector<BoardAgent> out;
    out.reserve(users.size());
    for (const auto& u : users) {
        if (u.disabled || (u.role != Role::agent && !u.extension)) continue;
        BoardAgent a;
        a.username = u.username.value();
        a.name = u.name;
        if (u.extension) a.extension = u.extension->value();
        a.role = u.role;
        a.online = online(u.username);
        const bool on_call = talking_agents.contains(a.username) || (a.extension && talking_exts.contains(*a.extension));
        const bool ringing = a.extension && ringing_exts.contains(*a.extension);
        // The phone's state wins: an agent whose browser is closed can still take calls.
        a.state = on_call ? "on_call" : ringing ? "ringing" : a.online ? "available" : "offline";
        if (agent_state) a.agent_state = agent_state(u.username);
        out.push_back(std::move(a));
    }
    return out;
}

nlohmann::json board_agent_json(const BoardAgent& a) {
    return {{"username", a.username},
            {"name", a.name},
            {"extension", a.extension ? json(*a.extension) : json(nullptr)},
            {"role", to_string(a.role)},
            {"online", a.online},
            {"state", a.state},
            {"agent_state", to_string(a.agent_state.state)},
            {"reason", a.agent_state.reason.empty() ? json(nullptr) : json(a.agent_state.reason)},
            {"state_since", format_iso(a.agent_state.since)},
            {"wrap_up_until", a.agent_state.wrap_up_until ? json(format_iso(*a.agent_state.wrap_up_until)) : json(nullptr)}};
}

nlohmann::json wallboard_agents(const std::vector<User>& users, const CallService::BoardList& live_calls,
                                const std::function<bool(const AgentId&)>& online, const AgentStateOf& agent_state) {
    json out = json::array();
    for (const auto& a : board_agents(users, live_calls, online, agent_state)) out.push_back(board_agent_json(a));
    return out;
}

AgentChanges agent_changes(const std::vector<BoardAgent>& before, const std::vector<BoardAgent>& now) {
    std::unordered_map<std::string_view, const BoardAgent*> old;
    old.reserve(before.size());
    for (const auto& a : before) old.emplace(a.username, &a);
    AgentChanges c;
    for (const auto& a : now) {
        auto it = old.find(a.username);
        if (it == old.end()) {
            c.changed.push_back(&a);
            continue;
        }
        if (!(*it->second == a)) c.changed.push_back(&a);
        old.erase(it);
    }
    for (const auto& a : before)
        if (old.contains(a.username)) c.removed.push_back(a.username);
    return c;
}

nlohmann::json figures_json(const CallFigures& f, int service_level_seconds) {
    return {{"offered", f.offered},
            {"answered", f.answered},
            {"missed", f.missed},
            {"abandoned", f.abandoned},
            {"ringing", f.ringing},
            {"average_wait_seconds", f.average_wait_seconds},
            {"average_talk_seconds", f.average_talk_seconds},
            {"answered_within", f.answered_within},
            {"service_level", f.service_level},
            {"service_level_seconds", service_level_seconds}};
}

std::pair<Timestamp, Timestamp> local_day(Timestamp t) {
    const std::time_t secs = static_cast<std::time_t>(t.time_since_epoch().count() / 1000);
    std::tm tm{};
    localtime_r(&secs, &tm);
    tm.tm_hour = 0;
    tm.tm_min = 0;
    tm.tm_sec = 0;
    tm.tm_isdst = -1;
    const std::time_t start = std::mktime(&tm);
    tm.tm_mday += 1;
    tm.tm_isdst = -1;
    const std::time_t end = std::mktime(&tm);
    return {Timestamp{std::chrono::milliseconds{static_cast<std::int64_t>(start) * 1000}},
            Timestamp{std::chrono::milliseconds{static_cast<std::int64_t>(end) * 1000}}};
}

Wallboard::Wallboard(State& st, int service_level_seconds, std::chrono::milliseconds tick,
                     std::chrono::milliseconds flush)
    : st_(st), service_level_seconds_(service_level_seconds), tick_(tick), flush_(flush), timer_(st.ioc),
      flush_timer_(st.engine) {}

void Wallboard::start() {
    schedule();
    net::post(st_.engine, [self = shared_from_this()] { self->schedule_flush(); });
}

void Wallboard::stop() {
    stopped_.store(true);
    net::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
    net::post(st_.engine, [self = shared_from_this()] { self->flush_timer_.cancel(); });
}

/// The flush timer runs on the engine strand: its handler calls the engine directly.
void Wallboard::schedule_flush() {
    if (stopped_.load()) return;
    flush_timer_.expires_after(flush_);
    flush_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->stopped_.load()) return;
        try {
            self->st_.calls.flush_board(self->st_.hub.audience_size(PopSink::Audience::supervisors) > 0);
        } catch (const std::exception& e) {
            spdlog::warn("wallboard: flush failed: {}", e.what());
        }
        self->schedule_flush();
    });
}

void Wallboard::schedule() {
    if (stopped_.load()) return;
    timer_.expires_after(tick_);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->tick();
    });
}

void Wallboard::tick() {
    if (stopped_.load()) return;
    if (st_.hub.audience_size(PopSink::Audience::supervisors) == 0) {
        // Nobody watching: no work, and the next watcher gets a fresh publish.
        std::lock_guard lk(last_mutex_);
        last_agents_.clear();
        agents_sent_ = false;
        last_audience_ = 0;
        last_figures_.clear();
        return schedule();
    }
    // The engine's published live calls (never a wait on the engine); storage
    // reads go to the blocking pool.
    net::post(st_.blocking, [self = shared_from_this()] {
        if (self->stopped_.load()) return;
        try {
            auto& st = self->st_;
            const auto live = st.calls.published_live_calls().calls;
            const auto [from, to] = local_day(now_ms());
            const auto audience = st.hub.audience_size(PopSink::Audience::supervisors);
            auto agents = board_agents(
                st.storage.list_users(), *live, [&](const AgentId& u) { return st.hub.subscriber_count(u) > 0; },
                [&](const AgentId& u) { return st.agent_desk->status(u); });
            auto figures = figures_json(self->day_figures(from, to, *live), self->service_level_seconds_);
            figures["day_start"] = format_iso(from);
            self->publish(std::move(agents), std::move(figures), audience);
        } catch (const std::exception& e) {
            spdlog::warn("wallboard: refresh failed: {}", e.what());
        }
        net::post(self->timer_.get_executor(), [self] { self->schedule(); });
    });
}

CallFigures Wallboard::day_figures(Timestamp from, Timestamp to, const CallService::BoardList& live) {
    auto& store = st_.storage;
    const int sl = service_level_seconds_;
    const auto now = now_ms();
    // Calls that started before the oldest live one (the list is in start
    // order) have ended; a minute of margin covers a call that started after
    // the list was published. A settled part is read again every 5 minutes
    // (a call closed by a resync, another process's writes).
    Timestamp cut = now - std::chrono::minutes(1);
    if (!live.empty())
        if (const auto oldest = parse_iso((*live.front()).value("started_at", ""))) cut = std::min(cut, *oldest);
    cut = std::clamp(cut, from, to);
    const auto fresh = std::chrono::steady_clock::now();
    if (!settled_ || settled_->day != from || fresh - settled_->read_at > std::chrono::minutes(5) || cut < settled_->upto)
        settled_ = Settled{from, from, CallFigures{}, fresh};
    if (cut - settled_->upto >= std::chrono::minutes(1)) {
        settled_->figures = add_figures(settled_->figures, store.call_figures(settled_->upto, cut, sl));
        settled_->upto = cut;
    }
    return add_figures(settled_->figures, store.call_figures(settled_->upto, to, sl));
}

CallFigures add_figures(const CallFigures& a, const CallFigures& b) {
    CallFigures f;
    f.offered = a.offered + b.offered;
    f.answered = a.answered + b.answered;
    f.missed = a.missed + b.missed;
    f.abandoned = a.abandoned + b.abandoned;
    f.ringing = a.ringing + b.ringing;
    f.answered_within = a.answered_within + b.answered_within;
    if (f.answered > 0) {
        const auto weigh = [&](double x, double y) {
            return (x * static_cast<double>(a.answered) + y * static_cast<double>(b.answered)) /
                   static_cast<double>(f.answered);
        };
        f.average_wait_seconds = weigh(a.average_wait_seconds, b.average_wait_seconds);
        f.average_talk_seconds = weigh(a.average_talk_seconds, b.average_talk_seconds);
    }
    const auto finished = f.offered - f.ringing;
    f.service_level = finished > 0 ? static_cast<double>(f.answered_within) / static_cast<double>(finished) : 1.0;
    return f;
}

void Wallboard::publish(std::vector<BoardAgent> agents, json figures, std::size_t audience) {
    std::vector<json> out;
    {
        std::lock_guard lk(last_mutex_);
        const auto now = std::chrono::steady_clock::now();
        if (!agents_sent_ || audience > last_audience_ || now - last_full_ >= std::chrono::minutes(1)) {
            json list = json::array();
            for (const auto& a : agents) list.push_back(board_agent_json(a));
            out.push_back({{"type", "board.agents"}, {"agents", std::move(list)}});
            agents_sent_ = true;
            last_full_ = now;
        } else if (auto c = agent_changes(last_agents_, agents); !c.empty()) {
            json changed = json::array();
            for (const auto* a : c.changed) changed.push_back(board_agent_json(*a));
            out.push_back({{"type", "board.agent_changes"}, {"agents", std::move(changed)}, {"removed", std::move(c.removed)}});
        }
        last_agents_ = std::move(agents);
        last_audience_ = audience;
        auto f = figures.dump();
        if (f != last_figures_) {
            last_figures_ = std::move(f);
            out.push_back({{"type", "board.figures"}, {"figures", std::move(figures)}});
        }
    }
    if (out.empty()) return;
    net::post(st_.engine, [self = shared_from_this(), out = std::move(out)]() mutable {
        if (self->stopped_.load()) return;
        for (auto& m : out) self->st_.hub.broadcast(PopSink::Audience::supervisors, std::move(m));
    });
}

}  // namespace ringside::server::detail
