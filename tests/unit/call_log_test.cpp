// The supervisor call log, the day's figures and the reports (issue 4) on a
// real SQLite file.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <set>

#include "ringside/storage/sqlite_store.hpp"
#include "ringside/storage/write_behind.hpp"

using namespace ringside;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("ringside-calllog-" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path file() const { return path / "ringside.db"; }
};

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
