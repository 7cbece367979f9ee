// PostgresStore: opening (connections, migrations), the call log's writes
// and reads, the pop's customer context, and the customer writes done so
// far. The domain's rules (what is masked, what a finished call's history
// entry carries, the value score) are the core's; this file only stores and
// queries.
#include "ringside/storage/postgres_store.hpp"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "db.hpp"
#include "migrations.hpp"
#include "store_impl.hpp"
#include "ringside/core/customers.hpp"
#include "ringside/core/privacy.hpp"
#include "ringside/core/stored_records.hpp"
#include "ringside/core/time.hpp"
#include "ringside/storage/store.hpp"

namespace ringside {
using namespace pg;

namespace {

constexpr std::int64_t recent_limit = 5;

std::string to_json_text(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }
std::vector<std::string> strings_from_json(const std::string& text) {
    std::vector<std::string> out;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array()) return out;
    for (const auto& v : j)
        if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
}
bool is_e164(const std::string& s) {
    if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
    return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// ---- rows: each column list beside its reader

}  // namespace

const std::string pg::customer_columns =
    "c.id, c.name, c.salutation, c.email, c.tier, c.tags, c.company, c.notes, c.language, c.created_at, "
    "c.birthday, c.groups, c.owner, c.kind, c.source_campaign, c.preferred_channel, c.contact_time, c.opt_outs, "
    "c.value_score, c.lifetime_value, c.customer_since, c.status, c.removed_at, c.removed_by, c.removed_reason, "
    "c.updated_at, c.value_score_computed, c.erased_at";

Customer pg::read_customer(const Result& r, int row) {
    Customer c;
    c.id = r.i64(row, 0);
    c.name = r.str(row, 1);
    c.salutation = r.str(row, 2);
    c.email = r.str(row, 3);
    c.tier = r.str(row, 4);
    c.tags = strings_from_json(r.str(row, 5));
    c.company = r.str(row, 6);
    c.notes = r.str(row, 7);
    c.language = r.str(row, 8);
    c.created_at = r.time(row, 9);
    c.birthday = r.str(row, 10);
    c.groups = strings_from_json(r.str(row, 11));
    c.owner = r.str(row, 12);
    c.kind = r.str(row, 13);
    c.source_campaign = r.str(row, 14);
    c.preferred_channel = r.str(row, 15);
    c.contact_time = r.str(row, 16);
    c.opt_outs = strings_from_json(r.str(row, 17));
    if (auto v = r.opt_i64(row, 18)) c.value_score = static_cast<int>(*v);
    c.lifetime_value = r.opt_i64(row, 19);
    c.customer_since = r.opt_time(row, 20);
    c.status = r.str(row, 21);
    c.removed_at = r.opt_time(row, 22);
    c.removed_by = r.str(row, 23);
    c.removed_reason = r.str(row, 24);
    c.updated_at = r.opt_time(row, 25);
    c.value_score_computed = c.value_score && r.boolean(row, 26);
    c.erased_at = r.opt_time(row, 27);
    return c;
}

const std::string pg::issue_columns = "id, customer_id, title, description, status, opened_at, resolved_at, priority, owner";

Issue pg::read_issue(const Result& r, int row) {
    Issue i;
    i.id = r.i64(row, 0);
    i.customer_id = r.i64(row, 1);
    i.title = r.str(row, 2);
    i.description = r.str(row, 3);
    i.status = r.str(row, 4);
    i.opened_at = r.time(row, 5);
    i.resolved_at = r.opt_time(row, 6);
    i.priority = r.str(row, 7);
    i.owner = r.str(row, 8);
    return i;
}

const std::string pg::interaction_columns =
    "id, customer_id, at, channel, direction, summary, agent, call_id, status, disposition, notes";

Interaction pg::read_interaction(const Result& r, int row) {
    Interaction i;
    i.id = r.i64(row, 0);
    i.customer_id = r.i64(row, 1);
    i.at = r.time(row, 2);
    i.channel = r.str(row, 3);
    i.direction = r.str(row, 4);
    i.summary = r.str(row, 5);
    i.agent = r.opt_strong<AgentId>(row, 6);
    i.call_id = r.opt_strong<CallId>(row, 7);
    i.status = r.str(row, 8);
    i.disposition = r.str(row, 9);
    // As SQLite's reader: the agent's closing notes fold into the summary.
    if (auto notes = r.str(row, 10); !notes.empty()) i.summary = i.summary.empty() ? notes : i.summary + " — " + notes;
    return i;
}

// Rings and legs come as JSON arrays built by the query (one round trip per call).
const std::string pg::call_select =
    "SELECT id, pbx, direction, from_number, from_raw, from_name, to_number, customer_id, agent, extension, queue, "
    "status, started_at, answered_at, ended_at, wait_seconds, talk_seconds, disposition, notes, "
    "(SELECT coalesce(json_agg(r.agent ORDER BY r.position), '[]') FROM call_rings r WHERE r.call_id = calls.id), "
    "queue_position, hold_seconds, "
    "(SELECT coalesce(json_agg(json_build_array(l.agent, l.extension, l.rang_at, l.answered_at, l.ended_at, "
    "l.talk_seconds, l.transferred_by) ORDER BY l.position), '[]') FROM call_legs l WHERE l.call_id = calls.id), "
    "hangup_by, hangup_extension FROM calls";

static std::vector<CallLeg> legs_from_json(const std::string& text) {
    std::vector<CallLeg> out;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array()) return out;
    auto opt_ms = [](const nlohmann::json& v) {
        return v.is_number_integer() ? std::optional<Timestamp>(from_ms(v.get<std::int64_t>())) : std::nullopt;
    };
    for (const auto& row : j) {
        if (!row.is_array() || row.size() != 7 || !row[1].is_string()) continue;
        CallLeg l;
        if (row[0].is_string()) l.agent = AgentId(row[0].get<std::string>());
        l.extension = Extension(row[1].get<std::string>());
        l.rang_at = opt_ms(row[2]).value_or(Timestamp{});
        l.answered_at = opt_ms(row[3]);
        l.ended_at = opt_ms(row[4]);
        l.talk_seconds = row[5].is_number_integer() ? row[5].get<std::int64_t>() : 0;
        if (row[6].is_string()) l.transferred_by = AgentId(row[6].get<std::string>());
        out.push_back(std::move(l));
    }
    return out;
}

CallRecord pg::read_call(const Result& r, int row) {
    CallRecord c;
    c.id = CallId{r.str(row, 0)};
    c.pbx = PbxId{r.str(row, 1)};
    c.direction = direction_from_string(r.str(row, 2)).value_or(Direction::inbound);
    c.from = r.str(row, 3);
    c.from_raw = r.str(row, 4);
    c.from_name = r.str(row, 5);
    c.to = r.str(row, 6);
    c.customer_id = r.opt_i64(row, 7);
    c.agent = r.opt_strong<AgentId>(row, 8);
    c.extension = r.opt_strong<Extension>(row, 9);
    c.queue = r.opt_str(row, 10);
    c.status = call_status_from_string(r.str(row, 11)).value_or(CallStatus::failed);
    c.started_at = r.time(row, 12);
    c.answered_at = r.opt_time(row, 13);
    c.ended_at = r.opt_time(row, 14);
    c.wait_seconds = r.i64(row, 15);
    c.talk_seconds = r.i64(row, 16);
    c.disposition = r.str(row, 17);
    c.notes = r.str(row, 18);
    for (auto& a : strings_from_json(r.str(row, 19))) c.rang.emplace_back(std::move(a));
    if (auto p = r.opt_i64(row, 20)) c.queue_position = static_cast<int>(*p);
    c.hold_seconds = r.i64(row, 21);
    c.legs = legs_from_json(r.str(row, 22));
    if (auto by = r.opt_str(row, 23)) c.hangup_by = hangup_by_from_string(*by);
    c.hangup_extension = r.opt_strong<Extension>(row, 24);
    return c;
}

namespace {

/// The statements the ports share, each inside its caller's transaction.
struct Ops {
    // ---- calls

    /// An erased customer's call stays erased when the PBX writes it again
    /// (a resync): the same rule as SQLite's keep_erased.
    static void keep_erased(Connection& c, const CallId& call, std::int64_t customer) {
        static const std::string erased = "EXISTS (SELECT 1 FROM customers WHERE id = $3 AND erased_at IS NOT NULL)";
        static const std::string calls_sql =
            "UPDATE calls SET "
            "from_number = CASE WHEN direction = 'inbound' AND from_number <> '' THEN $2 ELSE from_number END, "
            "from_raw = CASE WHEN direction = 'inbound' AND from_number <> '' THEN $2 ELSE from_raw END, "
            "from_name = CASE WHEN direction = 'inbound' THEN '' ELSE from_name END, "
            "to_number = CASE WHEN direction = 'outbound' THEN $2 ELSE to_number END, notes = '' "
            "WHERE id = $1 AND customer_id = $3 AND " + erased;
        if (c.run("keep_erased", calls_sql, call, erased_number(customer), customer).affected() == 0) return;
        static const std::string history_sql =
            "UPDATE interactions SET summary = '', notes = '' WHERE call_id = $1 AND customer_id = $3 AND " + erased;
        c.run("keep_erased", history_sql, call, erased_number(customer), customer);
    }

    /// The call's row, rings and legs; returns what the agent saved on the
    /// row (disposition, notes), as stored after the write. Disposition and
    /// notes follow kept_agent_text (mirrored in SQL: an empty incoming
    /// value keeps the stored one); a record without a hang-up side keeps
    /// the stored one.
    static std::optional<SavedDisposition> upsert_call(Connection& c, const CallRecord& r, bool keep) {
        if (r.merged_into) {
            c.run("upsert_call", "DELETE FROM interactions WHERE call_id = $1", r.id);
            c.run("upsert_call", "DELETE FROM calls WHERE id = $1", r.id);  // rings and legs cascade
            return std::nullopt;
        }
        static const std::string sql =
            "INSERT INTO calls (id, pbx, direction, from_number, from_raw, from_name, to_number, customer_id, agent, "
            "extension, queue, status, started_at, answered_at, ended_at, wait_seconds, talk_seconds, disposition, "
            "notes, queue_position, hold_seconds, hangup_by, hangup_extension) VALUES ($1, $2, $3, $4, $5, $6, $7, "
            "$8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) "
            "ON CONFLICT (id) DO UPDATE SET pbx = excluded.pbx, direction = excluded.direction, "
            "from_number = excluded.from_number, from_raw = excluded.from_raw, from_name = excluded.from_name, "
            "to_number = excluded.to_number, customer_id = excluded.customer_id, agent = excluded.agent, "
            "extension = excluded.extension, queue = excluded.queue, status = excluded.status, "
            "started_at = excluded.started_at, answered_at = excluded.answered_at, ended_at = excluded.ended_at, "
            "wait_seconds = excluded.wait_seconds, talk_seconds = excluded.talk_seconds, "
            "disposition = CASE WHEN excluded.disposition <> '' THEN excluded.disposition ELSE calls.disposition END, "
            "notes = CASE WHEN excluded.notes <> '' THEN excluded.notes ELSE calls.notes END, "
            "queue_position = excluded.queue_position, hold_seconds = excluded.hold_seconds, "
            "hangup_by = coalesce(excluded.hangup_by, calls.hangup_by), "
            "hangup_extension = CASE WHEN excluded.hangup_by IS NULL THEN calls.hangup_extension "
            "ELSE excluded.hangup_extension END "
            "RETURNING disposition, notes";
        const std::optional<std::string> hangup_by =
            r.hangup_by ? std::optional<std::string>(std::string(to_string(*r.hangup_by))) : std::nullopt;
        const std::optional<Extension> hangup_ext = r.hangup_by ? r.hangup_extension : std::nullopt;
        const std::optional<std::int64_t> queue_position =
            r.queue_position ? std::optional<std::int64_t>(*r.queue_position) : std::nullopt;
        auto res = c.run("upsert_call", sql, r.id, r.pbx, std::string(to_string(r.direction)), r.from, r.from_raw,
                         r.from_name, r.to, r.customer_id, r.agent, r.extension, r.queue,
                         std::string(to_string(r.status)), r.started_at, r.answered_at, r.ended_at, r.wait_seconds,
                         r.talk_seconds, r.disposition, stored_text(r.notes), queue_position, r.hold_seconds,
                         hangup_by, hangup_ext);
        SavedDisposition saved{res.str(0, 0), res.str(0, 1)};
        // Rings and legs are rewritten whole: PostgreSQL updates only the
        // index entries of rows that change, so there is no SQLite-style
        // reason to diff them first.
        c.run("upsert_call", "DELETE FROM call_rings WHERE call_id = $1", r.id);
        for (std::size_t i = 0; i < r.rang.size(); ++i)
            c.run("upsert_call", "INSERT INTO call_rings (call_id, position, agent) VALUES ($1, $2, $3)", r.id,
                  static_cast<std::int64_t>(i), r.rang[i]);
        c.run("upsert_call", "DELETE FROM call_legs WHERE call_id = $1", r.id);
        for (std::size_t i = 0; i < r.legs.size(); ++i) {
            const auto& l = r.legs[i];
            c.run("upsert_call",
                  "INSERT INTO call_legs (call_id, position, agent, extension, rang_at, answered_at, ended_at, "
                  "talk_seconds, transferred_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                  r.id, static_cast<std::int64_t>(i), l.agent, l.extension, l.rang_at, l.answered_at, l.ended_at,
                  l.talk_seconds, l.transferred_by);
        }
        if (keep && r.customer_id) keep_erased(c, r.id, *r.customer_id);
        return saved;
    }

    static void upsert_interaction(Connection& c, const Interaction& i, const std::string& notes) {
        static const std::string sql =
            "INSERT INTO interactions (customer_id, at, channel, direction, summary, agent, call_id, status, "
            "disposition, notes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
            "ON CONFLICT (call_id) WHERE call_id IS NOT NULL DO UPDATE SET "
            "customer_id = excluded.customer_id, at = excluded.at, channel = excluded.channel, "
            "direction = excluded.direction, summary = excluded.summary, agent = excluded.agent, "
            "status = excluded.status, "
            "disposition = CASE WHEN excluded.disposition <> '' THEN excluded.disposition "
            "ELSE interactions.disposition END, "
            "notes = CASE WHEN excluded.notes <> '' THEN excluded.notes ELSE interactions.notes END";
        c.run("upsert_interaction", sql, i.customer_id, i.at, i.channel, i.direction, stored_text(i.summary), i.agent,
              i.call_id, i.status, i.disposition, stored_text(notes));
    }

    /// The lifetime-value quartiles, read as SQLite reads them (the value at
    /// offset n*k/4 of the customers with a lifetime value), fresh each time.
    static std::array<std::int64_t, 3> lifetime_quartiles(Connection& c) {
        std::array<std::int64_t, 3> qs{};
        const auto n = c.run("quartiles", "SELECT count(*) FROM customers WHERE lifetime_value > 0").i64(0, 0);
        for (std::size_t k = 0; k < 3 && n > 0; ++k) {
            auto r = c.run("quartiles",
                           "SELECT lifetime_value FROM customers WHERE lifetime_value > 0 ORDER BY lifetime_value "
                           "LIMIT 1 OFFSET $1",
                           n * static_cast<std::int64_t>(k + 1) / 4);
            if (r.rows()) qs[k] = r.i64(0, 0);
        }
        return qs;
    }

    /// Recomputes a customer's score from its history with the core's rule
    /// (compute_value_score), unless it was set by hand; the lifetime-value
    /// quartiles are read here unless given.
    static void rescore(Connection& c, std::int64_t id, Timestamp now,
                        const std::optional<std::array<std::int64_t, 3>>& quartiles = std::nullopt) {
        ValueInputs in;
        auto row = c.run("rescore",
                         "SELECT value_score, value_score_computed, lifetime_value, "
                         "coalesce(customer_since, created_at) FROM customers WHERE id = $1",
                         id);
        if (!row.rows()) return;
        const auto score = row.opt_i64(0, 0);
        if (!value_score_follows_history(score.has_value(), row.boolean(0, 1))) return;
        in.lifetime_value = row.opt_i64(0, 2);
        in.customer_since = row.time(0, 3);
        in.lifetime_quartiles = quartiles ? *quartiles : lifetime_quartiles(c);
        auto last = c.run("rescore", "SELECT max(at) FROM interactions WHERE customer_id = $1", id);
        if (!last.null(0, 0)) in.last_contact_at = last.time(0, 0);
        if (in.last_contact_at && now - *in.last_contact_at <= value_score_year)
            in.interactions_last_year =
                c.run("rescore",
                      "SELECT count(*) FROM (SELECT 1 FROM interactions WHERE customer_id = $1 AND at >= $2 LIMIT " +
                          std::to_string(value_score_frequency_cap) + ") x",
                      id, now - value_score_year)
                    .i64(0, 0);
        in.open_issues =
            c.run("rescore", "SELECT count(*) FROM issues WHERE customer_id = $1 AND status = 'open'", id).i64(0, 0);
        const std::int64_t computed = compute_value_score(in, now);
        if (score == computed) return;
        c.run("rescore", "UPDATE customers SET value_score = $1, value_score_computed = true WHERE id = $2", computed,
              id);
    }

    static void finish_call_in(Connection& c, const CallRecord& r, const std::optional<Interaction>& history) {
        const auto saved = upsert_call(c, r, /*keep=*/!history);
        if (!history) return;
        const auto h = finished_call_history(r, *history, saved);
        upsert_interaction(c, h.entry, h.notes);
        rescore(c, h.entry.customer_id, now_ms());
        if (r.customer_id) keep_erased(c, r.id, *r.customer_id);
    }

    // ---- customers

    static void load_phones(Connection& c, Customer& cu) { pg::load_phones(c, cu); }

    static CustomerContext context_of(Connection& c, Customer customer, const std::array<std::int64_t, 11>& scores) {
        CustomerContext ctx;
        load_phones(c, customer);
        ctx.complaints = c.run("context", "SELECT count(*) FROM issues WHERE customer_id = $1", customer.id).i64(0, 0);
        ctx.score_histogram = scores;
        auto issues = c.run("context",
                            "SELECT " + issue_columns +
                                " FROM issues WHERE customer_id = $1 AND status = 'open' "
                                "ORDER BY opened_at DESC, id DESC LIMIT $2",
                            customer.id, recent_limit);
        for (int i = 0; i < issues.rows(); ++i) ctx.open_issues.push_back(read_issue(issues, i));
        auto hist = c.run("context",
                          "SELECT " + interaction_columns +
                              " FROM interactions WHERE customer_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
                          customer.id, recent_limit);
        for (int i = 0; i < hist.rows(); ++i) ctx.recent_interactions.push_back(read_interaction(hist, i));
        ctx.customer = std::move(customer);
        return ctx;
    }
};

}  // namespace

// ---- the statements shared with the other files of the store (store_impl.hpp)

void pg::require_e164(const Customer& cu, const char* what) {
    for (const auto& p : cu.phones)
        if (!is_e164(p)) throw std::invalid_argument(std::string(what) + ": phone is not E.164 (normalise it first)");
}

std::int64_t pg::insert_customer(Connection& c, const Customer& scored) {
    const Customer cu = stored_form(scored);
    const auto terms = search_terms(cu);
    std::string words;
    for (const auto& t : terms) words += (words.empty() ? "" : " ") + t;
    auto r = c.run(
        "create_customer",
        "INSERT INTO customers (name, salutation, email, tier, tags, company, notes, language, created_at, birthday, "
        "groups, owner, kind, source_campaign, preferred_channel, contact_time, opt_outs, value_score, "
        "lifetime_value, customer_since, email_key, terms_version, value_score_computed, name_words) VALUES ($1, $2, "
        "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, 1, $22, $23) "
        "RETURNING id",
        cu.name, cu.salutation, cu.email, cu.tier, to_json_text(cu.tags), cu.company, cu.notes, cu.language,
        cu.created_at, cu.birthday, to_json_text(cu.groups), cu.owner,
        cu.kind.empty() ? std::string("customer") : cu.kind, cu.source_campaign, cu.preferred_channel,
        cu.contact_time, to_json_text(cu.opt_outs), cu.value_score, cu.lifetime_value, cu.customer_since,
        lower_ascii(cu.email), cu.value_score.has_value() && cu.value_score_computed, words);
    const std::int64_t id = r.i64(0, 0);
    write_customer_children(c, id, cu, terms, false);
    return id;
}

void pg::write_customer_children(Connection& c, std::int64_t id, const Customer& cu,
                                 const std::vector<std::string>& terms, bool replace) {
    if (replace) {
        c.run("customer_children", "DELETE FROM customer_phones WHERE customer_id = $1", id);
        c.run("customer_children", "DELETE FROM customer_terms WHERE customer_id = $1", id);
        c.run("customer_children", "DELETE FROM customer_labels WHERE customer_id = $1", id);
    }
    for (std::size_t i = 0; i < cu.phones.size(); ++i)
        c.run("customer_children",
              "INSERT INTO customer_phones (e164, customer_id, label, position) VALUES ($1, $2, $3, $4) "
              "ON CONFLICT DO NOTHING",
              cu.phones[i], id, i < cu.phone_labels.size() ? cu.phone_labels[i] : std::string(),
              static_cast<std::int64_t>(i));
    for (const auto& t : terms)
        c.run("customer_children",
              "INSERT INTO customer_terms (term, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", t, id);
    for (const auto& t : cu.tags)
        c.run("customer_children",
              "INSERT INTO customer_labels (kind, label, customer_id) VALUES ('t', $1, $2) ON CONFLICT DO NOTHING", t,
              id);
    for (const auto& g : cu.groups)
        c.run("customer_children",
              "INSERT INTO customer_labels (kind, label, customer_id) VALUES ('g', $1, $2) ON CONFLICT DO NOTHING", g,
              id);
}

void pg::update_customer_row(Connection& c, const Customer& given, Timestamp at) {
    const Customer cu = stored_form(given);
    const auto terms = search_terms(cu);
    std::string words;
    for (const auto& t : terms) words += (words.empty() ? "" : " ") + t;
    c.run("update_customer",
          "UPDATE customers SET name = $1, salutation = $2, email = $3, tier = $4, tags = $5, company = $6, "
          "notes = $7, language = $8, birthday = $9, groups = $10, owner = $11, kind = $12, source_campaign = $13, "
          "preferred_channel = $14, contact_time = $15, opt_outs = $16, value_score = $17, lifetime_value = $18, "
          "customer_since = $19, status = $20, removed_at = $21, removed_by = $22, removed_reason = $23, "
          "updated_at = $24, email_key = $25, terms_version = 1, value_score_computed = $26, name_words = $27 "
          "WHERE id = $28",
          cu.name, cu.salutation, cu.email, cu.tier, to_json_text(cu.tags), cu.company, cu.notes, cu.language,
          cu.birthday, to_json_text(cu.groups), cu.owner, cu.kind.empty() ? std::string("customer") : cu.kind,
          cu.source_campaign, cu.preferred_channel, cu.contact_time, to_json_text(cu.opt_outs), cu.value_score,
          cu.lifetime_value, cu.customer_since, cu.status, cu.removed_at, cu.removed_by, cu.removed_reason, at,
          lower_ascii(cu.email), cu.value_score.has_value() && cu.value_score_computed, words, cu.id);
    write_customer_children(c, cu.id, cu, terms, true);
}

void pg::load_phones(Connection& c, Customer& cu) {
    auto r = c.run("load_phones", "SELECT e164, label FROM customer_phones WHERE customer_id = $1 ORDER BY position",
                   cu.id);
    cu.phones.clear();
    cu.phone_labels.clear();
    for (int i = 0; i < r.rows(); ++i) {
        cu.phones.push_back(r.str(i, 0));
        cu.phone_labels.push_back(r.str(i, 1));
    }
}

void pg::upsert_interaction(Connection& c, const Interaction& i, const std::string& notes) {
    Ops::upsert_interaction(c, i, notes);
}

std::array<std::int64_t, 3> pg::lifetime_quartiles(Connection& c) { return Ops::lifetime_quartiles(c); }

void pg::rescore(Connection& c, std::int64_t id, Timestamp now, const std::array<std::int64_t, 3>& quartiles) {
    Ops::rescore(c, id, now, quartiles);
}

void pg::insert_audit(Connection& c, const std::string& actor, const std::string& action, const std::string& detail,
                      Timestamp at) {
    c.run("audit", "INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)", at, actor, action,
          detail);
}

std::string pg::like_literal(const std::string& s) {
    std::string out;
    for (char ch : s) {
        if (ch == '\\' || ch == '%' || ch == '_') out += '\\';
        out += ch;
    }
    return out;
}

std::string pg::lower_ascii(std::string s) {
    for (auto& ch : s)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return s;
}

PostgresStore::Impl::Impl(const std::string& url, std::size_t n) : pool(url, n) {
    auto c = pool.lease();
    version = migrate(*c);
}

std::array<std::int64_t, 11> PostgresStore::Impl::histogram(Connection& c, bool fresh) {
    constexpr auto max_age = std::chrono::seconds(10);
    const auto now = std::chrono::steady_clock::now();
    if (!fresh) {
        std::lock_guard lk(hist_mutex);
        if (hist_read && now - hist_at < max_age) return hist;
    }
    // Every node writes scores, so the count is read from the database
    // rather than adjusted in memory as SQLite's single writer does.
    std::array<std::int64_t, 11> h{};
    auto r = c.run("histogram",
                   "SELECT value_score, count(*) FROM customers WHERE status = 'active' AND value_score IS NOT NULL "
                   "GROUP BY value_score");
    for (int i = 0; i < r.rows(); ++i)
        if (const auto s = r.i64(i, 0); s >= 1 && s <= 10) h[static_cast<std::size_t>(s)] = r.i64(i, 1);
    std::lock_guard lk(hist_mutex);
    hist = h;
    hist_at = now;
    hist_read = true;
    return h;
}

PostgresStore::PostgresStore(const std::string& url, std::size_t connections)
    : impl_(std::make_unique<Impl>(url, connections)) {
    impl_->start_upkeep();
}

PostgresStore::~PostgresStore() { impl_->stop_upkeep(); }

int PostgresStore::schema_version() const { return impl_->version; }

std::string PostgresStore::server() const { return describe_url(impl_->pool.url()); }

void PostgresStore::upsert_call(const CallRecord& r) {
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    Ops::upsert_call(*c, r, true);
    tx.commit();
}

void PostgresStore::finish_call(const CallRecord& r, const std::optional<Interaction>& history) {
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    Ops::finish_call_in(*c, r, history);
    tx.commit();
}

void PostgresStore::write_calls(const std::vector<CallWrite>& batch) {
    if (batch.empty()) return;
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    for (const auto& w : batch) {
        if (w.final) Ops::finish_call_in(*c, w.record, w.history);
        else Ops::upsert_call(*c, w.record, true);
    }
    tx.commit();
}

std::optional<CallRecord> PostgresStore::find_call(const CallId& id) {
    auto c = impl_->pool.lease();
    auto r = c->run("find_call", call_select + " WHERE id = $1", id);
    if (!r.rows()) return std::nullopt;
    return read_call(r, 0);
}

std::vector<CallRecord> PostgresStore::open_calls(const PbxId& pbx) {
    auto c = impl_->pool.lease();
    auto r = c->run("open_calls",
                    call_select +
                        " WHERE pbx = $1 AND (status = 'ringing' OR (status = 'answered' AND ended_at IS NULL)) "
                        "ORDER BY started_at, id",
                    pbx);
    std::vector<CallRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_call(r, i));
    return out;
}

bool PostgresStore::set_disposition(const CallId& id, const std::string& disposition, const std::string& notes) {
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    const std::string masked = stored_text(notes);
    auto r = c->run("set_disposition", "UPDATE calls SET disposition = $1, notes = $2 WHERE id = $3 RETURNING customer_id",
                    disposition, masked, id);
    if (!r.rows()) return false;
    c->run("set_disposition", "UPDATE interactions SET disposition = $1, notes = $2 WHERE call_id = $3", disposition,
           masked, id);
    if (auto customer = r.opt_i64(0, 0)) Ops::keep_erased(*c, id, *customer);
    tx.commit();
    return true;
}

CallLog::DispositionWrite PostgresStore::set_disposition_if(const CallId& id, const std::string& disposition,
                                                            const std::string& notes, const std::string& previous) {
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    const std::string masked = stored_text(notes);
    // Under READ COMMITTED a second writer waits for the first's row lock,
    // then re-checks the WHERE on the row the first committed: it no longer
    // matches, so only one of two racing saves is stored.
    auto r = c->run("set_disposition",
                    "UPDATE calls SET disposition = $1, notes = $2 WHERE id = $3 "
                    "AND disposition IS NOT DISTINCT FROM $4 RETURNING customer_id",
                    disposition, masked, id, previous);
    if (!r.rows()) {
        const bool exists = c->run("set_disposition", "SELECT 1 FROM calls WHERE id = $1", id).rows() > 0;
        return exists ? DispositionWrite::changed_meanwhile : DispositionWrite::no_such_call;
    }
    c->run("set_disposition", "UPDATE interactions SET disposition = $1, notes = $2 WHERE call_id = $3", disposition,
           masked, id);
    if (auto customer = r.opt_i64(0, 0)) Ops::keep_erased(*c, id, *customer);
    tx.commit();
    return DispositionWrite::written;
}

std::optional<CustomerContext> PostgresStore::customer_context_by_phone(const std::string& e164) {
    auto c = impl_->pool.lease();
    // One snapshot for the customer and its lists.
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    // A number shared by several customers pops the newest of them, as on SQLite.
    auto r = c->run("customer_context_by_phone",
                    "SELECT " + customer_columns +
                        " FROM customer_phones p JOIN customers c ON c.id = p.customer_id "
                        "WHERE p.e164 = $1 AND c.status = 'active' ORDER BY p.customer_id DESC LIMIT 1",
                    e164);
    if (!r.rows()) return std::nullopt;
    auto ctx = Ops::context_of(*c, read_customer(r, 0), impl_->histogram(*c));
    tx.commit();
    return ctx;
}

std::optional<CustomerContext> PostgresStore::customer_context(std::int64_t customer_id) {
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    auto r = c->run("customer_context",
                    "SELECT " + customer_columns + " FROM customers c WHERE c.id = $1 AND c.status = 'active'",
                    customer_id);
    if (!r.rows()) return std::nullopt;
    auto ctx = Ops::context_of(*c, read_customer(r, 0), impl_->histogram(*c));
    tx.commit();
    return ctx;
}

std::vector<Customer> PostgresStore::customers_by_phone(const std::string& e164) {
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    auto r = c->run("customers_by_phone",
                    "SELECT " + customer_columns +
                        " FROM customer_phones p JOIN customers c ON c.id = p.customer_id "
                        "WHERE p.e164 = $1 AND c.status = 'active' ORDER BY p.customer_id DESC",
                    e164);
    std::vector<Customer> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_customer(r, i));
    for (auto& cu : out) Ops::load_phones(*c, cu);
    tx.commit();
    return out;
}

std::int64_t PostgresStore::create_customer(const Customer& given) {
    require_e164(given, "create_customer");
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    const auto id = insert_customer(*c, with_initial_value_score(given, Ops::lifetime_quartiles(*c), now_ms()));
    tx.commit();
    return id;
}

std::optional<Customer> PostgresStore::find_customer(std::int64_t id) {
    auto c = impl_->pool.lease();
    Transaction tx(*c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    auto r = c->run("find_customer", "SELECT " + customer_columns + " FROM customers c WHERE c.id = $1", id);
    if (!r.rows()) return std::nullopt;
    auto cu = read_customer(r, 0);
    Ops::load_phones(*c, cu);
    tx.commit();
    return cu;
}

std::int64_t PostgresStore::create_issue(const Issue& given) {
    const Issue i = stored_form(given);
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    auto r = c->run("create_issue",
                    "INSERT INTO issues (customer_id, title, description, status, opened_at, resolved_at, priority, "
                    "owner) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    i.customer_id, i.title, i.description, i.status, i.opened_at, i.resolved_at,
                    i.priority.empty() ? std::string("normal") : i.priority, i.owner);
    Ops::rescore(*c, i.customer_id, now_ms());
    tx.commit();
    return r.i64(0, 0);
}

std::int64_t PostgresStore::add_interaction(const Interaction& i) {
    auto c = impl_->pool.lease();
    Transaction tx(*c);
    auto r = c->run("add_interaction",
                    "INSERT INTO interactions (customer_id, at, channel, direction, summary, agent, call_id, status, "
                    "disposition) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                    i.customer_id, i.at, i.channel, i.direction, stored_text(i.summary), i.agent, i.call_id, i.status,
                    i.disposition);
    Ops::rescore(*c, i.customer_id, now_ms());
    tx.commit();
    return r.i64(0, 0);
}

std::size_t PostgresStore::customer_count() {
    auto c = impl_->pool.lease();
    return static_cast<std::size_t>(
        c->run("customer_count", "SELECT count(*) FROM customers WHERE status = 'active'").i64(0, 0));
}

}  // namespace ringside
