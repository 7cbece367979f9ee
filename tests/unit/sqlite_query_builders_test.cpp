// The SQLite store's two query builders, as pure functions: which SQL text
// and which numbered parameters a call-log filter or a customer query makes.
// No database: the statements themselves run in sqlite_store_test and
// customer_store_test.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "sqlite/query_builders.hpp"

using namespace ringside;
using ringside::sqlite::BuiltSql;
using ringside::sqlite::SqlParam;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const SqlParam* param(const BuiltSql& b, int index) {
    auto it = std::find_if(b.params.begin(), b.params.end(), [&](const SqlParam& p) { return p.index == index; });
    return it == b.params.end() ? nullptr : &*it;
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

TEST_CASE("an empty call filter lists every call newest first and binds nothing") {
    const auto b = sqlite::build_call_query(CallFilter{}, {});
    CHECK(b.sql.rfind(sqlite::call_select + " WHERE 1 = 1", 0) == 0);
    CHECK(ends_with(b.sql, " ORDER BY started_at DESC, id DESC"));
    CHECK(b.params.empty());
}

TEST_CASE("a page asks for its limit, clamped to 1..1000, plus the extra row") {
    CallFilter f;
    f.limit = 5000;
    auto b = sqlite::build_call_query(f, {.with_limit = true, .extra = 1, .by_text = false});
    CHECK(ends_with(b.sql, " LIMIT ?7"));
    REQUIRE(param(b, 7));
    CHECK(*param(b, 7) == SqlParam::of(7, std::int64_t{1001}));
    f.limit = 0;
    b = sqlite::build_call_query(f, {.with_limit = true, .extra = 0, .by_text = false});
    CHECK(*param(b, 7) == SqlParam::of(7, std::int64_t{1}));
    // An export (for_each_call) has no limit at all.
    CHECK_FALSE(contains(sqlite::build_call_query(f, {}).sql, "LIMIT"));
}

TEST_CASE("each call filter has its own parameter number and typed value") {
    CallFilter f;
    f.since = Timestamp{std::chrono::milliseconds{1000}};
    f.until = Timestamp{std::chrono::milliseconds{2000}};
    f.agent = AgentId{"alice"};
    f.status = CallStatus::missed;
    f.customer_id = 42;
    f.pbx = PbxId{"main"};
    f.phone = "+989121234567";
    f.direction = Direction::outbound;
    f.queue = "sales";
    const auto b = sqlite::build_call_query(f, {});
    CHECK(contains(b.sql, "started_at >= ?1"));
    CHECK(contains(b.sql, "started_at < ?2"));
    CHECK(contains(b.sql, "agent = ?3"));
    CHECK(contains(b.sql, "status = ?4"));
    CHECK(contains(b.sql, "customer_id = ?5"));
    CHECK(contains(b.sql, "pbx = ?6"));
    CHECK(contains(b.sql, "(from_number = ?8 OR to_number = ?8)"));
    CHECK(contains(b.sql, "direction = ?9"));
    CHECK(contains(b.sql, "queue = ?10"));
    CHECK(b.params.size() == 9);
    CHECK(*param(b, 1) == SqlParam::of(1, std::int64_t{1000}));
    CHECK(*param(b, 2) == SqlParam::of(2, std::int64_t{2000}));
    CHECK(*param(b, 3) == SqlParam::of(3, std::string("alice")));
    CHECK(*param(b, 4) == SqlParam::of(4, std::string("missed")));
    CHECK(*param(b, 5) == SqlParam::of(5, std::int64_t{42}));
    CHECK(*param(b, 6) == SqlParam::of(6, std::string("main")));
    CHECK(*param(b, 8) == SqlParam::of(8, std::string("+989121234567")));
    CHECK(*param(b, 9) == SqlParam::of(9, std::string("outbound")));
    CHECK(*param(b, 10) == SqlParam::of(10, std::string("sales")));
    CHECK_FALSE(param(b, 7));
}

TEST_CASE("the SQL text of a call query depends on which filters are set, never on their values") {
    CallFilter a, b;
    a.agent = AgentId{"alice"};
    a.text = "Refund";
    b.agent = AgentId{"bob"};
    b.text = "shipping";
    CHECK(sqlite::build_call_query(a, {}).sql == sqlite::build_call_query(b, {}).sql);
    CHECK(sqlite::build_call_query(a, {}).params != sqlite::build_call_query(b, {}).params);
}

TEST_CASE("a text filter searches the trigram index as one phrase, or lower-cased notes and dispositions") {
    CallFilter f;
    f.text = "Say \"Hi\" ÉTÉ";
    const auto indexed = sqlite::build_call_query(f, {.with_limit = false, .extra = 0, .by_text = true});
    CHECK(contains(indexed.sql, "calls.rowid IN (SELECT rowid FROM calls_text WHERE calls_text MATCH ?11)"));
    CHECK(*param(indexed, 11) == SqlParam::of(11, std::string("\"Say \"\"Hi\"\" ÉTÉ\"")));
    const auto scanned = sqlite::build_call_query(f, {});
    CHECK(contains(scanned.sql, "instr(lower(notes), ?11) > 0 OR instr(lower(disposition), ?11) > 0"));
    // ASCII only is folded, as SQLite's lower() does.
    CHECK(*param(scanned, 11) == SqlParam::of(11, std::string("say \"hi\" ÉtÉ")));
}

TEST_CASE("the trigram index answers texts of three characters or more, counted in code points") {
    CHECK_FALSE(sqlite::text_indexable("ab"));
    CHECK(sqlite::text_indexable("abc"));
    CHECK_FALSE(sqlite::text_indexable("éé"));  // four bytes, two characters
    CHECK(sqlite::text_indexable("ééé"));
    CHECK(sqlite::fts_phrase("a\"b") == "\"a\"\"b\"");
}

TEST_CASE("a cursor continues after its (sort value, id) in the chosen order") {
    CallFilter f;
    f.sort = CallFilter::Sort::wait_seconds;
    f.after = CallFilter::Cursor{30, "main-1.2"};
    auto b = sqlite::build_call_query(f, {});
    CHECK(contains(b.sql, " AND wait_seconds <= ?12 AND (wait_seconds, id) < (?12, ?13)"));
    CHECK(ends_with(b.sql, " ORDER BY wait_seconds DESC, id DESC"));
    CHECK(*param(b, 12) == SqlParam::of(12, std::int64_t{30}));
    CHECK(*param(b, 13) == SqlParam::of(13, std::string("main-1.2")));
    f.ascending = true;
    f.sort = CallFilter::Sort::talk_seconds;
    b = sqlite::build_call_query(f, {});
    CHECK(contains(b.sql, " AND talk_seconds >= ?12 AND (talk_seconds, id) > (?12, ?13)"));
    CHECK(ends_with(b.sql, " ORDER BY talk_seconds ASC, id ASC"));
}

TEST_CASE("customer queries number their parameters in order and end with the clamped limit") {
    CustomerQuery q;
    q.tier = "gold";
    q.owner = "alice";
    q.limit = 9999;
    const auto b = sqlite::build_customer_query(q, true, false, true);
    REQUIRE(b.params.size() == 3);
    for (std::size_t i = 0; i < b.params.size(); ++i) CHECK(b.params[i].index == static_cast<int>(i) + 1);
    CHECK(b.params[0] == SqlParam::of(1, std::string("gold")));
    CHECK(b.params[1] == SqlParam::of(2, std::string("alice")));
    CHECK(b.params[2] == SqlParam::of(3, std::int64_t{500}));
    CHECK(contains(b.sql, " FROM customers c WHERE 1 = 1 AND c.tier = ? AND c.owner = ? AND c.status = 'active'"));
    CHECK(ends_with(b.sql, " ORDER BY c.id DESC LIMIT ?"));
}

TEST_CASE("a phone drives a customer query from the phone index; an email is matched lower-cased") {
    CustomerQuery q;
    q.phone = "+989121234567";
    q.email = "Sara@Example.COM";
    const auto b = sqlite::build_customer_query(q, false, true, true);
    CHECK(contains(b.sql, " FROM customer_phones d JOIN customers c ON c.id = d.customer_id WHERE 1 = 1 AND d.e164 = ?"));
    CHECK(contains(b.sql, "c.email_key = ? AND c.email_key <> ''"));
    REQUIRE(b.params.size() == 2);
    CHECK(b.params[1] == SqlParam::of(2, std::string("sara@example.com")));
    CHECK(ends_with(b.sql, " ORDER BY c.id"));  // oldest first, for streaming
}

TEST_CASE("long name words go to the trigram index once it is filled, short ones to a word-start range") {
    CustomerQuery q;
    q.terms = {"sa", "hmad"};
    auto b = sqlite::build_customer_query(q, false, false, true);
    CHECK(contains(b.sql, " FROM customer_names d JOIN customers c ON c.id = d.rowid"));
    CHECK(b.params[0] == SqlParam::of(1, std::string("\"hmad\"")));
    // The short word is checked per row, as a prefix range.
    CHECK(contains(b.sql, "t.term >= ? AND t.term < ?"));
    CHECK(b.params[1] == SqlParam::of(2, std::string("sa")));
    CHECK(b.params[2] == SqlParam::of(3, std::string("sa\xFF")));
    CHECK(ends_with(b.sql, " ORDER BY d.rowid DESC"));

    // Before the fill is done, every word matches a word's start; the
    // longest drives, and a driving prefix range needs DISTINCT, no order.
    b = sqlite::build_customer_query(q, false, false, false);
    CHECK(b.sql.rfind("SELECT DISTINCT ", 0) == 0);
    CHECK(contains(b.sql, " FROM customer_terms d JOIN customers c ON c.id = d.customer_id WHERE 1 = 1 AND d.term >= ? AND d.term < ?"));
    CHECK(b.params[0] == SqlParam::of(1, std::string("hmad")));
    CHECK_FALSE(contains(b.sql, "ORDER BY"));
}

TEST_CASE("a tag drives from the label index in its own order; removed customers only when asked") {
    CustomerQuery q;
    q.tag = "vip";
    q.include_removed = true;
    const auto b = sqlite::build_customer_query(q, true, false, true);
    CHECK(contains(b.sql, " FROM customer_labels d JOIN customers c ON c.id = d.customer_id WHERE 1 = 1 AND d.kind = ? AND d.label = ?"));
    CHECK_FALSE(contains(b.sql, "c.status = 'active'"));
    CHECK(contains(b.sql, " ORDER BY d.customer_id DESC LIMIT ?"));
    CHECK(b.params[0] == SqlParam::of(1, std::string("t")));
    CHECK(b.params[1] == SqlParam::of(2, std::string("vip")));
}

TEST_CASE("a rare score range reads its ids from the score index first") {
    CustomerQuery q;
    q.min_score = 9;
    const auto common = sqlite::build_customer_query(q, true, false, true);
    CHECK_FALSE(contains(common.sql, "c.id IN (SELECT id FROM customers"));
    const auto rare = sqlite::build_customer_query(q, true, false, true, sqlite::RareFilters{.score = true});
    CHECK(contains(rare.sql, "c.id IN (SELECT id FROM customers WHERE status = 'active' AND value_score >= ? "
                             "AND value_score <= ?)"));
    CHECK(rare.params[0] == SqlParam::of(1, std::int64_t{9}));
    CHECK(rare.params[1] == SqlParam::of(2, std::int64_t{10}));
}
