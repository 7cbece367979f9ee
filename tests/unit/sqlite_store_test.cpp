// Designated initializers name only the fields a case cares about.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <sqlite3.h>

#include "ringside/core/password.hpp"
#include "ringside/core/phone.hpp"
#include "ringside/storage/demo_seed.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "store_fixture.hpp"

using namespace ringside;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using store_test::TempDir;

const Timestamp t0 = Timestamp{std::chrono::milliseconds{1'795'000'000'000}};

User make_user(const char* username, const char* ext, Role role = Role::agent) {
    User u;
    u.username = AgentId{username};
    u.name = std::string("Agent ") + username;
    u.role = role;
    if (ext) u.extension = Extension{ext};
    return u;
}

Customer make_customer(const char* name, std::vector<std::string> phones) {
    Customer c;
    c.name = name;
    c.salutation = "Ms.";
    c.phones = std::move(phones);
    c.email = "x@example.com";
    c.tier = "gold";
    c.tags = {"vip", "وفادار"};
    c.language = "fa";
    c.created_at = t0;
    return c;
}

CallRecord make_call(const std::string& id, Timestamp started, CallStatus status = CallStatus::answered) {
    CallRecord c;
    c.id = CallId{id};
    c.pbx = PbxId{"main"};
    c.from = "+989121234567";
    c.from_raw = "09121234567";
    c.to = "1001";
    c.status = status;
    c.started_at = started;
    if (status == CallStatus::answered) {
        c.agent = AgentId{"alice"};
        c.extension = Extension{"1001"};
        c.answered_at = started + 5s;
        c.ended_at = started + 65s;
        c.wait_seconds = 5;
        c.talk_seconds = 60;
    }
    return c;
}

Interaction call_history(std::int64_t customer, const CallRecord& c, const char* summary) {
    Interaction i;
    i.customer_id = customer;
    i.at = c.started_at;
    i.channel = "call";
    i.direction = "inbound";
    i.summary = summary;
    i.agent = c.agent;
    i.call_id = c.id;
    i.status = std::string(to_string(c.status));
    return i;
}

}  // namespace

TEST_CASE("a new file is migrated to the latest schema and reopens at the same version") {
    TempDir dir;
    int version = 0;
    {
        SqliteStore s(dir.file("sub/dir/ringside.db"));
        version = s.schema_version();
        CHECK(version >= 1);
        s.create_user(make_user("alice", "1001"), "hash");
    }
    SqliteStore again(dir.file("sub/dir/ringside.db"));
    CHECK(again.schema_version() == version);
    CHECK(again.find_user(AgentId{"alice"}).has_value());
}

TEST_CASE("a file that is not a database is refused with an error naming it") {
    TempDir dir;
    auto file = dir.file("notes.txt");
    std::ofstream(file) << "this is plainly not an SQLite database, just some text that is long enough to matter\n";
    try {
        SqliteStore s(file);
        FAIL("opened a text file");
    } catch (const StorageError& e) {
        CHECK(std::string(e.what()).find(file.string()) != std::string::npos);
    }
}

TEST_CASE("an SQLite file of another application is refused and left untouched") {
    TempDir dir;
    auto file = dir.file("other.db");
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.string().c_str(), &db) == SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    CHECK_THROWS_WITH_AS(SqliteStore{file}, doctest::Contains("not a Ringside database"), StorageError);
    CHECK_FALSE(fs::exists(dir.file("other.db-wal")));
}

TEST_CASE("a file from a newer Ringside is refused naming both versions") {
    TempDir dir;
    auto file = dir.file();
    int version = 0;
    { version = SqliteStore(file).schema_version(); }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.string().c_str(), &db) == SQLITE_OK);
    sqlite3_exec(db, ("PRAGMA user_version = " + std::to_string(version + 7)).c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    try {
        SqliteStore s(file);
        FAIL("opened a newer file");
    } catch (const StorageError& e) {
        std::string msg = e.what();
        CHECK(msg.find(file.string()) != std::string::npos);
        CHECK(msg.find(std::to_string(version + 7)) != std::string::npos);
        CHECK(msg.find(std::to_string(version)) != std::string::npos);
    }
}

TEST_CASE("users: a taken username is a conflict, extensions find enabled users only") {
    TempDir dir;
    SqliteStore s(dir.file());
    auto alice = make_user("alice", "1001");
    const auto id = s.create_user(alice, "hash-a");
    CHECK(id > 0);
    CHECK_THROWS_AS(s.create_user(alice, "hash-b"), StorageConflict);

    auto creds = s.find_credentials(AgentId{"alice"});
    REQUIRE(creds);
    CHECK(creds->password_hash == "hash-a");
    CHECK(creds->user.id == id);
    CHECK(creds->user.extension == Extension{"1001"});
    CHECK(creds->user.role == Role::agent);

    auto off = make_user("olga", "1001");
    off.disabled = true;
    s.create_user(off, "h");
    s.create_user(make_user("root", nullptr, Role::admin), "h");

    auto at_1001 = s.users_by_extension(Extension{"1001"});
    REQUIRE(at_1001.size() == 1);
    CHECK(at_1001[0].username == AgentId{"alice"});
    CHECK(s.list_users().size() == 3);
    CHECK_FALSE(s.find_user(AgentId{"nobody"}));
    CHECK(s.find_user(AgentId{"root"})->role == Role::admin);
    CHECK_FALSE(s.find_user(AgentId{"root"})->extension);
}

TEST_CASE("sessions: a session yields its user until it expires or the user is disabled") {
    TempDir dir;
    SqliteStore s(dir.file());
    s.create_user(make_user("alice", "1001"), "h");
    auto bob = make_user("bob", "1002");
    bob.disabled = true;
    s.create_user(bob, "h");

    const auto now = now_ms();
    s.create_session("tok-a", AgentId{"alice"}, now + 1h);
    s.create_session("tok-b", AgentId{"bob"}, now + 1h);
    CHECK_THROWS_AS(s.create_session("tok-a", AgentId{"alice"}, now + 2h), StorageConflict);

    auto u = s.session_user("tok-a", now);
    REQUIRE(u);
    CHECK(u->username == AgentId{"alice"});
    CHECK_FALSE(s.session_user("tok-a", now + 1h));  // expiry is exclusive
    CHECK_FALSE(s.session_user("tok-b", now));       // disabled user
    CHECK_FALSE(s.session_user("nope", now));

    s.delete_session("tok-a");
    CHECK_FALSE(s.session_user("tok-a", now));
}

TEST_CASE("customer context by phone has open issues only and the five newest interactions") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto id = s.create_customer(make_customer("Sara Ahmadi", {"+989121234567", "+982188887777"}));
    s.create_customer(make_customer("Someone Else", {"+989350000000"}));
    CHECK(s.customer_count() == 2);

    Issue open_old{.customer_id = id, .title = "Refund not received", .opened_at = t0};
    Issue open_new{.customer_id = id, .title = "بازپرداخت انجام نشده", .opened_at = t0 + 24h};
    Issue done{.customer_id = id, .title = "Wrong address", .opened_at = t0 + 48h};
    const auto old_id = s.create_issue(open_old);
    s.create_issue(open_new);
    const auto done_id = s.create_issue(done);
    CHECK(s.set_issue_status(done_id, "resolved", t0 + 72h));
    CHECK_FALSE(s.set_issue_status(99999, "resolved", t0));
    CHECK(s.find_issue(done_id)->resolved_at == t0 + 72h);
    CHECK_THROWS_AS(s.set_issue_status(done_id, "closed", t0), std::invalid_argument);

    for (int k = 0; k < 7; ++k) {
        Interaction i{.customer_id = id, .at = t0 + std::chrono::hours(k), .channel = k % 2 ? "email" : "call",
                      .summary = "contact " + std::to_string(k)};
        s.add_interaction(i);
    }

    auto ctx = s.customer_context_by_phone("+982188887777");
    REQUIRE(ctx);
    CHECK(ctx->customer.id == id);
    CHECK(ctx->customer.name == "Sara Ahmadi");
    CHECK(ctx->customer.phones == std::vector<std::string>{"+989121234567", "+982188887777"});
    CHECK(ctx->customer.tags == std::vector<std::string>{"vip", "وفادار"});
    CHECK(ctx->customer.created_at == t0);
    REQUIRE(ctx->open_issues.size() == 2);
    CHECK(ctx->open_issues[0].title == "بازپرداخت انجام نشده");
    CHECK(ctx->open_issues[1].id == old_id);
    REQUIRE(ctx->recent_interactions.size() == 5);
    CHECK(ctx->recent_interactions[0].summary == "contact 6");
    CHECK(ctx->recent_interactions[4].summary == "contact 2");

    CHECK_FALSE(s.customer_context_by_phone("+15550000000"));
    CHECK(s.customer_context(id)->open_issues.size() == 2);
    CHECK_FALSE(s.customer_context(424242));
}

TEST_CASE("a number shared by two customers lists both and pops the newest") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto first = s.create_customer(make_customer("First Owner", {"+989121111111"}));
    const auto second = s.create_customer(make_customer("Second Owner", {"+989121111111", "+989122222222"}));
    auto both = s.customers_by_phone("+989121111111");
    REQUIRE(both.size() == 2);
    CHECK(both[0].id == second);
    CHECK(both[1].id == first);
    CHECK(both[0].phones.size() == 2);
    CHECK(s.customer_context_by_phone("+989121111111")->customer.id == second);
    CHECK(s.customers_by_phone("+989129999999").empty());
}

TEST_CASE("a customer's phones must already be E.164") {
    TempDir dir;
    SqliteStore s(dir.file());
    CHECK_THROWS_AS(s.create_customer(make_customer("Raw", {"0912 123 4567"})), std::invalid_argument);
    CHECK(s.customer_count() == 0);
}

TEST_CASE("calls: upsert replaces, find returns every field, and the ring list keeps its order") {
    TempDir dir;
    SqliteStore s(dir.file());
    auto c = make_call("main-1.1", t0, CallStatus::ringing);
    c.from_name = "SARA";
    c.queue = "support";
    c.customer_id = 42;
    c.rang = {AgentId{"bob"}, AgentId{"alice"}};
    s.upsert_call(c);

    auto got = s.find_call(c.id);
    REQUIRE(got);
    CHECK(got->status == CallStatus::ringing);
    CHECK(got->from_name == "SARA");
    CHECK(got->queue == std::optional<std::string>("support"));
    CHECK(got->customer_id == 42);
    CHECK(got->rang == c.rang);
    CHECK_FALSE(got->agent);
    CHECK_FALSE(got->ended_at);

    auto done = make_call("main-1.1", t0);
    done.rang = {AgentId{"alice"}};
    s.upsert_call(done);
    got = s.find_call(c.id);
    CHECK(got->status == CallStatus::answered);
    CHECK(got->agent == AgentId{"alice"});
    CHECK(got->answered_at == t0 + 5s);
    CHECK(got->ended_at == t0 + 65s);
    CHECK(got->talk_seconds == 60);
    CHECK(got->rang == std::vector<AgentId>{AgentId{"alice"}});
    CHECK_FALSE(got->queue);
    CHECK_FALSE(s.find_call(CallId{"nope"}));
}

TEST_CASE("list_calls honours every filter, newest first, up to the limit") {
    TempDir dir;
    SqliteStore s(dir.file());
    for (int k = 0; k < 12; ++k) {
        auto c = make_call("main-" + std::to_string(k), t0 + std::chrono::minutes(k),
                           k % 3 == 0 ? CallStatus::missed : CallStatus::answered);
        if (k % 4 == 0) c.agent = AgentId{"bob"};
        if (k % 2 == 0) c.customer_id = 7;
        if (k >= 10) c.pbx = PbxId{"branch"};
        s.upsert_call(c);
    }
    auto ids = [](const std::vector<CallRecord>& v) {
        std::vector<std::string> out;
        for (auto& c : v) out.push_back(c.id.value());
        return out;
    };
    auto all = s.list_calls({});
    REQUIRE(all.size() == 12);
    CHECK(all.front().id.value() == "main-11");
    CHECK(all.back().id.value() == "main-0");

    CHECK(ids(s.list_calls({.since = t0 + 3min, .until = t0 + 6min})) ==
          std::vector<std::string>{"main-5", "main-4", "main-3"});
    CHECK(ids(s.list_calls({.agent = AgentId{"bob"}})) == std::vector<std::string>{"main-8", "main-4", "main-0"});
    CHECK(ids(s.list_calls({.status = CallStatus::missed})) ==
          std::vector<std::string>{"main-9", "main-6", "main-3", "main-0"});
    CHECK(s.list_calls({.customer_id = 7}).size() == 6);
    CHECK(ids(s.list_calls({.pbx = PbxId{"branch"}})) == std::vector<std::string>{"main-11", "main-10"});
    CHECK(ids(s.list_calls({.limit = 2})) == std::vector<std::string>{"main-11", "main-10"});
    CHECK(s.list_calls({.limit = 0}).size() == 1);  // clamped to 1..1000
    CHECK(ids(s.list_calls({.status = CallStatus::missed, .customer_id = 7, .limit = 1})) ==
          std::vector<std::string>{"main-6"});
}

TEST_CASE("for_each_call streams newest first and stops when told to") {
    TempDir dir;
    SqliteStore s(dir.file());
    for (int k = 0; k < 30; ++k) s.upsert_call(make_call("main-" + std::to_string(k), t0 + std::chrono::seconds(k)));
    int seen = 0;
    std::string first;
    s.for_each_call({.limit = 1}, [&](const CallRecord& c) {
        if (seen == 0) first = c.id.value();
        return ++seen < 10;
    });
    CHECK(seen == 10);
    CHECK(first == "main-29");

    seen = 0;
    s.for_each_call({.since = t0 + 25s}, [&](const CallRecord&) { return ++seen, true; });
    CHECK(seen == 5);  // the limit is ignored, the filter is not

    // The callback may use the store, even to write, while the cursor is open.
    seen = 0;
    s.for_each_call({}, [&](const CallRecord& c) {
        CHECK(s.find_call(c.id));
        s.audit("test", "visited", c.id.value(), t0);
        return ++seen < 3;
    });
    CHECK(seen == 3);
}

TEST_CASE("finish_call twice leaves one history entry, and both or neither are stored") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto id = s.create_customer(make_customer("Sara", {"+989121234567"}));
    auto call = make_call("main-9.9", t0);
    call.customer_id = id;
    s.finish_call(call, call_history(id, call, "answered by alice"));
    s.finish_call(call, call_history(id, call, "answered by alice, again"));
    auto ctx = s.customer_context(id);
    REQUIRE(ctx->recent_interactions.size() == 1);
    CHECK(ctx->recent_interactions[0].summary == "answered by alice, again");
    CHECK(ctx->recent_interactions[0].call_id == call.id);

    // A history entry for a customer that does not exist fails the whole call.
    auto orphan = make_call("main-9.10", t0);
    CHECK_THROWS_AS(s.finish_call(orphan, call_history(424242, orphan, "x")), StorageError);
    CHECK_FALSE(s.find_call(orphan.id));

    auto unknown = make_call("main-9.11", t0);
    s.finish_call(unknown, std::nullopt);
    CHECK(s.find_call(unknown.id));
}

TEST_CASE("set_disposition updates the call and its history entry, and a later engine update keeps it") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto id = s.create_customer(make_customer("Sara", {"+989121234567"}));
    auto call = make_call("main-5.5", t0);
    s.finish_call(call, call_history(id, call, "answered by alice"));

    CHECK(s.set_disposition(call.id, "refund-issued", "card 4111 1111 1111 1111 refunded"));
    CHECK_FALSE(s.set_disposition(CallId{"nope"}, "x", "y"));
    auto got = s.find_call(call.id);
    CHECK(got->disposition == "refund-issued");
    CHECK(got->notes == "card **** **** **** 1111 refunded");
    auto h = s.customer_context(id)->recent_interactions.at(0);
    CHECK(h.disposition == "refund-issued");
    CHECK(h.summary.find("**** **** **** 1111 refunded") != std::string::npos);
    CHECK(h.summary.find("answered by alice") == 0);

    s.finish_call(call, call_history(id, call, "answered by alice"));
    CHECK(s.find_call(call.id)->disposition == "refund-issued");
    CHECK(s.customer_context(id)->recent_interactions.at(0).disposition == "refund-issued");
}

TEST_CASE("a disposition saved before the PBX reports the end reaches the history entry") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto id = s.create_customer(make_customer("Sara", {"+989121234567"}));
    auto call = make_call("main-6.6", t0);
    call.ended_at.reset();
    s.upsert_call(call);
    CHECK(s.set_disposition(call.id, "sale", "ordered two more"));

    call.ended_at = t0 + 65s;
    s.finish_call(call, call_history(id, call, "answered by alice"));
    auto h = s.customer_context(id)->recent_interactions.at(0);
    CHECK(h.disposition == "sale");
    CHECK(h.summary == "answered by alice — ordered two more");
    CHECK(s.find_call(call.id)->notes == "ordered two more");
}

TEST_CASE("open_calls lists the calls of a PBX that are not final") {
    TempDir dir;
    SqliteStore s(dir.file());
    s.upsert_call(make_call("main-a", t0, CallStatus::ringing));
    auto talking = make_call("main-b", t0 + 1s);
    talking.ended_at.reset();
    s.upsert_call(talking);
    s.upsert_call(make_call("main-c", t0 + 2s));
    s.upsert_call(make_call("main-d", t0 + 3s, CallStatus::missed));
    auto other = make_call("branch-a", t0, CallStatus::ringing);
    other.pbx = PbxId{"branch"};
    s.upsert_call(other);
    auto open = s.open_calls(PbxId{"main"});
    REQUIRE(open.size() == 2);
    CHECK(open[0].id.value() == "main-a");
    CHECK(open[1].id.value() == "main-b");
}

TEST_CASE("the audit trail cannot be rewritten even with SQL") {
    TempDir dir;
    auto file = dir.file();
    {
        SqliteStore s(file);
        s.audit("admin", "user.create", "alice", t0);
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.string().c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE audit_log SET actor = 'x'", nullptr, nullptr, nullptr) != SQLITE_OK);
    CHECK(sqlite3_exec(db, "DELETE FROM audit_log", nullptr, nullptr, nullptr) != SQLITE_OK);
    sqlite3_close(db);
}

TEST_CASE("readers and a writer on several threads see consistent data") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto id = s.create_customer(make_customer("Sara", {"+989121234567"}));
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::atomic<long> reads{0};

    std::vector<std::thread> readers;
    for (int r = 0; r < 4; ++r) {
        readers.emplace_back([&] {
            while (!stop) {
                auto ctx = s.customer_context_by_phone("+989121234567");
                if (!ctx || ctx->customer.id != id || ctx->recent_interactions.size() > 5) ++failures;
                // Every stored call has its ring list: one transaction wrote both.
                for (auto& c : s.list_calls({.limit = 20}))
                    if (c.rang.size() != 2) ++failures;
                ++reads;
            }
        });
    }
    std::thread writer([&] {
        for (int k = 0; k < 200; ++k) {
            auto c = make_call("main-t" + std::to_string(k), t0 + std::chrono::seconds(k));
            c.rang = {AgentId{"alice"}, AgentId{"bob"}};
            s.finish_call(c, call_history(id, c, "threaded"));
        }
    });
    writer.join();
    stop = true;
    for (auto& t : readers) t.join();
    CHECK(failures == 0);
    CHECK(reads > 0);
    CHECK(s.list_calls({.limit = 1000}).size() == 200);
    CHECK(s.customer_context(id)->recent_interactions.size() == 5);
}

TEST_CASE("the demo seed fills an empty store once, and most demo callers are known customers") {
    TempDir dir;
    SqliteStore s(dir.file());
    PhoneNormalizer ir("IR");
    seed_demo(s, ir);
    const auto customers = s.customer_count();
    CHECK(customers >= 35);
    CHECK(customers <= 45);
    const auto calls = s.list_calls({.limit = 1000}).size();
    CHECK(calls > 10);

    seed_demo(s, ir);  // a second run adds nothing
    CHECK(s.customer_count() == customers);
    CHECK(s.list_calls({.limit = 1000}).size() == calls);
    CHECK(s.list_users().size() == demo_logins().size());

    for (const auto& login : demo_logins()) {
        auto creds = s.find_credentials(AgentId{login.username});
        REQUIRE(creds);
        CHECK(creds->user.role == login.role);
        if (login.extension) CHECK(creds->user.extension == Extension{*login.extension});
    }
    auto alice = s.find_credentials(AgentId{"alice"});
    CHECK(verify_password("agent-demo", alice->password_hash));
    CHECK(verify_password("admin-demo", s.find_credentials(AgentId{"admin"})->password_hash));
    CHECK(s.users_by_extension(Extension{"1003"}).at(0).name == "سارا رضایی");

    auto sara = s.customer_context_by_phone("+989121234567");
    REQUIRE(sara);
    CHECK(sara->customer.name == "Sara Ahmadi");
    REQUIRE_FALSE(sara->open_issues.empty());
    CHECK(sara->open_issues[0].title == "Refund not received");

    const auto numbers = demo_caller_numbers();
    std::size_t known = 0;
    bool persian = false;
    for (const auto& raw : numbers) {
        CAPTURE(raw);
        auto p = ir.normalize(raw);
        REQUIRE(p);  // every demo caller id is a real number
        if (s.customer_context_by_phone(p->e164())) ++known;
        persian = persian || raw.find("\xDB") != std::string::npos;
    }
    CHECK(persian);
    CHECK(known < numbers.size());
    CHECK(known * 100 >= numbers.size() * 85);
}

// What the agent-state log reads back is in the contract suite (both
// stores); here, that the file itself refuses to rewrite it.
TEST_CASE("the agent state log cannot be rewritten in the file") {
    TempDir dir;
    {
        SqliteStore s(dir.file());
        AgentStateChange c;
        c.agent = AgentId{"alice"};
        c.status.state = WorkState::not_ready;
        c.status.reason = "lunch";
        c.status.since = t0;
        c.by = "alice";
        s.append_agent_state(c);
    }
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(dir.file().c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE agent_state_changes SET state = 'ready'", nullptr, nullptr, nullptr) != SQLITE_OK);
    sqlite3_close(db);
}
