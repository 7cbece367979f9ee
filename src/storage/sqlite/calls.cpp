// SqliteStore: call records (the engine's writes, finished calls with their
// history entries, dispositions, bulk loads) and the call log's reads.
#include <array>
#include <variant>

#include "call_report_parts.hpp"
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

// Values as the call tables store them (see Cell).
Cell text_cell(std::string_view v) { return Cell{std::string(v)}; }
template <class Strong>
Cell opt_text_cell(const std::optional<Strong>& v) {
    return v ? Cell{std::string(v->value())} : Cell{};
}
Cell time_cell(Timestamp t) { return Cell{to_ms(t)}; }
Cell opt_time_cell(const std::optional<Timestamp>& t) { return t ? time_cell(*t) : Cell{}; }

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

/// The calls row of a record. A new call is one INSERT. A stored one is
/// read by its key and only the columns whose value changed are written:
/// SQLite rewrites the entries of every index over a column named in an
/// UPDATE's SET, changed or not, and calls has eleven indexes, so the
/// whole-row upsert this replaces spent most of a call's write on index
/// entries that stayed the same (bench/RESULTS.md, call_write_bench).
/// Disposition and notes come from the agent, not the PBX: a record that
/// carries none keeps what the agent already saved. The hang-up side is
/// known once the call ended; a record without it keeps what is stored.
/// A record that changes nothing (a ring that only added to call_rings)
/// writes nothing: no index entry, no trigger.
SqliteStore::Impl::RowWrite SqliteStore::Impl::write_call_row(Connection& c, const CallRecord& r) {
    static constexpr std::array<const char*, 22> columns = {
        "pbx",          "direction",    "from_number", "from_raw",       "from_name",    "to_number",
        "customer_id",  "agent",        "extension",   "queue",          "status",       "started_at",
        "answered_at",  "ended_at",     "wait_seconds", "talk_seconds",  "disposition",  "notes",
        "queue_position", "hold_seconds", "hangup_by", "hangup_extension"};
    enum : std::size_t { disposition = 16, notes = 17, hangup_by = 20, hangup_extension = 21 };
    std::array<Cell, columns.size()> want = {
        text_cell(r.pbx.value()),
        text_cell(to_string(r.direction)),
        text_cell(r.from),
        text_cell(r.from_raw),
        text_cell(r.from_name),
        text_cell(r.to),
        r.customer_id ? Cell{*r.customer_id} : Cell{},
        opt_text_cell(r.agent),
        opt_text_cell(r.extension),
        r.queue ? text_cell(*r.queue) : Cell{},
        text_cell(to_string(r.status)),
        time_cell(r.started_at),
        opt_time_cell(r.answered_at),
        opt_time_cell(r.ended_at),
        Cell{r.wait_seconds},
        Cell{r.talk_seconds},
        text_cell(r.disposition),
        text_cell(stored_text(r.notes)),
        r.queue_position ? Cell{std::int64_t{*r.queue_position}} : Cell{},
        Cell{r.hold_seconds},
        r.hangup_by ? text_cell(to_string(*r.hangup_by)) : Cell{},
        r.hangup_by ? opt_text_cell(r.hangup_extension) : Cell{}};
    // Both agent columns are NOT NULL text, so want and have hold strings there.
    const auto agent_text = [&] {
        return SavedDisposition{std::get<std::string>(want[disposition]), std::get<std::string>(want[notes])};
    };
    static const std::string select_sql = [] {
        std::string sql = "SELECT ";
        for (std::size_t i = 0; i < columns.size(); ++i) sql += std::string(i ? ", " : "") + columns[i];
        return sql + " FROM calls WHERE id = ?";
    }();
    std::array<Cell, columns.size()> have;
    bool stored = false;
    {
        Query q(c, select_sql);
        q.bind(r.id);
        if (q.step()) {
            stored = true;
            for (std::size_t i = 0; i < columns.size(); ++i) have[i] = q.cell(static_cast<int>(i));
        }
    }
    if (!stored) {
        static const std::string insert_sql = [] {
            std::string sql = "INSERT INTO calls (id", values = "?";
            for (const char* col : columns) sql += std::string(", ") + col, values += ", ?";
            return sql + ") VALUES (" + values + ")";
        }();
        Query q(c, insert_sql);
        q.bind_cell(1, Cell{r.id.value()});
        for (std::size_t i = 0; i < columns.size(); ++i) q.bind_cell(static_cast<int>(i) + 2, want[i]);
        q.exec();
        return {false, agent_text()};
    }
    // The agent's text follows kept_agent_text.
    for (const std::size_t i : {std::size_t{disposition}, std::size_t{notes}})
        if (const auto* stored_agent_text = std::get_if<std::string>(&have[i]))
            want[i] = Cell{kept_agent_text(std::get<std::string>(want[i]), *stored_agent_text)};
    if (std::holds_alternative<std::monostate>(want[hangup_by])) {
        want[hangup_by] = have[hangup_by];
        want[hangup_extension] = have[hangup_extension];
    }
    std::string sql;
    std::vector<std::size_t> changed;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (want[i] == have[i]) continue;
        sql += std::string(changed.empty() ? "UPDATE calls SET " : ", ") + columns[i] + " = ?";
        changed.push_back(i);
    }
    if (changed.empty()) return {true, agent_text()};
    // A handful of column sets recur (answer, transfer, end): each is
    // prepared once and kept in the connection's statement cache.
    Query q(c, sql + " WHERE id = ?");
    int p = 1;
    for (const auto i : changed) q.bind_cell(p++, want[i]);
    q.bind_cell(p, Cell{r.id.value()});
    q.exec();
    return {true, agent_text()};
}

/// Whether the stored rings and legs of a call are the record's already
/// (a write that only answered or ended the call, the usual case): one
/// read each instead of a statement per position.
bool SqliteStore::Impl::rings_stored(Connection& c, const CallRecord& r) {
    static const std::string sql = "SELECT agent FROM call_rings WHERE call_id = ? ORDER BY position";
    Query q(c, sql);
    q.bind(r.id);
    std::size_t n = 0;
    while (q.step())
        if (n >= r.rang.size() || q.str(0) != r.rang[n++].value()) return false;
    return n == r.rang.size();
}
bool SqliteStore::Impl::legs_stored(Connection& c, const CallRecord& r) {
    static const std::string sql =
        "SELECT agent, extension, rang_at, answered_at, ended_at, talk_seconds, transferred_by "
        "FROM call_legs WHERE call_id = ? ORDER BY position";
    Query q(c, sql);
    q.bind(r.id);
    std::size_t n = 0;
    while (q.step()) {
        if (n >= r.legs.size()) return false;
        const auto& l = r.legs[n++];
        const std::array<Cell, 7> want = {opt_text_cell(l.agent),        text_cell(l.extension.value()),
                                          time_cell(l.rang_at),          opt_time_cell(l.answered_at),
                                          opt_time_cell(l.ended_at),     Cell{l.talk_seconds},
                                          opt_text_cell(l.transferred_by)};
        for (int i = 0; i < 7; ++i)
            if (q.cell(i) != want[static_cast<std::size_t>(i)]) return false;
    }
    return n == r.legs.size();
}

void SqliteStore::Impl::write_rings(Connection& c, const CallRecord& r) {
    std::int64_t pos = 0;
    for (const auto& a : r.rang)
        Query(c,
              "INSERT INTO call_rings (call_id, position, agent) VALUES (?, ?, ?) "
              "ON CONFLICT (call_id, position) DO UPDATE SET agent = excluded.agent "
              "WHERE call_rings.agent IS NOT excluded.agent")
            .bind(r.id, pos++, a)
            .exec();
    Query(c, "DELETE FROM call_rings WHERE call_id = ? AND position >= ?").bind(r.id, pos).exec();
}

void SqliteStore::Impl::write_legs(Connection& c, const CallRecord& r) {
    std::int64_t pos = 0;
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
}

std::optional<SavedDisposition> SqliteStore::Impl::upsert_call(Connection& c, const CallRecord& r, bool keep) {
    if (r.merged_into) {
        Query(c, "DELETE FROM call_legs WHERE call_id = ?").bind(r.id).exec();
        Query(c, "DELETE FROM call_rings WHERE call_id = ?").bind(r.id).exec();
        Query(c, "DELETE FROM interactions WHERE call_id = ?").bind(r.id).exec();
        Query(c, "DELETE FROM calls WHERE id = ?").bind(r.id).exec();
        return std::nullopt;
    }
    auto [stored, agent_text] = write_call_row(c, r);
    // Rings and legs: nothing to do when they are stored as they are (a
    // new call has none stored). Otherwise each position is written only
    // when it differs from what is stored (a ring appends one agent; legs
    // come at the end), then positions past the record's list removed.
    // Same rows as delete-and-reinsert.
    if (stored ? !rings_stored(c, r) : !r.rang.empty()) write_rings(c, r);
    if (stored ? !legs_stored(c, r) : !r.legs.empty()) write_legs(c, r);
    if (keep && r.customer_id) keep_erased(c, r.id, *r.customer_id);
    return std::move(agent_text);
}

void SqliteStore::Impl::finish_call_in(Connection& c, const CallRecord& r, const std::optional<Interaction>& history) {
    // with a history entry, keep_erased runs once below
    const auto saved = upsert_call(c, r, /*keep=*/ !history);
    if (!history) return;
    // What the agent saved on the call row (upsert_call kept it) is carried
    // over to the history entry: finished_call_history has the rule.
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

void SqliteStore::Impl::disposition_stored(Connection& c, const CallId& id, const std::string& disposition,
                                           const std::string& masked) {
    Query(c, "UPDATE interactions SET disposition = ?, notes = ? WHERE call_id = ?").bind(disposition, masked, id).exec();
    Query q(c, "SELECT customer_id FROM calls WHERE id = ?");
    q.bind(id);
    if (q.step())
        if (auto customer = q.opt_i64(0)) keep_erased(c, id, *customer);
}

bool SqliteStore::set_disposition(const CallId& id, const std::string& disposition, const std::string& notes) {
    return impl_->write("set_disposition", [&](Connection& c) {
        Transaction tx(c, "BEGIN IMMEDIATE");
        const std::string masked = stored_text(notes);
        if (Query(c, "UPDATE calls SET disposition = ?, notes = ? WHERE id = ?").bind(disposition, masked, id).exec() ==
            0)
            return false;
        impl_->disposition_stored(c, id, disposition, masked);
        tx.commit();
        return true;
    });
}

CallLog::DispositionWrite SqliteStore::set_disposition_if(const CallId& id, const std::string& disposition,
                                                          const std::string& notes, const std::string& previous) {
    return impl_->write("set_disposition_if", [&](Connection& c) {
        // BEGIN IMMEDIATE takes the file's write lock before the UPDATE
        // reads the row: another connection's save is either committed
        // before (and the WHERE no longer matches) or waits for this one.
        Transaction tx(c, "BEGIN IMMEDIATE");
        const std::string masked = stored_text(notes);
        if (Query(c, "UPDATE calls SET disposition = ?, notes = ? WHERE id = ? AND disposition = ?")
                .bind(disposition, masked, id, previous)
                .exec() == 0) {
            Query q(c, "SELECT 1 FROM calls WHERE id = ?");
            q.bind(id);
            return q.step() ? DispositionWrite::changed_meanwhile : DispositionWrite::no_such_call;
        }
        impl_->disposition_stored(c, id, disposition, masked);
        tx.commit();
        return DispositionWrite::written;
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
                out.next = CallFilter::Cursor{call_report_parts::sort_value(last, f.sort), last.id.value()};
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
