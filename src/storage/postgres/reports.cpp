// PostgresStore: the supervisors' call log (CallReports' pages and streams),
// the wallboard's figures and the reports, from the calls and the rollups
// the call_rollup trigger keeps (call_slots, call_agent_days), with the same
// answers as SQLite's (src/storage/sqlite/reports.cpp).
//
// Call ids compare as bytes (COLLATE "C") wherever they order a page, so a
// page boundary and the order of ties are SQLite's whatever the database's
// locale.
#include <algorithm>

#include "call_report_parts.hpp"
#include "ringside/storage/postgres_store.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace pg;
using namespace call_report_parts;

namespace {

struct CallQuery {
    std::string sql;
    std::vector<Param> params;  // $1.. in order
};

/// The calls matching f in its order, at most `limit` rows when set.
CallQuery call_query(const CallFilter& f, std::optional<std::int64_t> limit) {
    CallQuery q;
    auto arg = [&](Param p) {
        q.params.push_back(std::move(p));
        return "$" + std::to_string(q.params.size());
    };
    q.sql = call_select + " WHERE true";
    if (f.since) q.sql += " AND started_at >= " + arg(param(*f.since));
    if (f.until) q.sql += " AND started_at < " + arg(param(*f.until));
    if (f.agent) q.sql += " AND agent = " + arg(param(*f.agent));
    if (f.status) q.sql += " AND status = " + arg(param(std::string(to_string(*f.status))));
    if (f.customer_id) q.sql += " AND customer_id = " + arg(param(*f.customer_id));
    if (f.pbx) q.sql += " AND pbx = " + arg(param(*f.pbx));
    if (f.phone) {
        const auto p = arg(param(*f.phone));
        q.sql += " AND (from_number = " + p + " OR to_number = " + p + ")";
    }
    if (f.direction) q.sql += " AND direction = " + arg(param(std::string(to_string(*f.direction))));
    if (f.queue) q.sql += " AND queue = " + arg(param(*f.queue));
    if (f.text) {
        // A substring of the notes or the disposition, answered by the
        // partial pg_trgm indexes (their WHERE is repeated so they apply).
        const auto p = arg(param("%" + like_literal(*f.text) + "%"));
        q.sql += " AND ((notes <> '' AND notes ILIKE " + p + ") OR (disposition <> '' AND disposition ILIKE " + p +
                 "))";
    }
    const std::string col = sort_column(f.sort);
    const char* dir = f.ascending ? " ASC" : " DESC";
    if (f.after) {
        const auto v = arg(param(f.after->value));
        const auto id = arg(param(f.after->id));
        // The plain bound lets the planner seek the sort index; the pair
        // then excludes the boundary's earlier ties exactly.
        q.sql += " AND " + col + (f.ascending ? " >= " : " <= ") + v + " AND (" + col + ", id COLLATE \"C\") " +
                 (f.ascending ? "> (" : "< (") + v + ", " + id + " COLLATE \"C\")";
    }
    q.sql += " ORDER BY " + col + dir + ", id COLLATE \"C\"" + dir;
    if (limit) q.sql += " LIMIT " + arg(param(*limit));
    return q;
}

CallPage page_of(Connection& c, const CallFilter& f, const char* what) {
    const std::size_t page = std::clamp<std::size_t>(f.limit, 1, 1000);
    // One more row than a page says whether a next page exists.
    const auto q = call_query(f, static_cast<std::int64_t>(page + 1));
    auto r = c.exec(what, q.sql, q.params);
    CallPage out;
    for (int i = 0; i < r.rows(); ++i) {
        if (out.calls.size() == page) {
            const auto& last = out.calls.back();
            out.next = CallFilter::Cursor{sort_value(last, f.sort), last.id.value()};
            break;
        }
        out.calls.push_back(read_call(r, i));
    }
    return out;
}

}  // namespace

std::vector<CallRecord> PostgresStore::list_calls(const CallFilter& f) { return list_call_page(f).calls; }

CallPage PostgresStore::list_call_page(const CallFilter& f) {
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");  // the calls with their rings and legs
    auto out = page_of(*c, f, "list_call_page");
    tx.commit();
    return out;
}

void PostgresStore::for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) {
    // Pages of the filter's own order, each after the last, from one
    // snapshot: the stream is one point in time and neither side holds more
    // than a page, however many calls match.
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    CallFilter page = f;
    page.limit = 1000;
    for (;;) {
        auto got = page_of(*c, page, "for_each_call");
        for (const auto& call : got.calls)
            if (!fn(call)) return;
        if (!got.next) break;
        page.after = got.next;
    }
    tx.commit();
}

CallFigures PostgresStore::call_figures(Timestamp since, Timestamp until, int service_level_seconds) {
    auto c = impl_->pool.lease();
    // One range scan of the covering index calls_day_figures.
    auto r = c->run("call_figures",
                    "SELECT count(*), "
                    "count(*) FILTER (WHERE status = 'answered'), "
                    "count(*) FILTER (WHERE status IN ('missed', 'busy', 'failed')), "
                    "count(*) FILTER (WHERE status = 'abandoned'), "
                    "count(*) FILTER (WHERE status = 'ringing'), "
                    "coalesce(avg(wait_seconds) FILTER (WHERE status = 'answered'), 0)::text, "
                    "coalesce(avg(talk_seconds) FILTER (WHERE status = 'answered'), 0)::text, "
                    "count(*) FILTER (WHERE status = 'answered' AND wait_seconds <= $3) "
                    "FROM calls WHERE started_at >= $1 AND started_at < $2 AND direction = 'inbound'",
                    since, until, static_cast<std::int64_t>(service_level_seconds));
    CallFigures fig;
    if (!r.rows()) return fig;
    fig.offered = r.i64(0, 0);
    fig.answered = r.i64(0, 1);
    fig.missed = r.i64(0, 2);
    fig.abandoned = r.i64(0, 3);
    fig.ringing = r.i64(0, 4);
    fig.average_wait_seconds = std::stod(r.str(0, 5));
    fig.average_talk_seconds = std::stod(r.str(0, 6));
    fig.answered_within = r.i64(0, 7);
    const auto finished = fig.offered - fig.ringing;
    fig.service_level = finished > 0 ? static_cast<double>(fig.answered_within) / static_cast<double>(finished) : 1.0;
    return fig;
}

CallReport PostgresStore::call_report(const ReportQuery& rq) {
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");  // every list from one point in time
    CallReport rep;
    const std::int64_t off = static_cast<std::int64_t>(rq.utc_offset_minutes) * 60'000;
    const auto rows = static_cast<std::int64_t>(std::clamp<std::size_t>(rq.max_rows, 1, 1000));
    // The rollups answer the whole 15-minute slots and UTC days inside the
    // range, the calls themselves the ragged ends. An offset that is no
    // multiple of 15 minutes does not fit the slots: all raw.
    const std::int64_t since_ms = to_ms(rq.since), until_ms = to_ms(rq.until);
    constexpr std::int64_t slot_ms = 900'000, day_ms = 86'400'000;
    const auto slots = whole_units(since_ms, until_ms, slot_ms, off % slot_ms == 0);
    auto buckets = [&](std::int64_t width) {
        Buckets bk;
        const auto add = [&](const Result& r) {
            for (int i = 0; i < r.rows(); ++i) bk.add(r.i64(i, 0), r.str(i, 1), r.i64(i, 2));
        };
        // Local boundaries: shift by the offset, floor to the width, shift back.
        const auto raw = [&](std::int64_t from, std::int64_t to) {
            if (from >= to) return;
            add(c->run("call_report",
                       "SELECT ((started_at + $3) / $4) * $4 - $3 AS b, status, count(*) FROM calls "
                       "WHERE started_at >= $1 AND started_at < $2 GROUP BY b, status ORDER BY b",
                       from, to, off, width));
        };
        raw(since_ms, slots.from);
        if (slots.from < slots.to)
            add(c->run("call_report",
                       "SELECT ((slot + $3) / $4) * $4 - $3 AS b, status, sum(calls) FROM call_slots "
                       "WHERE slot >= $1 AND slot < $2 AND calls > 0 GROUP BY b, status ORDER BY b",
                       slots.from, slots.to, off, width));
        raw(slots.to, until_ms);
        return bk.list();
    };
    rep.hourly = buckets(3'600'000);
    rep.daily = buckets(day_ms);
    {
        const auto days = whole_units(since_ms, until_ms, day_ms, true);
        AgentTotals totals;
        const auto add = [&](const Result& r) {
            for (int i = 0; i < r.rows(); ++i) totals.add(r.str(i, 0), r.i64(i, 1), r.i64(i, 2));
        };
        const auto raw = [&](std::int64_t from, std::int64_t to) {
            if (from >= to) return;
            add(c->run("call_report",
                       "SELECT agent, count(*), sum(talk_seconds) FROM calls WHERE started_at >= $1 AND started_at < $2 "
                       "AND status = 'answered' AND agent IS NOT NULL GROUP BY agent",
                       from, to));
        };
        raw(since_ms, days.from);
        if (days.from < days.to)
            add(c->run("call_report",
                       "SELECT agent, sum(answered), sum(talk_seconds) FROM call_agent_days "
                       "WHERE day >= $1 AND day < $2 AND answered > 0 GROUP BY agent",
                       days.from, days.to));
        raw(days.to, until_ms);
        rep.agents = totals.rows(static_cast<std::size_t>(rows));
    }
    {
        auto r = c->run("call_report",
                        "SELECT from_number, count(*), max(started_at), max(customer_id) FROM calls "
                        "WHERE started_at >= $1 AND started_at < $2 AND direction = 'inbound' AND from_number <> '' "
                        "GROUP BY from_number HAVING count(*) >= 2 ORDER BY 2 DESC, 3 DESC LIMIT $3",
                        rq.since, rq.until, rows);
        for (int i = 0; i < r.rows(); ++i) {
            CallReport::RepeatCaller rc;
            rc.number = r.str(i, 0);
            rc.calls = r.i64(i, 1);
            rc.last_at = r.time(i, 2);
            rc.customer_id = r.opt_i64(i, 3);
            rep.repeat_callers.push_back(std::move(rc));
        }
    }
    {
        // Called back: a later answered call from the number, or any later
        // outbound call to it (seeks on the number indexes).
        auto r = c->run("call_report",
                        call_select +
                            " WHERE started_at >= $1 AND started_at < $2 AND direction = 'inbound' "
                            "AND status IN ('missed', 'abandoned') AND from_number <> '' "
                            "AND NOT EXISTS (SELECT 1 FROM calls b WHERE b.from_number = calls.from_number "
                            "AND b.started_at > calls.started_at AND b.status = 'answered') "
                            "AND NOT EXISTS (SELECT 1 FROM calls o WHERE o.to_number = calls.from_number "
                            "AND o.started_at > calls.started_at AND o.direction = 'outbound') "
                            "ORDER BY started_at DESC, id COLLATE \"C\" DESC LIMIT $3",
                        rq.since, rq.until, rows);
        for (int i = 0; i < r.rows(); ++i) rep.missed_not_called_back.push_back(read_call(r, i));
    }
    tx.commit();
    return rep;
}

}  // namespace ringside
