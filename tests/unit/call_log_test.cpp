// The supervisor call log, the day's figures and the reports (issue 4) on a
// real SQLite file.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include <sqlite3.h>

#include "ringside/storage/sqlite_store.hpp"
#include "ringside/storage/write_behind.hpp"
#include "store_fixture.hpp"

using namespace ringside;
namespace fs = std::filesystem;

namespace {

using store_test::TempDir;

// 2026-11-23T00:00:00Z
const Timestamp day0 = Timestamp{std::chrono::milliseconds{1'795'392'000'000}};
Timestamp at(int minutes) { return day0 + std::chrono::minutes(minutes); }

CallRecord call(const std::string& id, Timestamp start, CallStatus st, const char* agent = nullptr, int wait = 5,
                int talk = 0) {
    CallRecord c;
    c.id = CallId(id);
    c.pbx = PbxId("main");
    c.direction = Direction::inbound;
    c.from = "+989121234567";
    c.from_raw = "09121234567";
    c.to = "1001";
    c.status = st;
    c.started_at = start;
    c.wait_seconds = wait;
    c.talk_seconds = talk;
    if (agent) {
        c.agent = AgentId(agent);
        c.extension = Extension("1001");
    }
    if (st == CallStatus::answered) c.answered_at = start + std::chrono::seconds(wait);
    if (st != CallStatus::ringing) c.ended_at = start + std::chrono::seconds(wait + talk);
    return c;
}

std::vector<std::string> ids(const std::vector<CallRecord>& v) {
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(c.id.value());
    return out;
}

}  // namespace

TEST_CASE("keyset pages walk every matching call exactly once, in order, whatever the ties") {
    TempDir dir;
    SqliteStore s(dir.file());
    // 25 calls, several sharing a start time, so the id breaks ties.
    for (int i = 0; i < 25; ++i) s.upsert_call(call("c" + std::to_string(100 + i), at(i / 3), CallStatus::answered, "alice", i % 7, i));
    CallFilter f;
    f.limit = 4;
    std::vector<std::string> seen;
    int pages = 0;
    for (;;) {
        auto p = s.list_call_page(f);
        ++pages;
        for (auto& id : ids(p.calls)) seen.push_back(id);
        if (!p.next) break;
        f.after = p.next;
    }
    CHECK(pages == 7);
    REQUIRE(seen.size() == 25);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 25);
    CHECK(seen.front() == "c124");  // newest start, largest id first
    CHECK(seen.back() == "c100");

    SUBCASE("sorted by wait, ascending, every page continues where the last stopped") {
        CallFilter w;
        w.sort = CallFilter::Sort::wait_seconds;
        w.ascending = true;
        w.limit = 6;
        std::vector<std::int64_t> waits;
        for (;;) {
            auto p = s.list_call_page(w);
            for (auto& c : p.calls) waits.push_back(c.wait_seconds);
            if (!p.next) break;
            w.after = p.next;
        }
        REQUIRE(waits.size() == 25);
        CHECK(std::is_sorted(waits.begin(), waits.end()));
    }
}

TEST_CASE("call log filters by direction, queue and text in the notes") {
    TempDir dir;
    SqliteStore s(dir.file());
    auto a = call("a", at(1), CallStatus::answered, "alice", 3, 60);
    a.queue = "sales";
    a.notes = "Customer asked for a REFUND of order 77";
    auto b = call("b", at(2), CallStatus::missed);
    b.queue = "support";
    auto o = call("o", at(3), CallStatus::answered, "bob", 2, 30);
    o.direction = Direction::outbound;
    o.disposition = "refund-promised";
    for (auto* c : {&a, &b, &o}) s.upsert_call(*c);

    CallFilter f;
    f.queue = "sales";
    CHECK(ids(s.list_calls(f)) == std::vector<std::string>{"a"});
    f = {};
    f.direction = Direction::outbound;
    CHECK(ids(s.list_calls(f)) == std::vector<std::string>{"o"});
    f = {};
    f.text = "refund";  // case-insensitive, in notes or disposition
    CHECK(ids(s.list_calls(f)) == std::vector<std::string>{"o", "a"});
    f.text = "50%_";    // SQL wildcards are plain characters
    CHECK(s.list_calls(f).empty());
    f = {};
    f.status = CallStatus::answered;
    f.agent = AgentId("alice");
    f.since = at(0);
    f.until = at(2);
    CHECK(ids(s.list_calls(f)) == std::vector<std::string>{"a"});

    SUBCASE("the CSV stream honours the same filters") {
        CallFilter e;
        e.text = "refund";
        std::vector<std::string> streamed;
        s.for_each_call(e, [&](const CallRecord& c) {
            streamed.push_back(c.id.value());
            return true;
        });
        CHECK(streamed == std::vector<std::string>{"o", "a"});
    }
}

TEST_CASE("the day's figures count inbound calls and the service level within the threshold") {
    TempDir dir;
    SqliteStore s(dir.file());
    s.upsert_call(call("a1", at(10), CallStatus::answered, "alice", 10, 100));  // within 20 s
    s.upsert_call(call("a2", at(20), CallStatus::answered, "bob", 30, 200));    // too slow
    s.upsert_call(call("m1", at(30), CallStatus::missed, nullptr, 25));
    s.upsert_call(call("ab", at(40), CallStatus::abandoned, nullptr, 40));
    s.upsert_call(call("r1", at(50), CallStatus::ringing, nullptr, 0));
    auto out = call("o1", at(60), CallStatus::answered, "alice", 1, 10);
    out.direction = Direction::outbound;
    s.upsert_call(out);
    s.upsert_call(call("y1", at(-10), CallStatus::answered, "alice", 1, 10));  // yesterday

    auto f = s.call_figures(day0, day0 + std::chrono::hours(24), 20);
    CHECK(f.offered == 5);
    CHECK(f.answered == 2);
    CHECK(f.missed == 1);
    CHECK(f.abandoned == 1);
    CHECK(f.ringing == 1);
    CHECK(f.average_wait_seconds == doctest::Approx(20));
    CHECK(f.average_talk_seconds == doctest::Approx(150));
    CHECK(f.answered_within == 1);
    CHECK(f.service_level == doctest::Approx(0.25));  // 1 of 4 finished calls

    CHECK(s.call_figures(day0, day0 + std::chrono::hours(24), 30).answered_within == 2);
    auto empty = s.call_figures(day0 + std::chrono::hours(48), day0 + std::chrono::hours(72), 20);
    CHECK(empty.offered == 0);
    CHECK(empty.service_level == 1);
}

TEST_CASE("reports bucket by local hour and day, rank agents, find repeat callers and missed calls owed a call-back") {
    TempDir dir;
    SqliteStore inner(dir.file());
    WriteBehindStore s(inner);  // reads of calls flush the queued writes first
    s.upsert_call(call("a1", at(10), CallStatus::answered, "alice", 5, 100));
    s.upsert_call(call("a2", at(70), CallStatus::answered, "alice", 5, 300));
    s.upsert_call(call("b1", at(75), CallStatus::answered, "bob", 5, 50));
    auto m1 = call("m1", at(80), CallStatus::missed);
    m1.from = "+989120000001";
    s.upsert_call(m1);
    auto m2 = call("m2", at(90), CallStatus::abandoned);  // from the same number as a1..b1, no later answer
    s.upsert_call(m2);
    auto m3 = call("m3", at(95), CallStatus::missed);
    m3.from = "+989120000003";
    s.upsert_call(m3);
    auto back = call("cb", at(100), CallStatus::busy);  // an outbound call-back attempt to m3's number
    back.direction = Direction::outbound;
    back.to = "+989120000003";
    back.from = "1001";
    s.upsert_call(back);

    ReportQuery q;
    q.since = day0;
    q.until = day0 + std::chrono::hours(24);
    auto r = s.call_report(q);
    REQUIRE(r.hourly.size() == 2);
    CHECK(r.hourly[0].start_ms == day0.time_since_epoch().count());
    CHECK(r.hourly[0].answered == 1);
    CHECK(r.hourly[1].answered == 2);
    CHECK(r.hourly[1].missed == 2);
    CHECK(r.hourly[1].abandoned == 1);
    CHECK(r.hourly[1].other == 1);
    REQUIRE(r.daily.size() == 1);
    CHECK(r.daily[0].answered == 3);
    REQUIRE(r.agents.size() == 2);
    CHECK(r.agents[0].agent == "alice");
    CHECK(r.agents[0].answered == 2);
    CHECK(r.agents[0].average_handle_seconds == doctest::Approx(200));
    REQUIRE(r.repeat_callers.size() == 1);
    CHECK(r.repeat_callers[0].number == "+989121234567");
    CHECK(r.repeat_callers[0].calls == 4);
    CHECK(ids(r.missed_not_called_back) == std::vector<std::string>{"m2", "m1"});

    SUBCASE("Tehran's day starts three and a half hours before UTC's") {
        q.utc_offset_minutes = 210;
        auto t = s.call_report(q);
        REQUIRE(t.daily.size() == 1);
        CHECK(t.daily[0].start_ms == (day0 - std::chrono::minutes(210)).time_since_epoch().count());
        CHECK(t.hourly[0].start_ms == (day0 - std::chrono::minutes(30)).time_since_epoch().count());
    }
}

TEST_CASE("text search finds parts of words in any case and script through the index, and follows edits and migration") {
    TempDir dir;
    const auto found = [](Storage& s, const std::string& text) {
        CallFilter f;
        f.text = text;
        return ids(s.list_calls(f));
    };
    using V = std::vector<std::string>;
    {
        SqliteStore s(dir.file());
        auto a = call("a", at(1), CallStatus::answered, "alice", 3, 60);
        a.notes = "Customer asked for a REFUND of order 77";
        auto p = call("p", at(2), CallStatus::answered, "bob", 2, 30);
        p.notes = "مشتری درخواست بازپرداخت داشت";
        auto d = call("d", at(3), CallStatus::answered, "bob");
        d.disposition = "callback-needed";
        auto n = call("n", at(4), CallStatus::missed);
        for (auto* c : {&a, &p, &d, &n}) s.upsert_call(*c);

        CHECK(found(s, "efun") == V{"a"});          // inside a word
        CHECK(found(s, "ReFuNd oF") == V{"a"});     // any case, across a space
        CHECK(found(s, "بازپر") == V{"p"});          // Persian, part of a word
        CHECK(found(s, "درخواست باز") == V{"p"});
        CHECK(found(s, "back-need") == V{"d"});     // the disposition
        CHECK(found(s, "77") == V{"a"});            // two characters: no trigram, the plain scan
        CHECK(found(s, "OR ") == V{"a"});           // "for a": FTS operators are plain text
        CHECK(found(s, "or") == V{"a"});            // two characters, same answer by the scan
        CHECK(found(s, "a \"refund").empty());      // quotes are text too
        CHECK(found(s, "refund*").empty());
        CHECK(found(s, "NEAR(refund order)").empty());

        // An agent's new notes replace the old text in the index.
        REQUIRE(s.set_disposition(CallId("a"), "done", "all settled"));
        CHECK(found(s, "refund").empty());
        CHECK(found(s, "settled") == V{"a"});
        CHECK(found(s, "DONE") == V{"a"});
        // A consultation call merged away takes its text with it.
        auto m = call("m", at(5), CallStatus::answered, "bob");
        m.notes = "consultation about a refund";
        s.upsert_call(m);
        CHECK(found(s, "refund") == V{"m"});
        m.merged_into = CallId("p");
        s.upsert_call(m);
        CHECK(found(s, "refund").empty());
    }
    // A database from before the index (schema 5) gets its existing notes indexed when opened.
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(dir.file().string().c_str(), &db) == SQLITE_OK);
        const char* back_to_5 =
            // Version 11's agent states, then version 10's audit triggers
            // (they read store_meta): back to version 1's first.
            "DROP TABLE agent_state_changes;"
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
            "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
            " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
            " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
            "DROP INDEX users_directory; ALTER TABLE users DROP COLUMN directory_dn;"
            "ALTER TABLE customers DROP COLUMN erased_at;"
            "DROP TRIGGER calls_text_insert; DROP TRIGGER calls_text_update; DROP TRIGGER calls_text_delete;"
            "DROP TABLE calls_text; DROP TRIGGER call_rollup_insert; DROP TRIGGER call_rollup_update;"
            "DROP TRIGGER call_rollup_delete; DROP TABLE call_slots; DROP TABLE call_agent_days;"
            "ALTER TABLE calls DROP COLUMN hangup_extension;"
            "ALTER TABLE calls DROP COLUMN hangup_by;"
            "DROP INDEX audit_log_customer; DROP TABLE customer_names;"
            "DROP TABLE store_meta; DROP INDEX customers_lifetime_value;"
            "ALTER TABLE customers DROP COLUMN value_score_computed; DROP INDEX interactions_at;"
            "PRAGMA user_version = 5;";
        CHECK(sqlite3_exec(db, back_to_5, nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    SqliteStore s(dir.file());
    CHECK(found(s, "settled") == V{"a"});
    CHECK(found(s, "بازپر") == V{"p"});
    CHECK(found(s, "back-need") == V{"d"});
}

namespace {

/// The report's buckets and agents computed from the records themselves, as
/// the original one-query-per-list report did (the reference for the rollups).
struct Reference {
    std::map<std::int64_t, std::array<std::int64_t, 4>> hourly, daily;  // answered, missed, abandoned, other
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> agents;
};

Reference reference(const std::map<std::string, CallRecord>& calls, const ReportQuery& q) {
    Reference r;
    const std::int64_t off = q.utc_offset_minutes * 60'000LL;
    for (const auto& [id, c] : calls) {
        const auto t = c.started_at.time_since_epoch().count();
        if (c.started_at < q.since || c.started_at >= q.until) continue;
        const int k = c.status == CallStatus::answered ? 0 : c.status == CallStatus::missed ? 1
                      : c.status == CallStatus::abandoned ? 2 : 3;
        ++r.hourly[(t + off) / 3'600'000 * 3'600'000 - off][static_cast<std::size_t>(k)];
        ++r.daily[(t + off) / 86'400'000 * 86'400'000 - off][static_cast<std::size_t>(k)];
        if (c.status == CallStatus::answered && c.agent) {
            auto& a = r.agents[c.agent->value()];
            ++a.first;
            a.second += c.talk_seconds;
        }
    }
    return r;
}

void check_report_matches(Storage& s, const std::map<std::string, CallRecord>& calls, const ReportQuery& q) {
    CAPTURE(q.since.time_since_epoch().count());
    CAPTURE(q.until.time_since_epoch().count());
    CAPTURE(q.utc_offset_minutes);
    const auto want = reference(calls, q);
    const auto got = s.call_report(q);
    const auto same = [](const std::vector<CallReport::Bucket>& g, const auto& w) {
        REQUIRE(g.size() == w.size());
        std::size_t i = 0;
        for (const auto& [b, n] : w) {
            CHECK(g[i].start_ms == b);
            CHECK(std::array<std::int64_t, 4>{g[i].answered, g[i].missed, g[i].abandoned, g[i].other} == n);
            ++i;
        }
    };
    same(got.hourly, want.hourly);
    same(got.daily, want.daily);
    std::vector<std::tuple<std::int64_t, std::string, std::int64_t>> w;  // -answered, agent, talk
    for (const auto& [a, v] : want.agents) w.emplace_back(-v.first, a, v.second);
    std::sort(w.begin(), w.end());
    REQUIRE(got.agents.size() == w.size());
    for (std::size_t i = 0; i < w.size(); ++i) {
        CHECK(got.agents[i].agent == std::get<1>(w[i]));
        CHECK(got.agents[i].answered == -std::get<0>(w[i]));
        CHECK(got.agents[i].talk_seconds == std::get<2>(w[i]));
    }
}

}  // namespace

TEST_CASE("reports from the rollup tables equal the reports counted from the calls, also after calls change") {
    TempDir dir;
    SqliteStore s(dir.file());
    std::map<std::string, CallRecord> calls;
    std::mt19937 rng(4);
    const CallStatus statuses[] = {CallStatus::answered, CallStatus::answered, CallStatus::missed,
                                   CallStatus::abandoned, CallStatus::busy, CallStatus::failed};
    const char* agents[] = {"alice", "bob", "carol", "دانیال"};
    const auto random_call = [&](const std::string& id) {
        // Five days from day0, at any millisecond.
        auto c = call(id, day0 + std::chrono::milliseconds(rng() % (5LL * 86'400'000)), statuses[rng() % 6]);
        if (c.status == CallStatus::answered) {
            c.agent = AgentId(agents[rng() % 4]);
            c.talk_seconds = rng() % 600;
        }
        return c;
    };
    for (int i = 0; i < 600; ++i) {
        auto c = random_call("c" + std::to_string(i));
        s.upsert_call(c);
        calls[c.id.value()] = c;
    }
    const auto ms = [](std::int64_t v) { return Timestamp{std::chrono::milliseconds{v}}; };
    const std::int64_t d0 = day0.time_since_epoch().count();
    std::vector<ReportQuery> queries;
    for (int off : {0, 210, -300, 330, 37}) {  // 37: no multiple of 15 minutes, counted from the calls
        queries.push_back({day0 - std::chrono::hours(24), day0 + std::chrono::hours(24 * 7), off, 1000});
        queries.push_back({ms(d0 + 3'599'999), ms(d0 + 4 * 86'400'000LL + 1), off, 1000});  // ragged ends
        queries.push_back({ms(d0 + 86'400'000LL + 450'000), ms(d0 + 86'400'000LL + 1'350'000), off, 1000});
        queries.push_back({ms(d0 + 86'400'000LL), ms(d0 + 3 * 86'400'000LL), off, 1000});  // whole days
    }
    for (const auto& q : queries) check_report_matches(s, calls, q);

    // Calls change (status, agent, talk, start) and go (a merged consultation call).
    for (int i = 0; i < 200; ++i) {
        const std::string id = "c" + std::to_string(rng() % 600);
        if (!calls.count(id)) continue;
        if (i % 10 == 0) {
            auto gone = calls.at(id);
            gone.merged_into = CallId("elsewhere");
            s.upsert_call(gone);
            calls.erase(id);
            continue;
        }
        auto c = random_call(id);
        s.upsert_call(c);
        calls[id] = c;
    }
    for (const auto& q : queries) check_report_matches(s, calls, q);
}
