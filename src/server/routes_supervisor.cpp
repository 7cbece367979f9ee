// The supervisors' endpoints (issue 4): call detail with its timeline, the
// wallboard snapshot, reports, and the chart library; plus the call-log
// query parameters /api/calls and /api/calls.csv share. Registered from
// add_routes (routes.cpp).
#include <algorithm>
#include <array>
#include <charconv>
#include <fstream>
#include <sstream>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "ringside/core/time.hpp"
#include "ringside/server/http_util.hpp"
#include "route_answers.hpp"
#include "agent_desk.hpp"
#include "server_state.hpp"
#include "wallboard.hpp"

namespace ringside::server::detail {
namespace {

using json = nlohmann::json;
using http::verb;

std::optional<std::int64_t> parse_int(std::string_view s, std::int64_t lo, std::int64_t hi) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
    return v;
}

std::int64_t secs(Timestamp a, Timestamp b) { return b > a ? seconds_between(a, b) : 0; }

/// The call's story in time order, from the record and its legs. "ended"
/// says who hung up first ("by": caller, agent with "by_extension" and
/// "by_agent", system), or "by": null when the PBX did not let Ringside tell.
json hangup_side_of(const CallRecord& c) { return c.hangup_by ? json(to_string(*c.hangup_by)) : json(nullptr); }

/// The agent whose phone hung up first: the leg's agent on that extension.
json hangup_agent_of(const CallRecord& c) {
    if (c.hangup_by != HangupBy::agent || !c.hangup_extension) return nullptr;
    for (auto it = c.legs.rbegin(); it != c.legs.rend(); ++it)
        if (it->extension == *c.hangup_extension && it->agent) return it->agent->value();
    if (c.extension == c.hangup_extension && c.agent) return c.agent->value();
    return nullptr;
}

json timeline_of(const CallRecord& c) {
    struct Ev {
        Timestamp at;
        int order;
        json body;
    };
    std::vector<Ev> evs;
    int n = 0;
    evs.push_back({c.started_at, n++, {{"event", "started"}, {"from", c.from}, {"to", c.to}}});
    if (c.queue)
        evs.push_back({c.started_at, n++,
                       {{"event", "queued"}, {"queue", *c.queue},
                        {"position", c.queue_position ? json(*c.queue_position) : json(nullptr)}}});
    for (const auto& l : c.legs) {
        const auto who = l.agent ? json(l.agent->value()) : json(nullptr);
        const auto rang_until = l.answered_at ? *l.answered_at : l.ended_at.value_or(l.rang_at);
        json ring = {{"event", l.transferred_by ? "transferred" : "rang"},
                     {"extension", l.extension.value()},
                     {"agent", who},
                     {"ring_seconds", secs(l.rang_at, rang_until)},
                     {"answered", l.answered_at.has_value()}};
        if (l.transferred_by) ring["transferred_by"] = l.transferred_by->value();
        evs.push_back({l.rang_at, n++, std::move(ring)});
        if (l.answered_at)
            evs.push_back({*l.answered_at, n++,
                           {{"event", "answered"}, {"extension", l.extension.value()}, {"agent", who},
                            {"talk_seconds", l.talk_seconds}}});
        if (l.ended_at && l.answered_at)
            evs.push_back({*l.ended_at, n++, {{"event", "left"}, {"extension", l.extension.value()}, {"agent", who}}});
    }
    if (c.legs.empty() && c.answered_at)  // a record without legs (imported history): the answer alone
        evs.push_back({*c.answered_at, n++,
                       {{"event", "answered"}, {"extension", c.extension ? json(c.extension->value()) : json(nullptr)},
                        {"agent", c.agent ? json(c.agent->value()) : json(nullptr)}, {"talk_seconds", c.talk_seconds}}});
    if (c.ended_at)
        evs.push_back({*c.ended_at, n++,
                       {{"event", "ended"}, {"status", to_string(c.status)}, {"by", hangup_side_of(c)},
                        {"by_extension", c.hangup_extension ? json(c.hangup_extension->value()) : json(nullptr)},
                        {"by_agent", hangup_agent_of(c)},
                        {"wait_seconds", c.wait_seconds}, {"talk_seconds", c.talk_seconds}}});
    std::stable_sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) {
        return a.at != b.at ? a.at < b.at : a.order < b.order;
    });
    json out = json::array();
    for (auto& e : evs) {
        e.body["at"] = format_iso(e.at);
        out.push_back(std::move(e.body));
    }
    return out;
}

/// Reads the chart library once per request from the Debian package's path.
std::optional<std::string> read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream data;
    data << in.rdbuf();
    if (!in && !in.eof()) return std::nullopt;
    return std::move(data).str();
}

/// The hour-of-day profile staffing plans from: the hourly buckets folded onto
/// the 24 local hours of the report's time zone (utc_offset_minutes), every
/// hour present, an hour without calls as zeros. Buckets start on local hour
/// boundaries, so each lands in exactly one hour.
std::array<CallReport::Bucket, 24> hour_of_day(const std::vector<CallReport::Bucket>& hourly, int utc_offset_minutes) {
    constexpr std::int64_t hour_ms = 3'600'000;
    std::array<CallReport::Bucket, 24> out{};
    for (std::size_t h = 0; h < out.size(); ++h) out[h].start_ms = static_cast<std::int64_t>(h);
    for (const auto& b : hourly) {
        const std::int64_t local = b.start_ms + std::int64_t{utc_offset_minutes} * 60'000;
        std::int64_t hours = local / hour_ms;
        if (local % hour_ms < 0) --hours;  // floor, for times before 1970 in the zone
        const auto h = static_cast<std::size_t>((hours % 24 + 24) % 24);
        auto& o = out[h];
        o.answered += b.answered;
        o.missed += b.missed;
        o.abandoned += b.abandoned;
        o.other += b.other;
    }
    return out;
}

}  // namespace

std::string encode_cursor(const CallFilter::Cursor& c) { return std::to_string(c.value) + ":" + c.id; }

std::optional<std::string> parse_call_log_params(const std::map<std::string, std::string>& q, CallFilter& f) {
    if (auto it = q.find("direction"); it != q.end() && !it->second.empty()) {
        f.direction = direction_from_string(it->second);
        if (!f.direction) return "'direction' must be one of inbound, outbound, internal";
    }
    if (auto it = q.find("queue"); it != q.end() && !it->second.empty()) {
        if (it->second.size() > 128) return "'queue' is longer than 128 bytes";
        f.queue = it->second;
    }
    if (auto it = q.find("q"); it != q.end() && !it->second.empty()) {
        if (it->second.size() > 200) return "'q' is longer than 200 bytes";
        f.text = it->second;
    }
    if (auto it = q.find("sort"); it != q.end() && !it->second.empty()) {
        if (it->second == "started_at") f.sort = CallFilter::Sort::started_at;
        else if (it->second == "wait_seconds") f.sort = CallFilter::Sort::wait_seconds;
        else if (it->second == "talk_seconds") f.sort = CallFilter::Sort::talk_seconds;
        else return "'sort' must be one of started_at, wait_seconds, talk_seconds";
    }
    if (auto it = q.find("order"); it != q.end() && !it->second.empty()) {
        if (it->second != "asc" && it->second != "desc") return "'order' must be asc or desc";
        f.ascending = it->second == "asc";
    }
    if (auto it = q.find("after"); it != q.end() && !it->second.empty()) {
        const auto& s = it->second;
        const auto colon = s.find(':');
        auto v = colon == std::string::npos ? std::nullopt
                                            : parse_int(std::string_view(s).substr(0, colon), -(1LL << 53), 1LL << 53);
        if (!v || colon + 1 >= s.size() || s.size() > 300)
            return "'after' must be the next_cursor of a previous page";
        f.after = CallFilter::Cursor{*v, s.substr(colon + 1)};
    }
    return std::nullopt;
}

void add_supervisor_routes(State& st) {
    auto& r = st.router;
    const auto user = [](Role role, auto fn) { return Endpoint{Access::user, role, std::move(fn)}; };
    st.wallboard = std::make_shared<Wallboard>(st, st.opt.service_level_seconds, st.opt.wallboard_tick,
                                                st.opt.board_flush);
    st.wallboard->start();

    // GET /api/calls/{id} -> 200 {"call":record,"timeline":[...],"customer":{"id","name"}|null}.
    // Agents only for calls they answered (404 otherwise, like a call that does not exist).
    r.add(verb::get, "/api/calls/{id}", user(Role::agent, [&st](const ExchangePtr& ex) {
        if (ex->params[0].size() > 200) return reply_invalid(ex, "a call id is at most 200 bytes");
        auto c = st.storage.find_call(CallId(ex->params[0]));
        if (!c || (ex->user->role == Role::agent && (!c->agent || *c->agent != ex->user->username)))
            return reply_error(ex, http::status::not_found, "not_found", "no such call");
        json customer = nullptr;
        if (c->customer_id)
            if (auto ctx = st.storage.customer_context(*c->customer_id))
                customer = {{"id", ctx->customer.id}, {"name", ctx->customer.name}};
        reply(ex, http::status::ok, {{"call", *c}, {"timeline", timeline_of(*c)}, {"customer", customer}});
    }));

    // GET /api/wallboard -> 200 {"calls":[live call],"agents":[...],"figures":{...}}: the state the
    // board.* WebSocket messages then keep up to date. Supervisor and admin.
    // The calls are the engine's published list (never a wait behind PBX
    // events); one the engine has not refreshed since calls changed (nobody
    // read it lately) is asked for and read again after one board flush.
    r.add(verb::get, "/api/wallboard", user(Role::supervisor, [&st](const ExchangePtr& ex) {
        auto answer = [&st, ex] {
            net::post(st.blocking, [&st, ex] {
                guarded(ex, "/api/wallboard", [&] {
                    const auto live = st.calls.published_live_calls().calls;
                    const int sl = st.opt.service_level_seconds;
                    const auto [from, to] = local_day(now_ms());
                    auto figures = figures_json(st.storage.call_figures(from, to, sl), sl);
                    figures["day_start"] = format_iso(from);
                    reply(ex, http::status::ok,
                          {{"calls", board_json(*live)},
                           {"agents", wallboard_agents(
                                          st.storage.list_users(), *live,
                                          [&](const AgentId& u) { return st.hub.subscriber_count(u) > 0; },
                                          [&](const AgentId& u) { return st.agent_desk->status(u); })},
                           {"figures", std::move(figures)},
                           {"server_time", format_iso(now_ms())}});
                });
            });
        };
        if (st.calls.published_live_calls().current) return answer();
        auto timer = std::make_shared<net::steady_timer>(ex->strand, st.opt.board_flush * 2);
        timer->async_wait([timer, answer](boost::system::error_code) { answer(); });
    }));

    // GET /api/me/calls -> 200 {"calls":[live call],"server_time"}: the calls in progress that ring
    // on the signed-in user's phone or that they are on, as the wallboard shows them. A console
    // that slept or reconnected drops the cards of calls that are not here any more. Any role.
    // Read from the engine's published list like /api/wallboard (at most one board flush old).
    r.add(verb::get, "/api/me/calls", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto answer = [&st, ex] {
            const auto live = st.calls.published_live_calls().calls;
            const std::string& me = ex->user->username.value();
            const std::string ext = ex->user->extension ? ex->user->extension->value() : std::string();
            const auto is = [](const json& v, const std::string& want) {
                return !want.empty() && v.is_string() && v.get_ref<const std::string&>() == want;
            };
            // Mine: I am its agent, or a phone of mine rings for it (by name, or
            // by my extension when the board names nobody on it).
            const auto mine_entry = [&](const json& e) {
                const json agent = e.value("agent", json());
                return is(agent, me) || (agent.is_null() && is(e.value("extension", json()), ext));
            };
            json calls = json::array();
            for (const auto& c : *live) {
                bool mine = mine_entry(*c);
                if (!mine)
                    if (auto rg = c->find("ringing"); rg != c->end() && rg->is_array())
                        mine = std::any_of(rg->begin(), rg->end(), mine_entry);
                if (mine) calls.push_back(*c);
            }
            reply(ex, http::status::ok, {{"calls", std::move(calls)}, {"server_time", format_iso(now_ms())}});
        };
        if (st.calls.published_live_calls().current) return answer();
        auto timer = std::make_shared<net::steady_timer>(ex->strand, st.opt.board_flush * 2);
        timer->async_wait([timer, answer](boost::system::error_code) { answer(); });
    }));

    // GET /api/reports?since&until&utc_offset -> 200 {"hourly","daily","hour_of_day","agents",
    // "repeat_callers","missed_not_called_back"}. hour_of_day: 24 entries, local hours 0-23.
    // Range at most 366 days; utc_offset in minutes east of UTC.
    r.add(verb::get, "/api/reports", user(Role::supervisor, [&st](const ExchangePtr& ex) {
        ReportQuery q;
        const auto& p = ex->query;
        const auto range = report_range(ex);
        if (!range) return;
        q.since = range->since;
        q.until = range->until;
        if (auto it = p.find("utc_offset"); it != p.end()) {
            auto off = parse_int(it->second, -14 * 60, 14 * 60);
            if (!off) return reply_invalid(ex, "'utc_offset' must be minutes from -840 to 840");
            q.utc_offset_minutes = static_cast<int>(*off);
        }
        net::post(st.blocking, [&st, ex, q] {
            guarded(ex, "/api/reports", [&] {
                auto rep = st.storage.call_report(q);
                auto buckets = [](const std::vector<CallReport::Bucket>& v) {
                    json a = json::array();
                    for (const auto& b : v)
                        a.push_back({{"start", format_iso(Timestamp{std::chrono::milliseconds{b.start_ms}})},
                                     {"answered", b.answered}, {"missed", b.missed},
                                     {"abandoned", b.abandoned}, {"other", b.other}});
                    return a;
                };
                json agents = json::array();
                for (const auto& a : rep.agents)
                    agents.push_back({{"agent", a.agent}, {"answered", a.answered}, {"talk_seconds", a.talk_seconds},
                                      {"average_handle_seconds", a.average_handle_seconds}});
                json repeat = json::array();
                for (const auto& rc : rep.repeat_callers)
                    repeat.push_back({{"number", rc.number},
                                      {"customer_id", rc.customer_id ? json(*rc.customer_id) : json(nullptr)},
                                      {"calls", rc.calls}, {"last_at", format_iso(rc.last_at)}});
                json profile = json::array();
                for (const auto& b : hour_of_day(rep.hourly, q.utc_offset_minutes))
                    profile.push_back({{"hour", b.start_ms}, {"answered", b.answered}, {"missed", b.missed},
                                       {"abandoned", b.abandoned}, {"other", b.other}});
                reply(ex, http::status::ok,
                      {{"hourly", buckets(rep.hourly)}, {"daily", buckets(rep.daily)},
                       {"hour_of_day", std::move(profile)}, {"agents", agents},
                       {"repeat_callers", repeat}, {"missed_not_called_back", rep.missed_not_called_back}});
            });
        });
    }));

    // GET /vendor/chart.js: Debian's Chart.js (libjs-chart.js), served from its installed path; 404 when absent.
    r.add(verb::get, "/vendor/chart.js", Endpoint{Access::open, Role::agent, [&st](const ExchangePtr& ex) {
        auto text = st.opt.chart_js.empty() ? std::nullopt : read_file(st.opt.chart_js);
        if (!text) return reply_error(ex, http::status::not_found, "not_found", "Chart.js is not installed (libjs-chart.js)");
        auto rep = make_reply(ex->req, http::status::ok, std::move(*text), "text/javascript; charset=utf-8");
        rep.set(http::field::cache_control, "max-age=86400");
        ex->respond(std::move(rep));
    }});
}

}  // namespace ringside::server::detail
