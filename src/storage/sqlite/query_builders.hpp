#pragma once
// The two query builders of the SQLite store, as pure functions: a filter in,
// the SQL text and its parameters out. No connection, no I/O; the store binds
// the parameters (db.hpp bind_all) and runs the statement. The SQL text
// depends only on which filters are set, never on their values, so it is the
// key of each connection's statement cache.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringside/storage/store.hpp"

namespace ringside::sqlite {

inline std::int64_t to_ms(Timestamp t) { return t.time_since_epoch().count(); }

/// One parameter: its number in the SQL text (?N, or the Nth plain ?) and its
/// value, bound as text or as a 64-bit integer.
struct SqlParam {
    int index = 0;
    bool is_text = false;
    std::int64_t number = 0;               // when !is_text
    std::string text;                      // when is_text

    static SqlParam of(int index, std::int64_t v) { return SqlParam{index, false, v, {}}; }
    static SqlParam of(int index, std::string v) { return SqlParam{index, true, 0, std::move(v)}; }
    friend bool operator==(const SqlParam&, const SqlParam&) = default;
};

/// A statement's text and what to bind to it.
struct BuiltSql {
    std::string sql;
    std::vector<SqlParam> params;
};

/// The columns of a call row, as read_call (rows.hpp) reads them.
extern const std::string call_select;
/// The columns of a customer row (alias c), as read_customer reads them.
extern const std::string customer_columns;

std::string lower_ascii(std::string s);

// ---- the call log (list_call_page, for_each_call)

/// The trigram index answers texts of three characters (code points) or
/// more; shorter ones have no trigram to look up.
bool text_indexable(std::string_view text);

/// One FTS5 phrase: a substring for the trigram tokenizer; only '"' is
/// special inside it (doubled).
std::string fts_phrase(const std::string& text);

/// How a call-log query is shaped besides its filter.
struct CallQueryShape {
    /// LIMIT ?7, bound to the filter's limit (clamped to 1..1000) plus extra
    /// (list_call_page asks one more row to learn whether a page follows).
    bool with_limit = false;
    std::size_t extra = 0;
    /// The trigram index names the calls holding f.text (the store decides,
    /// from a bounded count, that they are few); else instr() over lower().
    bool by_text = false;
};

/// The calls matching f in its order. Numbered parameters: an absent
/// filter leaves its number unused.
BuiltSql build_call_query(const CallFilter& f, const CallQueryShape& shape);

// ---- the customer file (search_customers, for_each_customer)

/// Filters few customers pass (the store counts them on their indexes):
/// their ids are read from the filter's own index first, instead of walking
/// every customer newest first.
struct RareFilters {  // never set for a query that includes removed customers
    bool score = false;      // few active customers have a score in [min_score, max_score]
    bool contacted = false;  // few interactions since contacted_since
};

/// One index-backed driver (phone, email, name words, tag, group, or the
/// table itself) and the other conditions as EXISTS/column tests; plain ?
/// parameters, numbered in order. trigram_ready: customer_names holds every
/// customer (not while the background fill after its migration runs); until
/// then words of any length match a word's start.
BuiltSql build_customer_query(const CustomerQuery& q, bool with_limit, bool oldest_first, bool trigram_ready,
                              RareFilters rare = {});

}  // namespace ringside::sqlite
