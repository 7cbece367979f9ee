// SqliteStore: call records (the engine's writes, finished calls with their
// history entries, dispositions, bulk loads) and the call log's reads.
#include "ringside/core/privacy.hpp"
#include "ringside/core/stored_records.hpp"
#include "rows.hpp"
#include "store_impl.hpp"

namespace ringside {
using namespace sqlite;

namespace {

/// Whether the text index should drive a call-log query: at most 2,000
/// calls hold the text (counted in the index alone, stopping there).
bool text_drives(Connection& c, const CallFilter& f) {
    if (!f.text || !text_indexable(*f.text)) return false;
    Query q(c, "SELECT count(*) FROM (SELECT 1 FROM calls_text WHERE calls_text MATCH ? LIMIT 2001)");
    q.bind(fts_phrase(*f.text));
    return q.step() && q.i64(0) <= 2000;
}

std::int64_t sort_value(const CallRecord& c, CallFilter::Sort s) {
    switch (s) {
    case CallFilter::Sort::wait_seconds: return c.wait_seconds;
    case CallFilter::Sort::talk_seconds: return c.talk_seconds;
    case CallFilter::Sort::started_at: break;
    }
    return to_ms(c.started_at);
}

}  // namespace

void SqliteStore::Impl::keep_erased(Connection& c, const CallId& call, std::int64_t customer) {
    static const std::string erased = "EXISTS (SELECT 1 FROM customers WHERE id = ?3 AND erased_at IS NOT NULL)";
    static const std::string calls_sql =
        "UPDATE calls SET "
        "from_number = CASE WHEN direction = 'inbound' AND from_number <> '' THEN ?2 ELSE from_number END, "
        "from_raw = CASE WHEN direction = 'inbound' AND from_number <> '' THEN ?2 ELSE from_raw END, "
        "from_name = CASE WHEN direction = 'inbound' THEN '' ELSE from_name END, "
        "to_number = CASE WHEN direction = 'outbound' THEN ?2 ELSE to_number END, notes = '' "
        "WHERE id = ?1 AND customer_id = ?3 AND " + erased;
    if (Query(c, calls_sql).bind(call, erased_number(customer), customer).exec() == 0) return;
    static const std::string history_sql =
        "UPDATE interactions SET summary = '', notes = '' WHERE call_id = ?1 AND customer_id = ?3 AND " + erased;
    Query(c, history_sql).bind(call, erased_number(customer), customer).exec();
}

void SqliteStore::Impl::upsert_call(Connection& c, const CallRecord& r, bool keep) {
    if (r.merged_into) {
        Query(c, "DELETE FROM call_legs WHERE call_id = ?").bind(r.id).exec();
        Query(c, "DELETE FROM call_rings WHERE call_id = ?").bind(r.id).exec();
        Query(c, "DELETE FROM interactions WHERE call_id = ?").bind(r.id).exec();
        Query(c, "DELETE FROM calls WHERE id = ?").bind(r.id).exec();
        return;
    }
    {
        // One statement for the whole row. Disposition and notes come from
        // the agent, not the PBX: an engine update that carries none keeps
        // what the agent already saved (kept_agent_text, in SQL). The hang-up side (issue 4) is known
        // once the call ended; an update without it keeps what is stored.
        // An update that changes nothing (a ring that only added to
        // call_rings) writes nothing: no index entry, no trigger.
        static const std::string sql =
            "INSERT INTO calls (id, pbx, direction, from_number, from_raw, from_name, to_number, customer_id, "
            "agent, extension, queue, status, started_at, answered_at, ended_at, wait_seconds, talk_seconds, "
            "disposition, notes, queue_position, hold_seconds, hangup_by, hangup_extension) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET pbx = excluded.pbx, direction = excluded.direction, "
            "from_number = excluded.from_number, from_raw = excluded.from_raw, "
            "from_name = excluded.from_name, to_number = excluded.to_number, "
            "customer_id = excluded.customer_id, agent = excluded.agent, extension = excluded.extension, "
            "queue = excluded.queue, status = excluded.status, started_at = excluded.started_at, "
            "answered_at = excluded.answered_at, ended_at = excluded.ended_at, "
            "wait_seconds = excluded.wait_seconds, talk_seconds = excluded.talk_seconds, "
            "disposition = CASE WHEN excluded.disposition <> '' THEN excluded.disposition "
            "ELSE calls.disposition END, "
            "notes = CASE WHEN excluded.notes <> '' THEN excluded.notes ELSE calls.notes END, "
            "queue_position = excluded.queue_position, hold_seconds = excluded.hold_seconds, "
            "hangup_by = CASE WHEN excluded.hangup_by IS NOT NULL THEN excluded.hangup_by "
            "ELSE calls.hangup_by END, "
            "hangup_extension = CASE WHEN excluded.hangup_by IS NOT NULL THEN excluded.hangup_extension "
            "ELSE calls.hangup_extension END "
            "WHERE calls.pbx IS NOT excluded.pbx OR calls.direction IS NOT excluded.direction "
            "OR calls.from_number IS NOT excluded.from_number OR calls.from_raw IS NOT excluded.from_raw "
            "OR calls.from_name IS NOT excluded.from_name OR calls.to_number IS NOT excluded.to_number "
            "OR calls.customer_id IS NOT excluded.customer_id OR calls.agent IS NOT excluded.agent "
            "OR calls.extension IS NOT excluded.extension OR calls.queue IS NOT excluded.queue "
            "OR calls.status IS NOT excluded.status OR calls.started_at IS NOT excluded.started_at "
            "OR calls.answered_at IS NOT excluded.answered_at OR calls.ended_at IS NOT excluded.ended_at "
            "OR calls.wait_seconds IS NOT excluded.wait_seconds "
            "OR calls.talk_seconds IS NOT excluded.talk_seconds "
            "OR (excluded.disposition <> '' AND calls.disposition IS NOT excluded.disposition) "
            "OR (excluded.notes <> '' AND calls.notes IS NOT excluded.notes) "
            "OR calls.queue_position IS NOT excluded.queue_position "
            "OR calls.hold_seconds IS NOT excluded.hold_seconds "
            "OR (excluded.hangup_by IS NOT NULL AND (calls.hangup_by IS NOT excluded.hangup_by "
            "OR calls.hangup_extension IS NOT excluded.hangup_extension))";
        const std::optional<std::string> hangup_by =
            r.hangup_by ? std::optional<std::string>(std::string(to_string(*r.hangup_by))) : std::nullopt;
        const std::optional<Extension> hangup_extension = r.hangup_by ? r.hangup_extension : std::nullopt;
        Query q(c, sql);
        q.bind(r.id, r.pbx, to_string(r.direction), r.from, r.from_raw, r.from_name, r.to, r.customer_id, r.agent,
               r.extension, r.queue, to_string(r.status), r.started_at, r.answered_at, r.ended_at, r.wait_seconds,
               r.talk_seconds, r.disposition, stored_text(r.notes), r.queue_position, r.hold_seconds,
               hangup_by, hangup_extension);
        q.exec();
    }
    // Rings and legs: each position written only when it differs from
    // what is stored (a ring appends one agent; legs come at the end),
    // then positions past the record's list removed (a seek that finds
    // nothing, unless the list shrank). Same rows as delete-and-reinsert.
    std::int64_t pos = 0;
    for (const auto& a : r.rang)
        Query(c,
              "INSERT INTO call_rings (call_id, position, agent) VALUES (?, ?, ?) "
              "ON CONFLICT (call_id, position) DO UPDATE SET agent = excluded.agent "
              "WHERE call_rings.agent IS NOT excluded.agent")
            .bind(r.id, pos++, a)
            .exec();
    Query(c, "DELETE FROM call_rings WHERE call_id = ? AND position >= ?").bind(r.id, pos).exec();
    pos = 0;
    for (const auto& l : r.legs)
        Query(c,
              "INSERT INTO call_legs (call_id, position, agent, extension, rang_at, answered_at, ended_at, "
              "talk_seconds, transferred_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (call_id, position) DO UPDATE SET agent = excluded.agent, "
              "extension = excluded.extension, rang_at = excluded.rang_at, answered_at = excluded.answered_at, "
              "ended_at = excluded.ended_at, talk_seconds = excluded.talk_seconds, "
              "transferred_by = excluded.transferred_by "
              "WHERE call_legs.agent IS NOT excluded.agent OR call_legs.extension IS NOT excluded.extension "
              "OR call_legs.rang_at IS NOT excluded.rang_at OR call_legs.answered_at IS NOT excluded.answered_at "
              "OR call_legs.ended_at IS NOT excluded.ended_at "
              "OR call_legs.talk_seconds IS NOT excluded.talk_seconds "
              "OR call_legs.transferred_by IS NOT excluded.transferred_by")
            .bind(r.id, pos++, l.agent, l.extension, l.rang_at, l.answered_at, l.ended_at, l.talk_seconds,
                  l.transferred_by)
            .exec();
    Query(c, "DELETE FROM call_legs WHERE call_id = ? AND position >= ?").bind(r.id, pos).exec();
    if (keep && r.customer_id) keep_erased(c, r.id, *r.customer_id);
}

void SqliteStore::Impl::finish_call_in(Connection& c, const CallRecord& r, const std::optional<Interaction>& history) {
    upsert_call(c, r, /*keep=*/ !history);  // with a history entry, keep_erased runs once below
    if (!history) return;
    // What the agent saved on the call row (upsert_call kept it) is carried
    // over to the history entry: finished_call_history has the rule.
    std::optional<SavedDisposition> saved;
    {
        Query q(c, "SELECT disposition, notes FROM calls WHERE id = ?");
        q.bind(r.id);
        if (q.step()) saved = SavedDisposition{q.str(0), q.str(1)};
    }
    const auto h = finished_call_history(r, *history, saved);
    upsert_interaction(c, h.entry, h.notes);
    rescore(c, h.entry.customer_id, now_ms());
    if (r.customer_id) keep_erased(c, r.id, *r.customer_id);
}

void SqliteStore::upsert_call(const CallRecord& r) {
    impl_->write("upsert_call", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        impl_->upsert_call(c, r);
        tx.commit();
    });
}

void SqliteStore::finish_call(const CallRecord& r, const std::optional<Interaction>& history) {
    impl_->write("finish_call", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        impl_->finish_call_in(c, r, history);
        tx.commit();
    });
}

void SqliteStore::write_calls(const std::vector<CallWrite>& batch) {
    if (batch.empty()) return;
    impl_->write("write_calls", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        for (const auto& w : batch) {
            if (w.final) impl_->finish_call_in(c, w.record, w.history);
            else impl_->upsert_call(c, w.record);
        }
        tx.commit();
    });
}

std::optional<CallRecord> SqliteStore::find_call(const CallId& id) {
    return impl_->read("find_call", [&](Connection& c) -> std::optional<CallRecord> {
        Query q(c, call_select + " WHERE id = ?");
        q.bind(id);
        if (!q.step()) return std::nullopt;
        return read_call(q);
    });
}

std::vector<CallRecord> SqliteStore::list_calls(const CallFilter& f) { return list_call_page(f).calls; }

void SqliteStore::for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) {
    impl_->read("for_each_call", [&](Connection& c) {
        // One statement stepped row by row: memory stays flat for any export,
        // and the read snapshot keeps the stream consistent while writers go on.
        const auto cq = build_call_query(f, {.with_limit = false, .extra = 0, .by_text = text_drives(c, f)});
        Query q(c, cq.sql);
        bind_all(q, cq.params);
        while (q.step())
            if (!fn(read_call(q))) break;
    });
}

std::vector<CallRecord> SqliteStore::open_calls(const PbxId& pbx) {
    return impl_->read("open_calls", [&](Connection& c) {
        Query q(c, call_select +
                       " WHERE pbx = ? AND (status = 'ringing' OR (status = 'answered' AND ended_at IS NULL)) "
                       "ORDER BY started_at, id");
        q.bind(pbx);
        std::vector<CallRecord> out;
        while (q.step()) out.push_back(read_call(q));
        return out;
    });
}

bool SqliteStore::set_disposition(const CallId& id, const std::string& disposition, const std::string& notes) {
    return impl_->write("set_disposition", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const std::string masked = stored_text(notes);
        if (Query(c, "UPDATE calls SET disposition = ?, notes = ? WHERE id = ?").bind(disposition, masked, id).exec() ==
            0)
            return false;
        Query(c, "UPDATE interactions SET disposition = ?, notes = ? WHERE call_id = ?")
            .bind(disposition, masked, id)
            .exec();
        {
            Query q(c, "SELECT customer_id FROM calls WHERE id = ?");
            q.bind(id);
            if (q.step())
                if (auto customer = q.opt_i64(0)) impl_->keep_erased(c, id, *customer);
        }
        tx.commit();
        return true;
    });
}

CallPage SqliteStore::list_call_page(const CallFilter& f) {
    return impl_->read("list_call_page", [&](Connection& c) {
        // One more row than a page says whether a next page exists.
        const auto cq = build_call_query(f, {.with_limit = true, .extra = 1, .by_text = text_drives(c, f)});
        Query q(c, cq.sql);
        bind_all(q, cq.params);
        const std::size_t page = std::clamp<std::size_t>(f.limit, 1, 1000);
        CallPage out;
        while (q.step()) {
            if (out.calls.size() == page) {
                const auto& last = out.calls.back();
                out.next = CallFilter::Cursor{sort_value(last, f.sort), last.id.value()};
                break;
            }
            out.calls.push_back(read_call(q));
        }
        return out;
    });
}

void SqliteStore::bulk_load_calls(const std::vector<CallRecord>& batch) {
    if (batch.empty()) return;
    impl_->write("bulk_load_calls", [&](Connection& c) {
        // A bulk load touches every index of calls, several keyed by phone
        // number in no useful order: a larger page cache for the writer
        // (256 MiB at most, allocated as used) keeps that off the disk.
        c.db.exec("PRAGMA cache_size = -262144");
        Transaction tx(c, "BEGIN IMMEDIATE");
        static const std::string sql =
            "INSERT INTO calls (id, pbx, direction, from_number, from_raw, from_name, to_number, customer_id, agent, "
            "extension, queue, status, started_at, answered_at, ended_at, wait_seconds, talk_seconds, disposition, "
            "notes, queue_position, hold_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        for (const auto& r : batch) {
            Query q(c, sql);
            q.bind(r.id, r.pbx, to_string(r.direction), r.from, r.from_raw, r.from_name, r.to, r.customer_id, r.agent,
                   r.extension, r.queue, to_string(r.status), r.started_at, r.answered_at, r.ended_at, r.wait_seconds,
                   r.talk_seconds, r.disposition, stored_text(r.notes), r.queue_position, r.hold_seconds);
            q.exec();
        }
        tx.commit();
    });
}

}  // namespace ringside
