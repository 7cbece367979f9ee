// SqliteStore: the wallboard's figures and the supervisors' reports, from
// the calls and their rollups (call_slots, call_agent_days).
#include "call_report_parts.hpp"
#include "rows.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;
using namespace call_report_parts;

CallFigures SqliteStore::call_figures(Timestamp since, Timestamp until, int service_level_seconds) {
    return impl_->read("call_figures", [&](Connection& c) {
        // One range scan of the covering index calls_day_figures.
        Query q(c,
                "SELECT count(*), "
                "coalesce(sum(status = 'answered'), 0), "
                "coalesce(sum(status IN ('missed', 'busy', 'failed')), 0), "
                "coalesce(sum(status = 'abandoned'), 0), "
                "coalesce(sum(status = 'ringing'), 0), "
                "coalesce(avg(CASE WHEN status = 'answered' THEN wait_seconds END), 0), "
                "coalesce(avg(CASE WHEN status = 'answered' THEN talk_seconds END), 0), "
                "coalesce(sum(status = 'answered' AND wait_seconds <= ?3), 0) "
                "FROM calls INDEXED BY calls_day_figures "
                "WHERE started_at >= ?1 AND started_at < ?2 AND direction = 'inbound'");
        q.bind(since, until, static_cast<std::int64_t>(service_level_seconds));
        CallFigures fig;
        if (!q.step()) return fig;
        fig.offered = q.i64(0);
        fig.answered = q.i64(1);
        fig.missed = q.i64(2);
        fig.abandoned = q.i64(3);
        fig.ringing = q.i64(4);
        fig.average_wait_seconds = (*q).getColumn(5).getDouble();
        fig.average_talk_seconds = (*q).getColumn(6).getDouble();
        fig.answered_within = q.i64(7);
        const auto finished = fig.offered - fig.ringing;
        fig.service_level = finished > 0 ? static_cast<double>(fig.answered_within) / static_cast<double>(finished) : 1.0;
        return fig;
    });
}

CallReport SqliteStore::call_report(const ReportQuery& rq) {
    return impl_->read("call_report", [&](Connection& c) {
        CallReport rep;
        const std::int64_t off = static_cast<std::int64_t>(rq.utc_offset_minutes) * 60'000;
        const auto rows = static_cast<std::int64_t>(std::clamp<std::size_t>(rq.max_rows, 1, 1000));
        // Rollups (call_slots, call_agent_days) answer the whole slots / days
        // inside the range; the calls themselves the ragged ends. An offset
        // that is no multiple of 15 minutes does not fit the slots: all raw.
        const std::int64_t since_ms = to_ms(rq.since), until_ms = to_ms(rq.until);
        constexpr std::int64_t slot_ms = 900'000, day_ms = 86'400'000;
        const auto slots = whole_units(since_ms, until_ms, slot_ms, off % slot_ms == 0);
        auto buckets = [&](std::int64_t width) {
            Buckets bk;
            // Local boundaries: shift by the offset, floor to the width, shift back.
            const auto raw = [&](std::int64_t from, std::int64_t to) {
                if (from >= to) return;
                Query q(c,
                        "SELECT ((started_at + ?3) / ?4) * ?4 - ?3 AS b, status, count(*) "
                        "FROM calls INDEXED BY calls_day_figures WHERE started_at >= ?1 AND started_at < ?2 "
                        "GROUP BY b, status ORDER BY b");
                q.bind(from, to, off, width);
                while (q.step()) bk.add(q.i64(0), q.str(1), q.i64(2));
            };
            raw(since_ms, slots.from);
            if (slots.from < slots.to) {
                Query q(c,
                        "SELECT ((slot + ?3) / ?4) * ?4 - ?3 AS b, status, sum(calls) FROM call_slots "
                        "WHERE slot >= ?1 AND slot < ?2 AND calls > 0 GROUP BY b, status ORDER BY b");
                q.bind(slots.from, slots.to, off, width);
                while (q.step()) bk.add(q.i64(0), q.str(1), q.i64(2));
            }
            raw(slots.to, until_ms);
            return bk.list();
        };
        rep.hourly = buckets(3'600'000);
        rep.daily = buckets(day_ms);
        {
            const auto days = whole_units(since_ms, until_ms, day_ms, true);
            AgentTotals totals;
            const auto raw = [&](std::int64_t from, std::int64_t to) {
                if (from >= to) return;
                Query q(c,
                        "SELECT agent, count(*), sum(talk_seconds) FROM calls INDEXED BY calls_day_figures "
                        "WHERE started_at >= ?1 AND started_at < ?2 AND status = 'answered' AND agent IS NOT NULL "
                        "GROUP BY agent");
                q.bind(from, to);
                while (q.step()) totals.add(q.str(0), q.i64(1), q.i64(2));
            };
            raw(since_ms, days.from);
            if (days.from < days.to) {
                Query q(c,
                        "SELECT agent, sum(answered), sum(talk_seconds) FROM call_agent_days "
                        "WHERE day >= ?1 AND day < ?2 AND answered > 0 GROUP BY agent");
                q.bind(days.from, days.to);
                while (q.step()) totals.add(q.str(0), q.i64(1), q.i64(2));
            }
            raw(days.to, until_ms);
            rep.agents = totals.rows(static_cast<std::size_t>(rows));
        }
        {
            Query q(c,
                    "SELECT from_number, count(*), max(started_at), max(customer_id) FROM calls "
                    "WHERE started_at >= ?1 AND started_at < ?2 AND direction = 'inbound' AND from_number <> '' "
                    "GROUP BY from_number HAVING count(*) >= 2 ORDER BY 2 DESC, 3 DESC LIMIT ?3");
            q.bind(rq.since, rq.until, rows);
            while (q.step()) {
                CallReport::RepeatCaller r;
                r.number = q.str(0);
                r.calls = q.i64(1);
                r.last_at = from_ms(q.i64(2));
                r.customer_id = q.opt_i64(3);
                rep.repeat_callers.push_back(std::move(r));
            }
        }
        {
            // Called back: a later answered call from the number, or any later
            // outbound call to it (both seeks on the number indexes).
            Query q(c, call_select +
                           " WHERE started_at >= ?1 AND started_at < ?2 AND direction = 'inbound' "
                           "AND status IN ('missed', 'abandoned') AND from_number <> '' "
                           "AND NOT EXISTS (SELECT 1 FROM calls b WHERE b.from_number = calls.from_number "
                           "AND b.started_at > calls.started_at AND b.status = 'answered') "
                           "AND NOT EXISTS (SELECT 1 FROM calls o WHERE o.to_number = calls.from_number "
                           "AND o.started_at > calls.started_at AND o.direction = 'outbound') "
                           "ORDER BY started_at DESC, id DESC LIMIT ?3");
            q.bind(rq.since, rq.until, rows);
            while (q.step()) rep.missed_not_called_back.push_back(read_call(q));
        }
        return rep;
    });
}

}  // namespace ringside
