#include "query_builders.hpp"

#include <algorithm>

#include "call_report_parts.hpp"

namespace ringside::sqlite {

// call_rings is scanned in primary key order (call_id, position), so the
// array comes out in ring order.
const std::string call_select =
    "SELECT id, pbx, direction, from_number, from_raw, from_name, to_number, customer_id, agent, extension, queue, "
    "status, started_at, answered_at, ended_at, wait_seconds, talk_seconds, disposition, notes, "
    "(SELECT json_group_array(r.agent) FROM call_rings r WHERE r.call_id = calls.id), "
    "queue_position, hold_seconds, "
    "(SELECT json_group_array(json_array(l.agent, l.extension, l.rang_at, l.answered_at, l.ended_at, l.talk_seconds, "
    "l.transferred_by)) FROM call_legs l WHERE l.call_id = calls.id), "
    "hangup_by, hangup_extension "
    "FROM calls";

const std::string customer_columns =
    "c.id, c.name, c.salutation, c.email, c.tier, c.tags, c.company, c.notes, c.language, c.created_at, "
    "c.birthday, c.groups, c.owner, c.kind, c.source_campaign, c.preferred_channel, c.contact_time, c.opt_outs, "
    "c.value_score, c.lifetime_value, c.customer_since, c.status, c.removed_at, c.removed_by, c.removed_reason, "
    "c.updated_at, c.value_score_computed, c.erased_at";

std::string lower_ascii(std::string s) {
    for (auto& ch : s)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return s;
}

namespace {

// Upper bound of a prefix range: 0xFF never occurs in UTF-8, so every text
// starting with the prefix sorts below prefix + "\xFF" (BINARY collation).
std::string prefix_end(const std::string& prefix) { return prefix + "\xFF"; }

// Characters, not bytes: the trigram index needs a word of 3 characters or more.
std::size_t utf8_chars(const std::string& s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char ch) { return (static_cast<unsigned char>(ch) & 0xC0) != 0x80; }));
}
constexpr std::size_t min_inside_word_chars = 3;

}  // namespace

bool text_indexable(std::string_view text) {
    std::size_t chars = 0;
    for (unsigned char ch : text)
        if ((ch & 0xC0) != 0x80) ++chars;
    return chars >= 3;
}

std::string fts_phrase(const std::string& text) {
    std::string phrase = "\"";
    for (char ch : text) {
        if (ch == '"') phrase += '"';
        phrase += ch;
    }
    return phrase + "\"";
}

BuiltSql build_call_query(const CallFilter& f, const CallQueryShape& shape) {
    BuiltSql cq;
    cq.sql = call_select + " WHERE 1 = 1";
    if (f.since) cq.sql += " AND started_at >= ?1";
    if (f.until) cq.sql += " AND started_at < ?2";
    if (f.agent) cq.sql += " AND agent = ?3";
    if (f.status) cq.sql += " AND status = ?4";
    if (f.customer_id) cq.sql += " AND customer_id = ?5";
    if (f.pbx) cq.sql += " AND pbx = ?6";
    if (f.phone) cq.sql += " AND (from_number = ?8 OR to_number = ?8)";
    if (f.direction) cq.sql += " AND direction = ?9";
    if (f.queue) cq.sql += " AND queue = ?10";
    // by_text (at most 2,000 calls hold the text, see the store's
    // text_drives): the trigram index (calls_text) names the calls, which
    // are looked up and sorted. Else the text is common (a page is found
    // after a short walk in the range/sort index) or too short for
    // trigrams: instr on lower() over the rows the other filters leave (no
    // LIKE wildcards to escape in what a user typed).
    if (f.text && shape.by_text)
        cq.sql += " AND calls.rowid IN (SELECT rowid FROM calls_text WHERE calls_text MATCH ?11)";
    else if (f.text)
        cq.sql += " AND (instr(lower(notes), ?11) > 0 OR instr(lower(disposition), ?11) > 0)";
    const std::string col = call_report_parts::sort_column(f.sort);
    const char* dir = f.ascending ? " ASC" : " DESC";
    // The plain bound first lets the planner seek the sort index; the
    // row value then excludes the boundary's earlier ties exactly.
    if (f.after)
        cq.sql += " AND " + col + (f.ascending ? " >= ?12" : " <= ?12") + " AND (" + col + ", id) " +
                  (f.ascending ? ">" : "<") + " (?12, ?13)";
    cq.sql += " ORDER BY " + col + dir + ", id" + dir;
    if (shape.with_limit) cq.sql += " LIMIT ?7";

    auto& p = cq.params;
    using P = SqlParam;
    if (f.since) p.push_back(P::of(1, to_ms(*f.since)));
    if (f.until) p.push_back(P::of(2, to_ms(*f.until)));
    if (f.agent) p.push_back(P::of(3, f.agent->value()));
    if (f.status) p.push_back(P::of(4, std::string(to_string(*f.status))));
    if (f.customer_id) p.push_back(P::of(5, *f.customer_id));
    if (f.pbx) p.push_back(P::of(6, f.pbx->value()));
    if (shape.with_limit)
        p.push_back(P::of(7, static_cast<std::int64_t>(std::clamp<std::size_t>(f.limit, 1, 1000) + shape.extra)));
    if (f.phone) p.push_back(P::of(8, *f.phone));
    if (f.direction) p.push_back(P::of(9, std::string(to_string(*f.direction))));
    if (f.queue) p.push_back(P::of(10, *f.queue));
    if (f.text && shape.by_text) p.push_back(P::of(11, fts_phrase(*f.text)));
    else if (f.text) p.push_back(P::of(11, lower_ascii(*f.text)));
    if (f.after) {
        p.push_back(P::of(12, f.after->value));
        p.push_back(P::of(13, f.after->id));
    }
    return cq;
}

BuiltSql build_customer_query(const CustomerQuery& q, bool with_limit, bool oldest_first, bool trigram_ready,
                              RareFilters rare) {
    BuiltSql b;
    std::string from, where = " WHERE 1 = 1";
    bool distinct = false;
    auto param = [&](auto v) { b.params.push_back(SqlParam::of(static_cast<int>(b.params.size()) + 1, std::move(v))); };
    std::vector<std::string> terms = q.terms;
    // The longest word narrows most: it drives, the others are checked per row.
    std::sort(terms.begin(), terms.end(), [](const auto& a, const auto& c) { return a.size() > c.size(); });
    // Words of 3 characters or more match anywhere inside a name's words
    // ("hmad" finds "Ahmadi"), through the trigram index; shorter ones match
    // the start of a word (a prefix range on customer_terms).
    std::vector<std::string> inside, prefixes;
    for (auto& t : terms)
        (trigram_ready && utf8_chars(t) >= min_inside_word_chars ? inside : prefixes).push_back(std::move(t));
    terms.clear();
    bool fts_driven = false;
    if (q.phone) {
        from = "customer_phones d JOIN customers c ON c.id = d.customer_id";
        where += " AND d.e164 = ?";
        param(*q.phone);
    } else if (q.email) {
        from = "customers c";
        where += " AND c.email_key = ? AND c.email_key <> ''";  // <> '': lets SQLite use the partial index customers_email_key
        param(lower_ascii(*q.email));
    } else if (!inside.empty()) {
        // Every long word as a phrase: the index answers them together, in
        // rowid (= customer id) order, so the LIMIT stops the walk early.
        from = "customer_names d JOIN customers c ON c.id = d.rowid";
        std::string match;
        for (const auto& t : inside) {
            std::string quoted;  // folded words hold no quotes; doubled anyway, as FTS5 wants
            for (char ch : t) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
            match += (match.empty() ? "\"" : " \"") + quoted + "\"";
        }
        where += " AND customer_names MATCH ?";
        param(match);
        inside.clear();
        fts_driven = true;
    } else if (!prefixes.empty()) {
        from = "customer_terms d JOIN customers c ON c.id = d.customer_id";
        where += " AND d.term >= ? AND d.term < ?";
        param(prefixes[0]);
        param(prefix_end(prefixes[0]));
        prefixes.erase(prefixes.begin());
        distinct = true;  // one customer may have two words with the prefix
    } else if (q.tag || q.group) {
        from = "customer_labels d JOIN customers c ON c.id = d.customer_id";
        where += " AND d.kind = ? AND d.label = ?";
        param(std::string(q.tag ? "t" : "g"));
        param(q.tag ? *q.tag : *q.group);
    } else {
        from = "customers c";
        if (rare.score) {
            // The ids in the score range, from the score index, as a sorted
            // list that SQLite walks in id order: no sort, and the limit
            // stops it after as many rows as it needs.
            where += " AND c.id IN (SELECT id FROM customers WHERE status = 'active' AND value_score >= ? "
                     "AND value_score <= ?)";
            param(static_cast<std::int64_t>(q.min_score.value_or(1)));
            param(static_cast<std::int64_t>(q.max_score.value_or(10)));
        } else if (rare.contacted && q.contacted_since) {
            where += " AND c.id IN (SELECT customer_id FROM interactions WHERE at >= ?)";  // interactions_at
            param(to_ms(*q.contacted_since));
        }
    }
    if (q.email && q.phone) {
        where += " AND c.email_key = ? AND c.email_key <> ''";  // <> '': lets SQLite use the partial index customers_email_key
        param(lower_ascii(*q.email));
    }
    // Words that did not drive are checked on the row's own few words.
    for (const auto& t : prefixes) {
        where += " AND EXISTS (SELECT 1 FROM customer_terms t WHERE t.customer_id = c.id AND t.term >= ? AND t.term < ?)";
        param(t);
        param(prefix_end(t));
    }
    for (const auto& t : inside) {
        where += " AND EXISTS (SELECT 1 FROM customer_terms t WHERE t.customer_id = c.id AND instr(t.term, ?) > 0)";
        param(t);
    }
    const bool label_driven = from.rfind("customer_labels", 0) == 0;
    if (q.tag && !(label_driven && !q.phone && !q.email && q.terms.empty())) {
        where += " AND EXISTS (SELECT 1 FROM customer_labels l WHERE l.customer_id = c.id AND l.kind = 't' AND l.label = ?)";
        param(*q.tag);
    }
    if (q.group && !(label_driven && !q.tag)) {
        where += " AND EXISTS (SELECT 1 FROM customer_labels l WHERE l.customer_id = c.id AND l.kind = 'g' AND l.label = ?)";
        param(*q.group);
    }
    if (q.tier) {
        where += " AND c.tier = ?";
        param(*q.tier);
    }
    if (q.owner) {
        where += " AND c.owner = ?";
        param(*q.owner);
    }
    if (q.kind) {
        where += " AND c.kind = ?";
        param(*q.kind);
    }
    if (q.min_score) {
        where += " AND c.value_score >= ?";
        param(static_cast<std::int64_t>(*q.min_score));
    }
    if (q.max_score) {
        where += " AND c.value_score <= ?";
        param(static_cast<std::int64_t>(*q.max_score));
    }
    if (q.min_lifetime_value) {
        where += " AND c.lifetime_value >= ?";
        param(*q.min_lifetime_value);
    }
    // Customers with issues are few beside all customers: a rowid IN list
    // from the issues' own indexes is looked up id by id, not scanned for.
    if (q.min_complaints) {
        where += " AND c.id IN (SELECT customer_id FROM issues GROUP BY customer_id HAVING count(*) >= ?)";
        param(*q.min_complaints);
    }
    if (q.with_open_issues) where += " AND c.id IN (SELECT customer_id FROM issues WHERE status = 'open')";
    if (q.contacted_since) {
        where += " AND EXISTS (SELECT 1 FROM interactions x WHERE x.customer_id = c.id AND x.at >= ?)";
        param(to_ms(*q.contacted_since));
    }
    if (q.not_contacted_since) {
        where += " AND NOT EXISTS (SELECT 1 FROM interactions x WHERE x.customer_id = c.id AND x.at >= ?)";
        param(to_ms(*q.not_contacted_since));
    }
    if (q.customer_before) {
        where += " AND coalesce(c.customer_since, c.created_at) < ?";
        param(to_ms(*q.customer_before));
    }
    if (!q.include_removed) where += " AND c.status = 'active'";
    b.sql = std::string("SELECT ") + (distinct ? "DISTINCT " : "") + customer_columns + " FROM " + from + where;
    // Label-driven: order by the label index's own customer_id, so SQLite
    // walks that index in order and stops at the limit instead of sorting
    // every customer with the tag (1M customers: ~1 s down to ~4 ms).
    const std::string order_col = label_driven ? "d.customer_id" : fts_driven ? "d.rowid" : "c.id";
    if (!distinct) b.sql += " ORDER BY " + order_col + (oldest_first ? "" : " DESC");
    if (with_limit) {
        b.sql += " LIMIT ?";
        param(static_cast<std::int64_t>(std::clamp<std::size_t>(q.limit, 1, 500)));
    }
    return b;
}

}  // namespace ringside::sqlite
