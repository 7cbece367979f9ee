#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include "ringside/storage/sqlite_store.hpp"
#include "ringside/storage/write_behind.hpp"
#include "store_fixture.hpp"

using namespace ringside;
namespace fs = std::filesystem;

namespace {

using Dir = store_test::TempDir;

CallRecord call(const std::string& id, int started_s) {
    CallRecord c;
    c.id = CallId{id};
    c.pbx = PbxId{"main"};
    c.from = "+989121234567";
    c.from_raw = "09121234567";
    c.started_at = Timestamp{std::chrono::seconds{1'700'000'000 + started_s}};
    return c;
}

}  // namespace

TEST_CASE("queued call writes are visible to every read of calls, in the order they were made") {
    Dir d;
    SqliteStore inner(d.path / "r.db");
    WriteBehindStore store(inner);
    auto c = call("main-1.1", 0);
    store.upsert_call(c);
    c.status = CallStatus::answered;
    c.answered_at = c.started_at + std::chrono::seconds(3);
    c.agent = AgentId{"alice"};
    store.upsert_call(c);
    c.ended_at = c.started_at + std::chrono::seconds(60);
    c.wait_seconds = 3;
    c.talk_seconds = 57;
    store.finish_call(c, std::nullopt);

    auto got = store.find_call(CallId{"main-1.1"});  // waits for the three writes
    REQUIRE(got);
    CHECK(got->status == CallStatus::answered);
    CHECK(got->talk_seconds == 57);
    CHECK(store.queued() == 0);
    CHECK(store.list_calls({}).size() == 1);
    CHECK(store.open_calls(PbxId{"main"}).empty());
}

TEST_CASE("the destructor applies everything still queued") {
    Dir d;
    SqliteStore inner(d.path / "r.db");
    {
        WriteBehindStore store(inner);
        for (int i = 0; i < 500; ++i) store.upsert_call(call("main-2." + std::to_string(i), i));
    }
    CallFilter f;
    f.limit = 1000;
    CHECK(inner.list_calls(f).size() == 500);
}

TEST_CASE("a write that fails is reported and the ones after it still land") {
    Dir d;
    SqliteStore inner(d.path / "r.db");
    std::vector<std::string> errors;
    WriteBehindStore store(inner, [&](const std::string& e) { errors.push_back(e); });
    auto c = call("main-3.1", 0);
    c.ended_at = c.started_at;
    Interaction h;
    h.customer_id = 424242;  // no such customer: the store refuses the history entry
    h.call_id = c.id;
    h.at = c.started_at;
    store.finish_call(c, h);
    store.upsert_call(call("main-3.2", 1));
    store.flush();
    CHECK(store.failed_writes() == 1);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("main-3.1") != std::string::npos);
    CHECK(store.find_call(CallId{"main-3.2"}));
}

TEST_CASE("a disposition set while the final write is still queued survives it") {
    Dir d;
    SqliteStore inner(d.path / "r.db");
    WriteBehindStore store(inner);
    auto c = call("main-4.1", 0);
    store.upsert_call(c);
    CHECK(store.set_disposition(c.id, "resolved", "done"));
    c.ended_at = c.started_at + std::chrono::seconds(5);
    store.finish_call(c, std::nullopt);  // carries no disposition of its own
    auto got = store.find_call(c.id);
    REQUIRE(got);
    CHECK(got->disposition == "resolved");
}

TEST_CASE("a conditional disposition is checked against every write queued before it") {
    Dir d;
    SqliteStore inner(d.path / "r.db");
    // An hour's gather: nothing queued lands unless a read or a disposition flushes.
    WriteBehindStore store(inner, {}, std::chrono::hours(1));
    auto c = call("main-6.1", 0);
    store.upsert_call(c);
    CHECK(store.set_disposition_if(c.id, "resolved", "done", "") == CallLog::DispositionWrite::written);
    CHECK(store.set_disposition_if(c.id, "callback", "second device", "") ==
          CallLog::DispositionWrite::changed_meanwhile);
    c.ended_at = c.started_at + std::chrono::seconds(5);
    store.finish_call(c, std::nullopt);  // queued, carries no disposition of its own
    CHECK(store.set_disposition_if(c.id, "callback", "changed", "resolved") == CallLog::DispositionWrite::written);
    auto got = inner.find_call(c.id);
    REQUIRE(got);
    CHECK(got->ended_at == c.ended_at);
    CHECK(got->disposition == "callback");
    CHECK(got->notes == "changed");
    CHECK(store.set_disposition_if(CallId{"main-nope"}, "x", "", "") == CallLog::DispositionWrite::no_such_call);
}

TEST_CASE("writers and readers on several threads all see a consistent log") {
    Dir d;
    SqliteStore inner(d.path / "r.db");
    WriteBehindStore store(inner);
    std::thread writer([&] {
        for (int i = 0; i < 300; ++i) store.upsert_call(call("main-5." + std::to_string(i), i));
    });
    std::size_t last = 0;
    for (int k = 0; k < 50; ++k) {
        CallFilter f;
        f.limit = 1000;
        auto n = store.list_calls(f).size();
        CHECK(n >= last);  // never goes back
        last = n;
    }
    writer.join();
    CallFilter f;
    f.limit = 1000;
    CHECK(store.list_calls(f).size() == 300);
}

TEST_CASE("a batch of call writes is one transaction: a bad write stores none of them") {
    Dir d;
    SqliteStore store(d.path / "r.db");
    auto good = call("main-6.1", 0);
    auto bad = call("main-6.2", 1);
    bad.ended_at = bad.started_at;
    Interaction h;
    h.customer_id = 424242;  // no such customer
    h.at = bad.started_at;
    CHECK_THROWS_AS(store.write_calls({{good, std::nullopt, false}, {bad, h, true}}), StorageError);
    CHECK_FALSE(store.find_call(good.id));
    store.write_calls({{good, std::nullopt, false}});
    CHECK(store.find_call(good.id));
}

TEST_CASE("when a queued batch fails, the good writes in it still land and the bad one is named") {
    Dir d;
    SqliteStore inner(d.path / "r.db");
    std::vector<std::string> errors;
    auto bad = call("main-7.2", 1);
    bad.ended_at = bad.started_at;
    Interaction h;
    h.customer_id = 424242;
    h.at = bad.started_at;
    {
        WriteBehindStore store(inner, [&](const std::string& e) { errors.push_back(e); });
        // Queued faster than the writer drains: they go in as one batch or a few.
        for (int i = 0; i < 50; ++i) store.upsert_call(call("main-7.g" + std::to_string(i), i));
        store.finish_call(bad, h);
        for (int i = 50; i < 100; ++i) store.upsert_call(call("main-7.g" + std::to_string(i), i));
    }
    CallFilter f;
    f.limit = 1000;
    CHECK(inner.list_calls(f).size() == 100);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("main-7.2") != std::string::npos);
}

TEST_CASE("writes gathered into one batch store each call's latest state once, and keep every final write") {
    Dir d;
    SqliteStore inner(d.path / "r.db");
    // A window far longer than the test: only flush() (a read) ends the gathering.
    WriteBehindStore store(inner, {}, std::chrono::seconds(30));
    auto a = call("main-4.1", 0);
    auto b = call("main-4.2", 1);
    store.upsert_call(a);  // start
    store.upsert_call(b);
    a.status = CallStatus::ringing;
    a.rang = {AgentId{"alice"}};
    store.upsert_call(a);  // first ring: supersedes the start
    a.status = CallStatus::answered;
    a.answered_at = a.started_at + std::chrono::seconds(4);
    a.agent = AgentId{"alice"};
    a.ended_at = a.started_at + std::chrono::seconds(20);
    a.wait_seconds = 4;
    a.talk_seconds = 16;
    store.finish_call(a, std::nullopt);  // the end: supersedes the ring
    b.from_name = "Later name";
    store.upsert_call(b);

    auto got = store.find_call(CallId{"main-4.1"});
    REQUIRE(got);
    CHECK(got->status == CallStatus::answered);
    CHECK(got->agent == AgentId{"alice"});
    CHECK(got->talk_seconds == 16);
    CHECK(got->rang == std::vector<AgentId>{AgentId{"alice"}});
    auto other = store.find_call(CallId{"main-4.2"});
    REQUIRE(other);
    CHECK(other->from_name == "Later name");
    CHECK(store.queued() == 0);
    CHECK(store.coalesced_writes() == 3);  // a's start and ring, b's first write
    CHECK(store.failed_writes() == 0);
}
