// One contract for every store: the same cases run against SQLite (a real
// file) and against a real PostgreSQL server the test starts itself
// (pg_server.hpp). Built twice, once per backend (RINGSIDE_CONTRACT_PG), so
// ctest shows each backend's result and skips the PostgreSQL half (exit 77)
// where PostgreSQL is not installed.
//
// Covered: every port of Storage (CallLog, CustomerContexts, AuditLog,
// UserDirectory, Customers, CallReports, PbxSettings, Maintenance,
// AgentStateLog), users,
// sessions and directory users, with the races several nodes (or
// processes) on one database must decide in the store. A
// case here states behaviour both stores must have; a backend-only case
// says why it is one.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "ringside/core/time.hpp"
#include "ringside/storage/store.hpp"
#if RINGSIDE_CONTRACT_PG
#include "pg_server.hpp"
#include "ringside/storage/postgres_store.hpp"
#else
#include "ringside/storage/sqlite_store.hpp"
#endif

using namespace ringside;

namespace {

#if RINGSIDE_CONTRACT_PG
using Store = PostgresStore;
struct Backend {
    std::string url = contract::PgServer::get().fresh_database();
    std::unique_ptr<Store> store = std::make_unique<Store>(url);
    /// A second store on the same database: another node.
    std::unique_ptr<Store> another() const { return std::make_unique<Store>(url); }
};
#else
using Store = SqliteStore;
struct Backend {
    std::filesystem::path dir = [] {
        char tmpl[] = "/tmp/ringside-contract-XXXXXX";
        return std::filesystem::path(::mkdtemp(tmpl));
    }();
    std::unique_ptr<Store> store = std::make_unique<Store>(dir / "ringside.db");
    /// A second store on the same file: another process's connections.
    std::unique_ptr<Store> another() const { return std::make_unique<Store>(dir / "ringside.db"); }
    ~Backend() {
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};
#endif

// 2026-11-23T00:00:00Z
const Timestamp day0 = Timestamp{std::chrono::milliseconds{1'795'392'000'000}};
Timestamp at(int minutes) { return day0 + std::chrono::minutes(minutes); }

CallRecord ringing_call(const std::string& id, Timestamp start) {
    CallRecord c;
    c.id = CallId(id);
    c.pbx = PbxId("main");
    c.direction = Direction::inbound;
    c.from = "+989121234567";
    c.from_raw = "09121234567";
    c.from_name = "SARA";
    c.to = "1001";
    c.status = CallStatus::ringing;
    c.started_at = start;
    return c;
}

CallRecord answered(CallRecord c, const char* agent) {
    c.status = CallStatus::answered;
    c.agent = AgentId(agent);
    c.extension = Extension("1001");
    c.answered_at = c.started_at + std::chrono::seconds(5);
    c.wait_seconds = 5;
    return c;
}

CallRecord ended(CallRecord c) {
    c.ended_at = c.started_at + std::chrono::seconds(65);
    c.talk_seconds = 60;
    return c;
}

Customer customer(const std::string& name, const std::string& phone) {
    Customer c;
    c.name = name;
    c.phones = {phone};
    c.tier = "gold";
    c.tags = {"vip"};
    c.created_at = at(0);
    return c;
}

std::int64_t ms_of(Timestamp t) { return t.time_since_epoch().count(); }

Interaction call_history(const CallRecord& c, std::int64_t customer_id) {
    Interaction i;
    i.customer_id = customer_id;
    i.at = c.started_at;
    i.channel = "call";
    i.direction = "inbound";
    i.summary = "answered by alice";
    i.agent = c.agent;
    i.call_id = c.id;
    i.status = "answered";
    return i;
}

}  // namespace

TEST_CASE("a stored call reads back as written, with its rings and legs") {
    Backend b;
    CallLog& log = *b.store;
    auto c = answered(ringing_call("main-1.1", at(1)), "alice");
    c.rang = {AgentId("alice"), AgentId("bob")};
    c.queue = "sales";
    c.queue_position = 2;
    c.hold_seconds = 7;
    CallLeg l1;
    l1.agent = AgentId("bob");
    l1.extension = Extension("1002");
    l1.rang_at = at(1);
    l1.ended_at = at(2);
    CallLeg l2;
    l2.agent = AgentId("alice");
    l2.extension = Extension("1001");
    l2.rang_at = at(1);
    l2.answered_at = at(2);
    l2.talk_seconds = 30;
    l2.transferred_by = AgentId("bob");
    c.legs = {l1, l2};
    log.upsert_call(c);
    auto got = log.find_call(c.id);
    REQUIRE(got);
    CHECK(got->from == c.from);
    CHECK(got->from_raw == c.from_raw);
    CHECK(got->from_name == "SARA");
    CHECK(got->status == CallStatus::answered);
    CHECK(got->agent == c.agent);
    CHECK(got->answered_at == c.answered_at);
    CHECK(!got->ended_at);
    CHECK(got->queue == std::optional<std::string>("sales"));
    CHECK(got->queue_position == std::optional<int>(2));
    CHECK(got->hold_seconds == 7);
    REQUIRE(got->rang.size() == 2);
    CHECK(got->rang[1] == AgentId("bob"));
    REQUIRE(got->legs.size() == 2);
    CHECK(got->legs[0].extension == Extension("1002"));
    CHECK(got->legs[1].transferred_by == std::optional<AgentId>(AgentId("bob")));
    CHECK(got->legs[1].talk_seconds == 30);

    // Fewer rings and legs in a later write: the extra positions go.
    c.rang = {AgentId("alice")};
    c.legs = {l2};
    log.upsert_call(c);
    got = log.find_call(c.id);
    REQUIRE(got);
    CHECK(got->rang.size() == 1);
    CHECK(got->legs.size() == 1);
    CHECK(!log.find_call(CallId("main-nope")));
}

TEST_CASE("the engine's later writes keep what the agent saved and the known hang-up side") {
    Backend b;
    CallLog& log = *b.store;
    auto c = answered(ringing_call("main-2.1", at(1)), "alice");
    log.upsert_call(c);
    REQUIRE(log.set_disposition(c.id, "sale", "card 4111 1111 1111 1111 refunded"));
    auto e = ended(c);
    e.hangup_by = HangupBy::agent;
    e.hangup_extension = Extension("1001");
    log.upsert_call(e);
    auto again = e;
    again.hangup_by.reset();
    again.hangup_extension.reset();
    log.upsert_call(again);  // a resync that no longer knows who hung up
    auto got = log.find_call(c.id);
    REQUIRE(got);
    CHECK(got->disposition == "sale");
    CHECK(got->notes.find("4111 1111 1111 1111") == std::string::npos);  // card numbers are masked when stored
    CHECK(got->hangup_by == std::optional<HangupBy>(HangupBy::agent));
    CHECK(got->hangup_extension == std::optional<Extension>(Extension("1001")));
    CHECK(!log.set_disposition(CallId("main-nope"), "sale", ""));
}

TEST_CASE("a consultation call merged into another is removed") {
    Backend b;
    CallLog& log = *b.store;
    auto c = ringing_call("main-3.1", at(1));
    c.rang = {AgentId("alice")};
    log.upsert_call(c);
    c.merged_into = CallId("main-3.0");
    log.upsert_call(c);
    CHECK(!log.find_call(c.id));
}

TEST_CASE("open calls are a PBX's calls still ringing or talking, oldest first") {
    Backend b;
    CallLog& log = *b.store;
    log.upsert_call(ringing_call("main-4.2", at(2)));
    log.upsert_call(answered(ringing_call("main-4.1", at(1)), "alice"));
    log.upsert_call(ended(answered(ringing_call("main-4.3", at(3)), "bob")));
    auto other = ringing_call("other-4.4", at(4));
    other.pbx = PbxId("other");
    log.upsert_call(other);
    const auto open = log.open_calls(PbxId("main"));
    REQUIRE(open.size() == 2);
    CHECK(open[0].id == CallId("main-4.1"));
    CHECK(open[1].id == CallId("main-4.2"));
}

TEST_CASE("a finished call's history entry is written once and carries the agent's disposition") {
    Backend b;
    const auto id = b.store->create_customer(customer("Sara Ahmadi", "+989121234567"));
    auto c = answered(ringing_call("main-5.1", at(1)), "alice");
    c.customer_id = id;
    b.store->upsert_call(c);
    REQUIRE(b.store->set_disposition(c.id, "callback", "wants a call on Monday"));
    const auto e = ended(c);
    b.store->finish_call(e, call_history(e, id));
    b.store->finish_call(e, call_history(e, id));  // a retried write
    CallLog::CallWrite w{e, call_history(e, id), true};
    b.store->write_calls({w});
    auto ctx = b.store->customer_context(id);
    REQUIRE(ctx);
    REQUIRE(ctx->recent_interactions.size() == 1);
    CHECK(ctx->recent_interactions[0].disposition == "callback");
    CHECK(ctx->recent_interactions[0].summary.find("wants a call on Monday") != std::string::npos);
    CHECK(ctx->recent_interactions[0].call_id == std::optional<CallId>(c.id));
    auto got = b.store->find_call(c.id);
    REQUIRE(got);
    CHECK(got->ended_at == e.ended_at);
    CHECK(got->disposition == "callback");
}

TEST_CASE("a conditional disposition is stored only over the value the writer read") {
    Backend b;
    CallLog& log = *b.store;
    const auto id = b.store->create_customer(customer("Sara Ahmadi", "+989121234567"));
    auto c = answered(ringing_call("main-6.1", at(1)), "alice");
    c.customer_id = id;
    log.upsert_call(c);
    const auto e = ended(c);
    log.finish_call(e, call_history(e, id));
    using W = CallLog::DispositionWrite;
    CHECK(log.set_disposition_if(c.id, "sale", "card 4111 1111 1111 1111 charged", "") == W::written);
    // A second device that also saw no disposition: refused, nothing changes.
    CHECK(log.set_disposition_if(c.id, "callback", "other device", "") == W::changed_meanwhile);
    auto got = log.find_call(c.id);
    REQUIRE(got);
    CHECK(got->disposition == "sale");
    CHECK(got->notes.find("charged") != std::string::npos);
    CHECK(got->notes.find("4111 1111 1111 1111") == std::string::npos);
    auto ctx = b.store->customer_context(id);
    REQUIRE(ctx->recent_interactions.size() == 1);
    CHECK(ctx->recent_interactions[0].disposition == "sale");
    // Having seen "sale": the change goes through, the history entry with it.
    CHECK(log.set_disposition_if(c.id, "callback", "wants a call on Monday", "sale") == W::written);
    CHECK(log.find_call(c.id)->disposition == "callback");
    ctx = b.store->customer_context(id);
    CHECK(ctx->recent_interactions[0].disposition == "callback");
    CHECK(ctx->recent_interactions[0].summary.find("wants a call on Monday") != std::string::npos);
    CHECK(log.set_disposition_if(CallId("main-nope"), "x", "", "") == W::no_such_call);
}

TEST_CASE("two connections saving a disposition over the same value at once: exactly one wins") {
    Backend b;
    // Two stores on one database: two nodes on PostgreSQL, two processes'
    // connections on SQLite. Neither store's own locks can decide this.
    const auto other = b.another();
    auto c = answered(ringing_call("main-8.1", at(1)), "alice");
    b.store->upsert_call(c);
    for (int round = 0; round < 20; ++round) {
        const std::string before = b.store->find_call(c.id)->disposition;
        std::atomic<int> won{0}, lost{0}, failed{0};
        std::string a_what = "sale-" + std::to_string(round), z_what = "callback-" + std::to_string(round);
        auto save = [&](Store* node, const std::string& what) {
            try {
                const auto r = node->set_disposition_if(c.id, what, "", before);
                if (r == CallLog::DispositionWrite::written) ++won;
                else if (r == CallLog::DispositionWrite::changed_meanwhile) ++lost;
            } catch (...) {
                ++failed;
            }
        };
        std::thread a(save, b.store.get(), a_what);
        std::thread z(save, other.get(), z_what);
        a.join();
        z.join();
        CHECK(failed == 0);
        CHECK(won == 1);
        CHECK(lost == 1);
        // The stored value is the winner's, as both stores read it.
        const std::string now = b.store->find_call(c.id)->disposition;
        CHECK((now == a_what || now == z_what));
        CHECK(other->find_call(c.id)->disposition == now);
    }
}

TEST_CASE("the pop's lookup finds the newest customer of a number, with open issues and history newest first") {
    Backend b;
    const auto older = b.store->create_customer(customer("Old Owner", "+989121234567"));
    const auto newer = b.store->create_customer(customer("Sara Ahmadi", "+989121234567"));
    CHECK(newer != older);
    for (int i = 0; i < 7; ++i) {
        Issue is;
        is.customer_id = newer;
        is.title = "issue " + std::to_string(i);
        is.status = i == 3 ? "resolved" : "open";
        is.opened_at = at(i);
        b.store->create_issue(is);
    }
    for (int i = 0; i < 6; ++i) {
        Interaction h;
        h.customer_id = newer;
        h.at = at(10 + i);
        h.channel = "email";
        h.summary = "mail " + std::to_string(i);
        b.store->add_interaction(h);
    }
    auto ctx = b.store->customer_context_by_phone("+989121234567");
    REQUIRE(ctx);
    CHECK(ctx->customer.id == newer);
    CHECK(ctx->customer.name == "Sara Ahmadi");
    CHECK(ctx->customer.phones == std::vector<std::string>{"+989121234567"});
    CHECK(ctx->customer.tags == std::vector<std::string>{"vip"});
    CHECK(ctx->complaints == 7);
    REQUIRE(ctx->open_issues.size() == 5);
    CHECK(ctx->open_issues[0].title == "issue 6");
    CHECK(ctx->open_issues[4].title == "issue 1");  // issue 3 is resolved
    REQUIRE(ctx->recent_interactions.size() == 5);
    CHECK(ctx->recent_interactions[0].summary == "mail 5");
    CHECK(!b.store->customer_context_by_phone("+989120000000"));
    const auto both = b.store->customers_by_phone("+989121234567");
    REQUIRE(both.size() == 2);
    CHECK(both[0].id == newer);
    CHECK(b.store->customer_count() == 2);
    CHECK(b.store->find_customer(older)->name == "Old Owner");
    CHECK_THROWS_AS(b.store->create_customer(customer("Bad", "09121234567")), std::invalid_argument);
}

TEST_CASE("two writers storing calls and customers at once lose nothing") {
    Backend b;
    // Two threads, as the lookup pool and the write-behind thread, on one store.
    std::atomic<int> failures{0};
    auto writer = [&](int who) {
        try {
            for (int i = 0; i < 20; ++i) {
                auto c = ringing_call("main-7." + std::to_string(who) + "." + std::to_string(i), at(i));
                b.store->upsert_call(c);
                b.store->upsert_call(ended(answered(c, who ? "bob" : "alice")));
                b.store->create_customer(customer("Same Number " + std::to_string(who), "+989127777777"));
            }
        } catch (...) {
            ++failures;
        }
    };
    std::thread t0(writer, 0), t1(writer, 1);
    t0.join();
    t1.join();
    CHECK(failures == 0);
    CHECK(b.store->customers_by_phone("+989127777777").size() == 40);
    for (int who = 0; who < 2; ++who)
        for (int i = 0; i < 20; ++i) {
            auto got = b.store->find_call(CallId("main-7." + std::to_string(who) + "." + std::to_string(i)));
            REQUIRE(got);
            CHECK(got->ended_at);
        }
}

namespace {

/// One order of an orders import, naming its customer by id, phone or email.
OrderRow order(std::size_t row, const std::string& ref, std::int64_t amount, Timestamp when) {
    OrderRow o;
    o.row = row;
    o.order_ref = ref;
    o.amount = amount;
    o.at = when;
    return o;
}
OrderRow order_of(std::int64_t customer_id, OrderRow o) {
    o.customer_id = customer_id;
    return o;
}
OrderRow order_by_phone(const std::string& phone, OrderRow o) {
    o.phone = phone;
    return o;
}
OrderRow order_by_email(const std::string& email, OrderRow o) {
    o.email = email;
    return o;
}

std::size_t audited(Store& s, const std::string& action) {
    std::size_t n = 0;
    for (const auto& e : s.list_audit(std::nullopt, 500)) n += e.action == action;
    return n;
}

}  // namespace

TEST_CASE("an import stores each new customer once, matched by phone or email; a dry run stores nothing") {
    Backend b;
    const auto sara = b.store->create_customer(customer("Sara Ahmadi", "+989121234567"));
    auto reza = customer("Reza Karimi", "+989121110000");
    reza.email = "Reza@Example.com";
    const auto reza_id = b.store->create_customer(reza);
    auto by_email = customer("R. Karimi", "+989120000001");
    by_email.email = "reza@example.COM";
    const std::vector<Customer> batch = {customer("Sara again", "+989121234567"), by_email,
                                         customer("Nima Rad", "+989123333333"),
                                         customer("Nima's twin", "+989123333333")};
    const auto dry = b.store->import_customers(batch, true, "alice", at(5));
    REQUIRE(dry.size() == 4);
    CHECK(!dry[0].created);
    CHECK(dry[0].matched_on == "phone");
    CHECK(dry[0].customer_id == sara);
    CHECK(!dry[1].created);
    CHECK(dry[1].matched_on == "email");
    CHECK(dry[1].customer_id == reza_id);
    CHECK(dry[2].created);
    CHECK(dry[2].customer_id == 0);
    CHECK(!dry[3].created);  // the same number as the row before it in the batch
    CHECK(b.store->customer_count() == 2);
    CHECK(audited(*b.store, "customer.create") == 0);

    const auto real = b.store->import_customers(batch, false, "alice", at(6));
    REQUIRE(real.size() == 4);
    CHECK(real[2].created);
    CHECK(real[2].customer_id > 0);
    CHECK(!real[3].created);
    CHECK(real[3].matched_on == "phone");
    CHECK(real[3].customer_id == real[2].customer_id);
    CHECK(b.store->customer_count() == 3);
    CHECK(b.store->find_customer(real[2].customer_id)->name == "Nima Rad");
    CHECK(audited(*b.store, "customer.create") == 1);
    // Re-running the file imports nothing twice.
    for (const auto& m : b.store->import_customers(batch, false, "alice", at(7))) CHECK(!m.created);
    CHECK(b.store->customer_count() == 3);
    CHECK_THROWS_AS(b.store->import_customers({customer("Bad", "09121234567")}, false, "alice", at(8)),
                    std::invalid_argument);
}

TEST_CASE("an orders import sums each customer's orders into the lifetime value, once per order") {
    Backend b;
    const auto sara = b.store->create_customer(customer("Sara Ahmadi", "+989121234567"));
    auto reza = customer("Reza Karimi", "+989121110000");
    reza.email = "reza@example.com";
    const auto reza_id = b.store->create_customer(reza);
    const std::vector<OrderRow> orders = {
        order_of(sara, order(2, "o-1", 100, at(1))),
        order_by_phone("+989121234567", order(3, "o-2", 50, at(2))),
        order_by_email("REZA@example.com", order(4, "o-3", 70, at(3))),
        order_by_phone("+989129999999", order(5, "o-4", 5, at(4))),  // nobody's number
    };
    auto statuses = [](const std::vector<ImportRowResult>& rs) {
        std::vector<std::string> out;
        for (const auto& r : rs) out.push_back(r.status);
        return out;
    };
    const std::vector<std::string> first = {"imported", "imported", "imported", "rejected"};
    CHECK(statuses(b.store->import_orders(orders, true, "alice", at(10))) == first);
    CHECK(!b.store->find_customer(sara)->lifetime_value);
    const auto real = b.store->import_orders(orders, false, "alice", at(11));
    CHECK(statuses(real) == first);
    CHECK(real[1].customer_id == std::optional<std::int64_t>(sara));
    CHECK(real[3].reason == "no such customer");
    CHECK(b.store->find_customer(sara)->lifetime_value == std::optional<std::int64_t>(150));
    CHECK(b.store->find_customer(reza_id)->lifetime_value == std::optional<std::int64_t>(70));
    CHECK(audited(*b.store, "customer.update") == 2);
    // The same file again: nothing changes, nothing more is audited.
    const auto again = b.store->import_orders(orders, false, "alice", at(12));
    CHECK(statuses(again) == std::vector<std::string>{"already_present", "already_present", "already_present",
                                                      "rejected"});
    CHECK(b.store->find_customer(sara)->lifetime_value == std::optional<std::int64_t>(150));
    CHECK(audited(*b.store, "customer.update") == 2);
}

TEST_CASE("two writers importing the same number at once end with one customer, not two") {
    Backend b;
    const auto other = b.another();
    for (int round = 0; round < 20; ++round) {
        const std::string number = "+98912555" + std::to_string(1000 + round);
        std::atomic<int> created{0}, failed{0};
        auto import = [&](Store* node, const std::string& name) {
            try {
                const auto m = node->import_customers({customer(name, number)}, false, "import", at(round));
                if (m.at(0).created) ++created;
            } catch (...) {
                ++failed;
            }
        };
        std::thread a(import, b.store.get(), "From node A");
        std::thread z(import, other.get(), "From node Z");
        a.join();
        z.join();
        CHECK(failed == 0);
        CHECK(created == 1);
        CHECK(b.store->customers_by_phone(number).size() == 1);
    }
    CHECK(b.store->customer_count() == 20);
}

TEST_CASE("two orders imports for one customer at once add up") {
    Backend b;
    const auto other = b.another();
    const auto sara = b.store->create_customer(customer("Sara Ahmadi", "+989121234567"));
    std::atomic<int> failed{0};
    for (int round = 0; round < 10; ++round) {
        auto import = [&](Store* node, const std::string& ref, std::int64_t amount) {
            try {
                const std::vector<OrderRow> o = {order_by_phone("+989121234567", order(2, ref, amount, at(round)))};
                node->import_orders(o, false, "import", at(round));
            } catch (...) {
                ++failed;
            }
        };
        std::thread a(import, b.store.get(), "a-" + std::to_string(round), 10);
        std::thread z(import, other.get(), "z-" + std::to_string(round), 1);
        a.join();
        z.join();
        CHECK(b.store->find_customer(sara)->lifetime_value == std::optional<std::int64_t>(11 * (round + 1)));
    }
    CHECK(failed == 0);
}

namespace {

std::vector<std::int64_t> ids_of(const std::vector<Customer>& cs) {
    std::vector<std::int64_t> out;
    for (const auto& c : cs) out.push_back(c.id);
    return out;
}

CustomerQuery words(std::vector<std::string> terms) {
    CustomerQuery q;
    q.terms = std::move(terms);
    return q;
}

}  // namespace

TEST_CASE("a customer search matches long words inside a name's words and short ones at a word's start, newest first") {
    Backend b;
    auto sara = customer("Sara Ahmadi", "+989121000001");
    sara.tags = {"vip"};
    auto reza = customer("Reza Ahmadian", "+989121000002");
    reza.tier = "silver";
    reza.tags = {};
    reza.email = "Reza@Example.com";
    auto ali = customer("Ali Karimi", "+989121000003");
    ali.company = "Mahmoud Trading";
    ali.kind = "lead";
    ali.tags = {};
    ali.groups = {"north"};
    const auto a = b.store->create_customer(sara);
    const auto r = b.store->create_customer(reza);
    const auto k = b.store->create_customer(ali);
    using Ids = std::vector<std::int64_t>;
    CHECK(ids_of(b.store->search_customers(words({"hmad"}))) == Ids{r, a});
    // A name search may order by its words ("unless a name search orders
    // them"): SQLite's prefix range does; compared as a set.
    auto short_word = ids_of(b.store->search_customers(words({"ah"})));
    std::sort(short_word.begin(), short_word.end());
    CHECK(short_word == Ids{a, r});  // "mahmoud" does not start with it
    CHECK(ids_of(b.store->search_customers(words({"sar", "ahm"}))) == Ids{a});
    CHECK(ids_of(b.store->search_customers(words({"trading"}))) == Ids{k});  // the company's words too
    CHECK(b.store->search_customers(words({"100%"})).empty());  // LIKE's wildcards are literal
    CHECK(b.store->search_customers(words({"a_i"})).empty());
    auto one = words({"hmad"});
    one.limit = 1;
    CHECK(ids_of(b.store->search_customers(one)) == Ids{r});
    CustomerQuery q;
    q.phone = "+989121000001";
    const auto by_phone = b.store->search_customers(q);
    REQUIRE(by_phone.size() == 1);
    CHECK(by_phone[0].name == "Sara Ahmadi");
    CHECK(by_phone[0].phones == std::vector<std::string>{"+989121000001"});
    q = {};
    q.email = "REZA@example.com";
    CHECK(ids_of(b.store->search_customers(q)) == Ids{r});
    q = {};
    q.tag = "vip";
    CHECK(ids_of(b.store->search_customers(q)) == Ids{a});
    q = {};
    q.group = "north";
    CHECK(ids_of(b.store->search_customers(q)) == Ids{k});
    q = {};
    q.tier = "silver";
    CHECK(ids_of(b.store->search_customers(q)) == Ids{r});
    q = {};
    q.kind = "lead";
    CHECK(ids_of(b.store->search_customers(q)) == Ids{k});
    CHECK(ids_of(b.store->search_customers({})) == Ids{k, r, a});
}

TEST_CASE("an export streams every matching customer oldest first, and stops when asked") {
    Backend b;
    std::vector<Customer> batch;
    for (int i = 0; i < 1205; ++i) batch.push_back(customer("Export " + std::to_string(i), "+98912600" + std::to_string(1000 + i)));
    for (const auto& cu : batch) b.store->create_customer(cu);
    std::int64_t last = 0;
    std::size_t seen = 0;
    bool ordered = true;
    b.store->for_each_customer({}, [&](const Customer& cu) {
        ordered = ordered && cu.id > last && cu.phones.size() == 1;
        last = cu.id;
        ++seen;
        return true;
    });
    CHECK(ordered);
    CHECK(seen == 1205);  // more than one page on PostgreSQL
    seen = 0;
    b.store->for_each_customer(words({"export"}), [&](const Customer&) { return ++seen < 3; });
    CHECK(seen == 3);
}

namespace {

/// A customer with a call linked to them, one from their number before
/// they were known, one to their number, an issue and audit entries.
struct CustomerFile {
    std::int64_t id = 0;
    std::int64_t other = 0;
    CallRecord linked, unlinked, outbound;
    explicit CustomerFile(Store& s) {
        auto sara = customer("Sara Ahmadi", "+989121234567");
        sara.email = "sara@example.com";
        id = s.create_customer(sara);
        other = s.create_customer(customer("Reza Karimi", "+989121110000"));
        Issue is;
        is.customer_id = id;
        is.title = "Refund for Sara";
        is.description = "card ending 1111";
        is.opened_at = at(1);
        s.create_issue(is);
        linked = ended(answered(ringing_call("main-20.1", at(2)), "alice"));
        linked.customer_id = id;
        linked.notes = "call her at home";
        s.finish_call(linked, call_history(linked, id));
        s.set_disposition(linked.id, "callback", "call her at home");
        unlinked = ended(answered(ringing_call("main-20.2", at(3)), "bob"));
        s.finish_call(unlinked, std::nullopt);
        outbound = ringing_call("main-20.3", at(4));
        outbound.direction = Direction::outbound;
        outbound.from = "1001";
        outbound.from_raw = "1001";
        outbound.from_name = "";
        outbound.to = "+989121234567";
        s.finish_call(ended(outbound), std::nullopt);
        s.audit("alice", "customer.update", R"({"id":)" + std::to_string(id) + R"(,"changes":{"email":"sara@example.com"}})",
                at(5));
        s.audit("alice", "customer.update", R"({"id":)" + std::to_string(other) + R"(,"changes":{"tier":"gold"}})",
                at(6));
        s.audit("alice", "customer.note", "not JSON at all", at(7));
    }
};

}  // namespace

TEST_CASE("a customer's data on request holds the file, its issues, history, calls and audit entries") {
    Backend b;
    CustomerFile f(*b.store);
    const auto d = b.store->customer_data(f.id);
    REQUIRE(d);
    CHECK(d->customer.name == "Sara Ahmadi");
    CHECK(d->customer.phones == std::vector<std::string>{"+989121234567"});
    REQUIRE(d->issues.size() == 1);
    CHECK(d->issues[0].issue.title == "Refund for Sara");
    REQUIRE(d->interactions.size() == 1);
    CHECK(d->interactions[0].summary == "answered by alice");  // the notes apart
    REQUIRE(d->interaction_notes.size() == 1);
    CHECK(d->interaction_notes[0] == "call her at home");
    REQUIRE(d->calls.size() == 3);  // newest first
    CHECK(d->calls[0].id == f.outbound.id);
    CHECK(d->calls[1].id == f.unlinked.id);
    CHECK(d->calls[2].id == f.linked.id);
    REQUIRE(d->audit.size() == 1);
    CHECK(d->audit[0].detail.find("sara@example.com") != std::string::npos);
    CHECK(!b.store->customer_data(999999));
}

TEST_CASE("an erasure anonymises the customer everywhere and keeps the audit trail's who, what and when") {
    Backend b;
    CustomerFile f(*b.store);
    const auto audit_before = b.store->list_audit(std::nullopt, 500).size();
    const auto r = b.store->erase_customer(f.id, "dpo", "the customer asked", at(30));
    REQUIRE(r);
    CHECK(r->calls == 3);
    CHECK(r->interactions == 1);
    CHECK(r->issues == 1);
    CHECK(r->audit_entries == 1);
    const auto after = b.store->find_customer(f.id);
    REQUIRE(after);
    CHECK(after->erased_at == std::optional<Timestamp>(at(30)));
    CHECK(after->name != "Sara Ahmadi");
    CHECK(after->email.empty());
    CHECK(after->phones.empty());
    CHECK(b.store->customers_by_phone("+989121234567").empty());
    CHECK(!b.store->customer_context_by_phone("+989121234567"));
    CHECK(b.store->search_customers(words({"sara"})).empty());
    for (const auto& id : {f.linked.id, f.unlinked.id, f.outbound.id}) {
        const auto call = b.store->find_call(id);
        REQUIRE(call);
        CHECK(call->from != "+989121234567");
        CHECK(call->to != "+989121234567");
        CHECK(call->notes.empty());
    }
    CHECK(b.store->find_call(f.linked.id)->disposition == "callback");  // figures and dispositions stay
    CHECK(b.store->find_call(f.linked.id)->from_name.empty());
    // Nothing of the trail is deleted; the earlier entry about her keeps its
    // who, what and when without the values; others are untouched.
    const auto trail = b.store->list_audit(std::nullopt, 500);
    CHECK(trail.size() == audit_before + 1);
    REQUIRE(!trail.empty());
    CHECK(trail[0].action == "customer.erase");
    CHECK(trail[0].actor == "dpo");
    for (const auto& e : trail) {
        CHECK(e.detail.find("sara@example.com") == std::string::npos);
        if (e.action == "customer.note") CHECK(e.detail == "not JSON at all");
    }
    const auto d = b.store->customer_data(f.id);
    REQUIRE(d);
    REQUIRE(d->audit.size() == 2);
    CHECK(d->audit[1].actor == "alice");
    CHECK(d->audit[1].at == at(5));
    CHECK(d->audit[1].detail.find("erased") != std::string::npos);
    CHECK(d->issues.at(0).issue.title != "Refund for Sara");
    CHECK(d->interaction_notes.at(0).empty());
    CHECK(b.store->customer_data(f.other)->audit.at(0).detail.find("gold") != std::string::npos);
    // Erasing again changes nothing more and is audited again.
    const auto again = b.store->erase_customer(f.id, "dpo", "asked twice", at(31));
    REQUIRE(again);
    CHECK(again->audit_entries == 0);
    CHECK(b.store->list_audit(std::nullopt, 500).size() == audit_before + 2);
    CHECK(!b.store->erase_customer(999999, "dpo", "", at(32)));
}

TEST_CASE("customers created in a batch or audited, and edits that replace the file and append their entry") {
    Backend b;
    const auto ids = b.store->create_customers({customer("One", "+989121000011"), customer("Two", "+989121000012")});
    REQUIRE(ids.size() == 2);
    CHECK(ids[0] < ids[1]);
    CHECK(b.store->customer_count() == 2);
    CHECK_THROWS_AS(b.store->create_customers({customer("Bad", "0912")}), std::invalid_argument);
    CHECK(b.store->customer_count() == 2);  // all or none
    const auto id = b.store->create_customer_audited(customer("Sara Ahmadi", "+989121234567"), "alice",
                                                     R"({"via":"form"})", at(1));
    auto entries = b.store->list_customer_audit(id, std::nullopt, 50);
    REQUIRE(entries.size() == 1);
    CHECK(entries[0].action == "customer.create");
    CHECK(entries[0].detail.find("\"via\":\"form\"") != std::string::npos);

    auto edited = *b.store->find_customer(id);
    edited.name = "Sara Karimi";
    edited.phones = {"+989127654321"};
    edited.phone_labels = {"work"};
    edited.tags = {"new"};
    REQUIRE(b.store->update_customer(edited, "bob", "customer.update", R"({"id":)" + std::to_string(id) + "}", at(2)));
    const auto got = b.store->find_customer(id);
    CHECK(got->name == "Sara Karimi");
    CHECK(got->phones == std::vector<std::string>{"+989127654321"});
    CHECK(got->phone_labels == std::vector<std::string>{"work"});
    CHECK(got->updated_at == std::optional<Timestamp>(at(2)));
    CHECK(b.store->customers_by_phone("+989121234567").empty());
    CHECK(b.store->customers_by_phone("+989127654321").size() == 1);
    CHECK(ids_of(b.store->search_customers(words({"karimi"}))) == std::vector<std::int64_t>{id});
    CHECK(b.store->search_customers(words({"ahmadi"})).empty());
    CustomerQuery tagged;
    tagged.tag = "new";
    CHECK(ids_of(b.store->search_customers(tagged)) == std::vector<std::int64_t>{id});
    entries = b.store->list_customer_audit(id, std::nullopt, 50);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].actor == "bob");
    const auto all = b.store->list_customer_audit(std::nullopt, std::nullopt, 50);
    CHECK(all.size() == 2);
    CHECK(b.store->list_customer_audit(std::nullopt, all[0].id, 50).size() == 1);  // paged by id
    edited.id = 999999;
    CHECK(!b.store->update_customer(edited, "bob", "customer.update", "{}", at(3)));
    // An erased file is never written again.
    REQUIRE(b.store->erase_customer(id, "dpo", "asked", at(4)));
    edited.id = id;
    CHECK(!b.store->update_customer(edited, "bob", "customer.update", "{}", at(5)));
    CHECK(b.store->find_customer(id)->name != "Sara Karimi");
}

TEST_CASE("issues change status and fields with a history, and list newest first") {
    Backend b;
    const auto id = b.store->create_customer(customer("Sara Ahmadi", "+989121234567"));
    Issue first;
    first.customer_id = id;
    first.title = "Refund";
    first.opened_at = at(1);
    Issue second = first;
    second.title = "Late delivery";
    second.opened_at = at(2);
    const auto a = b.store->create_issue(first);
    const auto z = b.store->create_issue(second);
    auto listed = b.store->customer_issues(id);
    REQUIRE(listed.size() == 2);
    CHECK(listed[0].id == z);
    CHECK(listed[0].priority == "normal");
    REQUIRE(b.store->set_issue_status(a, "resolved", at(3)));
    auto got = b.store->find_issue(a);
    REQUIRE(got);
    CHECK(got->status == "resolved");
    CHECK(got->resolved_at == std::optional<Timestamp>(at(3)));
    CHECK(!b.store->set_issue_status(999999, "open", at(3)));
    CHECK_THROWS_AS(b.store->set_issue_status(a, "closed", at(3)), std::invalid_argument);
    CHECK(!b.store->find_issue(999999));
    auto edit = *b.store->find_issue(z);
    edit.priority = "urgent";
    edit.owner = "bob";
    REQUIRE(b.store->update_issue(edit, {IssueChange{at(4), "sam", "priority", "normal", "urgent"},
                                         IssueChange{at(5), "sam", "owner", "", "bob"}}));
    CHECK(b.store->find_issue(z)->priority == "urgent");
    const auto history = b.store->issue_history(z);
    REQUIRE(history.size() == 2);
    CHECK(history[0].field == "priority");
    CHECK(history[1].after == "bob");
    edit.id = 999999;
    CHECK(!b.store->update_issue(edit, {}));
    std::vector<std::int64_t> seen;
    b.store->for_each_issue([&](const Issue& i) {
        seen.push_back(i.id);
        return true;
    });
    CHECK(seen == std::vector<std::int64_t>{a, z});
    seen.clear();
    b.store->for_each_issue([&](const Issue& i) {
        seen.push_back(i.id);
        return false;
    });
    CHECK(seen.size() == 1);
}

TEST_CASE("a customer's timeline pages newest first, and a batch of history entries is stored at once") {
    Backend b;
    const auto id = b.store->create_customer(customer("Sara Ahmadi", "+989121234567"));
    std::vector<Interaction> batch;
    for (int i = 0; i < 5; ++i) {
        Interaction h;
        h.customer_id = id;
        h.at = at(10 + i);
        h.channel = "email";
        h.summary = "mail " + std::to_string(i);
        batch.push_back(h);
    }
    b.store->add_interactions(batch);
    b.store->add_interactions({});
    const auto page = b.store->customer_timeline(id, std::nullopt, 2);
    REQUIRE(page.size() == 2);
    CHECK(page[0].summary == "mail 4");
    CHECK(page[1].summary == "mail 3");
    const auto next = b.store->customer_timeline(id, page.back().at, 10);
    REQUIRE(next.size() == 3);
    CHECK(next[2].summary == "mail 0");
    CHECK(b.store->customer_timeline(999999, std::nullopt, 10).empty());
}

TEST_CASE("the audit trail is append-only and pages newest first") {
    Backend b;
    AuditLog& audit = *b.store;
    for (int i = 0; i < 5; ++i) audit.audit("alice", "call.disposition", "main-9." + std::to_string(i), at(i));
    const auto page = b.store->list_audit(std::nullopt, 3);
    REQUIRE(page.size() == 3);
    CHECK(page[0].detail == "main-9.4");
    CHECK(page[0].actor == "alice");
    CHECK(page[0].at == at(4));
    const auto next = b.store->list_audit(page.back().id, 3);
    REQUIRE(next.size() == 2);
    CHECK(next[1].detail == "main-9.0");
}

TEST_CASE("the directory answers who is on an extension, enabled users only") {
    Backend b;
    User alice;
    alice.username = AgentId("alice");
    alice.name = "Alice";
    alice.role = Role::agent;
    alice.extension = Extension("1001");
    User old = alice;
    old.username = AgentId("old");
    old.disabled = true;
    User sup;
    sup.username = AgentId("sam");
    sup.role = Role::supervisor;
    b.store->create_user(alice, "hash");
    b.store->create_user(old, "hash");
    b.store->create_user(sup, "hash");
    CHECK_THROWS_AS(b.store->create_user(alice, "hash"), StorageConflict);
    UserDirectory& dir = *b.store;
    const auto on = dir.users_by_extension(Extension("1001"));
    REQUIRE(on.size() == 1);
    CHECK(on[0].username == AgentId("alice"));
    CHECK(on[0].name == "Alice");
    CHECK(dir.users_by_extension(Extension("1009")).empty());
    auto s = dir.find_user(AgentId("sam"));
    REQUIRE(s);
    CHECK(s->role == Role::supervisor);
    CHECK(!s->extension);
    CHECK(dir.find_user(AgentId("old"))->disabled);
    CHECK(!dir.find_user(AgentId("nobody")));
    const auto all = dir.list_users();
    REQUIRE(all.size() == 3);
    CHECK(all[0].username == AgentId("alice"));
    CHECK(all[2].username == AgentId("sam"));
}

TEST_CASE("a session names its user until it expires, is deleted, or the user is disabled") {
    Backend b;
    User alice;
    alice.username = AgentId("alice");
    alice.role = Role::agent;
    User bob = alice;
    bob.username = AgentId("bob");
    bob.disabled = true;
    b.store->create_user(alice, "$argon2id$alice");
    b.store->create_user(bob, "$argon2id$bob");
    auto cred = b.store->find_credentials(AgentId("alice"));
    REQUIRE(cred);
    CHECK(cred->password_hash == "$argon2id$alice");
    CHECK(!cred->directory_dn);
    CHECK(!b.store->find_credentials(AgentId("nobody")));
    const auto soon = now_ms() + std::chrono::hours(1);
    b.store->create_session("aa", AgentId("alice"), soon);
    b.store->create_session("bb", AgentId("bob"), soon);
    CHECK(b.store->session_user("aa", now_ms())->username == AgentId("alice"));
    CHECK(!b.store->session_user("aa", soon));     // expired at its expiry
    CHECK(!b.store->session_user("bb", now_ms())); // a disabled user's session does not sign in
    CHECK(!b.store->session_user("zz", now_ms()));
    CHECK_THROWS_AS(b.store->create_session("aa", AgentId("alice"), soon), StorageConflict);
    b.store->delete_session("aa");
    CHECK(!b.store->session_user("aa", now_ms()));
}

TEST_CASE("PBX connections added on the admin page are listed in the order added, ids unique") {
    Backend b;
    PbxSettings& pbx = *b.store;
    pbx.create_pbx(StoredPbx{"branch", "asterisk-ami", R"({"host":"10.0.0.2"})", true, at(2), "root"});
    pbx.create_pbx(StoredPbx{"hq", "freeswitch-esl", R"({"host":"10.0.0.1"})", true, at(1), "root"});
    CHECK_THROWS_AS(pbx.create_pbx(StoredPbx{"hq", "sip", "{}", true, at(3), "root"}), StorageConflict);
    CHECK(pbx.set_pbx_enabled("hq", false));
    CHECK(pbx.update_pbx("branch", R"({"host":"10.0.0.3"})", true));
    CHECK(!pbx.set_pbx_enabled("nope", true));
    CHECK(!pbx.update_pbx("nope", "{}", true));
    auto list = pbx.list_pbx();
    REQUIRE(list.size() == 2);
    CHECK(list[0].id == "hq");
    CHECK(!list[0].enabled);
    CHECK(list[0].created_at == at(1));
    CHECK(list[1].settings == R"({"host":"10.0.0.3"})");
    CHECK(pbx.remove_pbx("hq"));
    CHECK(!pbx.remove_pbx("hq"));
    CHECK(pbx.list_pbx().size() == 1);
}

TEST_CASE("a user's changes apply field by field; disabling or a new password ends their sessions") {
    Backend b;
    User alice;
    alice.username = AgentId("alice");
    alice.name = "Alice";
    alice.role = Role::agent;
    alice.extension = Extension("1001");
    b.store->create_user(alice, "$argon2id$alice");
    const auto soon = now_ms() + std::chrono::hours(1);
    b.store->create_session("s1", AgentId("alice"), soon);

    UserChange rename;
    rename.name = "Alice K";
    rename.role = Role::supervisor;
    rename.extension = std::optional<Extension>{};  // cleared
    REQUIRE(b.store->update_user(AgentId("alice"), rename));
    auto u = b.store->find_user(AgentId("alice"));
    REQUIRE(u);
    CHECK(u->name == "Alice K");
    CHECK(u->role == Role::supervisor);
    CHECK(!u->extension);
    CHECK(b.store->session_user("s1", now_ms()));  // a rename keeps the session

    UserChange password;
    password.password_hash = "$argon2id$new";
    REQUIRE(b.store->update_user(AgentId("alice"), password));
    CHECK(b.store->find_credentials(AgentId("alice"))->password_hash == "$argon2id$new");
    CHECK(!b.store->session_user("s1", now_ms()));

    b.store->create_session("s2", AgentId("alice"), soon);
    UserChange off;
    off.disabled = true;
    REQUIRE(b.store->update_user(AgentId("alice"), off));
    CHECK(b.store->find_user(AgentId("alice"))->disabled);
    CHECK(!b.store->session_user("s2", now_ms()));
    CHECK(!b.store->update_user(AgentId("nobody"), rename));
}

TEST_CASE("a directory user is created and updated at sign-in, never over a local user or an admin's disabling") {
    Backend b;
    User local;
    local.username = AgentId("carol");
    local.role = Role::admin;
    b.store->create_user(local, "$argon2id$carol");

    User dana;
    dana.username = AgentId("dana");
    dana.name = "Dana";
    dana.role = Role::agent;
    dana.extension = Extension("1005");
    auto made = b.store->upsert_directory_user(dana, "uid=dana,ou=people,dc=example");
    REQUIRE(made);
    CHECK(made->name == "Dana");
    CHECK(made->extension == std::optional<Extension>(Extension("1005")));
    auto cred = b.store->find_credentials(AgentId("dana"));
    REQUIRE(cred);
    CHECK(cred->password_hash.empty());
    CHECK(cred->directory_dn == std::optional<std::string>("uid=dana,ou=people,dc=example"));

    // The directory's next answer: a new group, no name and no extension given.
    User again = dana;
    again.name = "";
    again.role = Role::supervisor;
    again.extension.reset();
    auto updated = b.store->upsert_directory_user(again, "uid=dana,ou=staff,dc=example");
    REQUIRE(updated);
    CHECK(updated->name == "Dana");            // kept
    CHECK(updated->role == Role::supervisor);  // the directory decides the role
    CHECK(updated->extension == std::optional<Extension>(Extension("1005")));
    CHECK(b.store->list_users().size() == 2);

    User impostor;
    impostor.username = AgentId("carol");
    impostor.role = Role::agent;
    CHECK(!b.store->upsert_directory_user(impostor, "uid=carol,dc=example"));
    CHECK(b.store->find_user(AgentId("carol"))->role == Role::admin);

    UserChange off;
    off.disabled = true;
    REQUIRE(b.store->update_user(AgentId("dana"), off));
    auto still = b.store->upsert_directory_user(dana, "uid=dana,ou=people,dc=example");
    REQUIRE(still);
    CHECK(still->disabled);
}

TEST_CASE("directory users signed in are those with a live session; ending a user's sessions ends them all") {
    Backend b;
    User dana;
    dana.username = AgentId("dana");
    dana.role = Role::agent;
    User erin = dana;
    erin.username = AgentId("erin");
    b.store->upsert_directory_user(dana, "uid=dana,dc=example");
    b.store->upsert_directory_user(erin, "uid=erin,dc=example");
    User local;
    local.username = AgentId("carol");
    local.role = Role::agent;
    b.store->create_user(local, "$argon2id$carol");
    const auto now = now_ms();
    b.store->create_session("d1", AgentId("dana"), now + std::chrono::hours(1));
    b.store->create_session("d2", AgentId("dana"), now + std::chrono::hours(2));
    b.store->create_session("e1", AgentId("erin"), now + std::chrono::minutes(1));
    b.store->create_session("c1", AgentId("carol"), now + std::chrono::hours(1));
    auto in = b.store->directory_users_signed_in(now);
    REQUIRE(in.size() == 2);
    CHECK(in[0].first.username == AgentId("dana"));
    CHECK(in[0].second == "uid=dana,dc=example");
    CHECK(b.store->directory_users_signed_in(now + std::chrono::minutes(5)).size() == 1);  // erin's expired
    b.store->end_sessions(AgentId("dana"));
    CHECK(!b.store->session_user("d1", now));
    CHECK(!b.store->session_user("d2", now));
    CHECK(b.store->session_user("c1", now));
    CHECK(b.store->directory_users_signed_in(now).size() == 1);
}

namespace {

/// Seven calls for the call log: three at one instant (ties), agents,
/// statuses, numbers and notes to filter on.
void store_call_log(CallLog& log) {
    auto put = [&](const std::string& id, int minute, const char* agent, CallStatus st, const char* from,
                   const char* notes, int wait) {
        auto c = ringing_call(id, at(minute));
        c.from = from;
        c.status = st;
        c.wait_seconds = wait;
        if (agent) {
            c.agent = AgentId(agent);
            c.answered_at = c.started_at + std::chrono::seconds(wait);
            c.ended_at = c.started_at + std::chrono::seconds(wait + 60);
            c.talk_seconds = 60;
        } else {
            c.ended_at = c.started_at + std::chrono::seconds(30);
        }
        log.upsert_call(c);
        if (*notes) log.set_disposition(c.id, "follow-up", notes);
    };
    put("main-10.1", 10, "alice", CallStatus::answered, "+989121111111", "Refund of order 77", 4);
    put("main-10.2", 20, "bob", CallStatus::answered, "+989122222222", "", 12);
    put("main-10.3", 20, nullptr, CallStatus::missed, "+989121111111", "", 30);
    put("main-10.4", 20, "alice", CallStatus::answered, "+989123333333", "asked about a REFUND", 2);
    put("main-10.5", 30, nullptr, CallStatus::abandoned, "+989124444444", "", 45);
    put("main-10.6", 40, "bob", CallStatus::answered, "+989121111111", "", 8);
    put("main-10.7", 50, "alice", CallStatus::answered, "+989125555555", "100% sure", 1);
}

std::vector<std::string> ids_of(const std::vector<CallRecord>& calls) {
    std::vector<std::string> out;
    for (const auto& c : calls) out.push_back(c.id.value());
    return out;
}

}  // namespace

TEST_CASE("the call log pages in its order, exactly across ties, with every filter") {
    Backend b;
    store_call_log(*b.store);
    CallReports& rep = *b.store;

    // Newest first, ties by id descending, two a page: every call once.
    CallFilter f;
    f.limit = 2;
    std::vector<std::string> seen;
    for (;;) {
        auto page = rep.list_call_page(f);
        for (auto& id : ids_of(page.calls)) seen.push_back(id);
        if (!page.next) break;
        f.after = page.next;
    }
    CHECK(seen == std::vector<std::string>{"main-10.7", "main-10.6", "main-10.5", "main-10.4", "main-10.3",
                                           "main-10.2", "main-10.1"});

    CallFilter by_wait;
    by_wait.sort = CallFilter::Sort::wait_seconds;
    by_wait.ascending = true;
    by_wait.limit = 3;
    auto w = rep.list_call_page(by_wait);
    CHECK(ids_of(w.calls) == std::vector<std::string>{"main-10.7", "main-10.4", "main-10.1"});
    REQUIRE(w.next);
    by_wait.after = w.next;
    CHECK(ids_of(rep.list_call_page(by_wait).calls) ==
          std::vector<std::string>{"main-10.6", "main-10.2", "main-10.3"});

    CallFilter alice;
    alice.agent = AgentId("alice");
    CHECK(ids_of(rep.list_calls(alice)) == std::vector<std::string>{"main-10.7", "main-10.4", "main-10.1"});
    CallFilter missed;
    missed.status = CallStatus::missed;
    CHECK(ids_of(rep.list_calls(missed)) == std::vector<std::string>{"main-10.3"});
    CallFilter number;
    number.phone = "+989121111111";
    number.since = at(15);
    CHECK(ids_of(rep.list_calls(number)) == std::vector<std::string>{"main-10.6", "main-10.3"});
    CallFilter text;
    text.text = "refund";  // either case, in the notes
    CHECK(ids_of(rep.list_calls(text)) == std::vector<std::string>{"main-10.4", "main-10.1"});
    text.text = "follow";  // in the disposition
    CHECK(rep.list_calls(text).size() == 3);
    text.text = "0%";  // a LIKE wildcard is a plain character here
    CHECK(ids_of(rep.list_calls(text)) == std::vector<std::string>{"main-10.7"});
    CallFilter range;
    range.since = at(20);
    range.until = at(40);
    CHECK(rep.list_calls(range).size() == 4);

    std::vector<std::string> streamed;
    rep.for_each_call(CallFilter{}, [&](const CallRecord& c) {
        streamed.push_back(c.id.value());
        return true;
    });
    CHECK(streamed == seen);
    std::size_t stopped = 0;
    rep.for_each_call(CallFilter{}, [&](const CallRecord&) { return ++stopped < 2; });
    CHECK(stopped == 2);
}

TEST_CASE("the wallboard's figures and the report count the calls of a range") {
    Backend b;
    store_call_log(*b.store);
    CallReports& rep = *b.store;
    const auto fig = rep.call_figures(at(0), at(60), 10);
    CHECK(fig.offered == 7);
    CHECK(fig.answered == 5);
    CHECK(fig.missed == 1);
    CHECK(fig.abandoned == 1);
    CHECK(fig.ringing == 0);
    CHECK(fig.answered_within == 4);  // waits 4, 2, 8, 1; not 12
    CHECK(fig.average_wait_seconds == doctest::Approx(27.0 / 5));
    CHECK(fig.average_talk_seconds == doctest::Approx(60));
    CHECK(fig.service_level == doctest::Approx(4.0 / 7));
    CHECK(rep.call_figures(at(100), at(200), 10).service_level == 1);

    ReportQuery q;
    q.since = day0 - std::chrono::hours(24);
    q.until = day0 + std::chrono::hours(48);
    const auto r = rep.call_report(q);
    REQUIRE(r.hourly.size() == 1);
    CHECK(r.hourly[0].answered == 5);
    CHECK(r.hourly[0].missed == 1);
    CHECK(r.hourly[0].abandoned == 1);
    REQUIRE(r.daily.size() == 1);
    CHECK(r.daily[0].start_ms == ms_of(day0));
    REQUIRE(r.agents.size() == 2);
    CHECK(r.agents[0].agent == "alice");
    CHECK(r.agents[0].answered == 3);
    CHECK(r.agents[0].talk_seconds == 180);
    REQUIRE(r.repeat_callers.size() == 1);
    CHECK(r.repeat_callers[0].number == "+989121111111");
    CHECK(r.repeat_callers[0].calls == 3);
    // Missed and abandoned, not answered later: the 10.3 caller was (10.6).
    CHECK(ids_of(r.missed_not_called_back) == std::vector<std::string>{"main-10.5"});

    // A local day three and a half hours east of UTC: no slot fits, all raw, the same counts.
    q.utc_offset_minutes = 210;
    const auto local = rep.call_report(q);
    REQUIRE(local.daily.size() == 1);
    CHECK(local.daily[0].answered == 5);
    CHECK(local.daily[0].start_ms == ms_of(day0 - std::chrono::minutes(210)));
}

TEST_CASE("retention blanks old notes, deletes old calls and audit entries, and audits itself") {
    Backend b;
    store_call_log(*b.store);
    AuditLog& audit = *b.store;
    for (int i = 0; i < 3; ++i) audit.audit("alice", "call.disposition", "old " + std::to_string(i), at(i));
    audit.audit("alice", "call.disposition", "new", at(45));
    Maintenance& m = *b.store;
    RetentionCutoffs cut;
    cut.call_notes_before = at(15);   // 10.1's notes
    cut.call_records_before = at(25); // 10.1 to 10.4
    cut.audit_before = at(5);
    const auto preview = m.preview_retention(cut);
    CHECK(preview.call_notes_blanked == 1);
    CHECK(preview.call_records_deleted == 4);
    CHECK(preview.audit_entries_deleted == 3);
    CHECK(b.store->find_call(CallId("main-10.1")));  // a preview changes nothing

    RetentionCutoffs notes_only;
    notes_only.call_notes_before = at(15);
    CHECK(m.apply_retention(notes_only, at(60)).call_notes_blanked == 1);
    auto blanked = b.store->find_call(CallId("main-10.1"));
    REQUIRE(blanked);
    CHECK(blanked->notes.empty());
    CHECK(blanked->disposition == "follow-up");  // the record keeps its figures and code

    const auto done = m.apply_retention(cut, at(61));
    CHECK(done.call_notes_blanked == 0);
    CHECK(done.call_records_deleted == 4);
    CHECK(done.audit_entries_deleted == 3);
    CHECK(!b.store->find_call(CallId("main-10.4")));
    CHECK(b.store->find_call(CallId("main-10.5")));
    CHECK(b.store->list_calls(CallFilter{}).size() == 3);
    const auto trail = b.store->list_audit(std::nullopt, 50);
    REQUIRE(!trail.empty());
    CHECK(trail[0].action == "retention.apply");
    CHECK(trail[0].detail.find("\"call_records_deleted\":4") != std::string::npos);
    for (const auto& e : trail) CHECK(e.detail.rfind("old ", 0) == std::string::npos);
    // Still append-only outside retention.
    CHECK(std::any_of(trail.begin(), trail.end(), [](const AuditEntry& e) { return e.detail == "new"; }));
}

TEST_CASE("a recount gives every computed score its history's value, and the histogram counts them") {
    Backend b;
    Customers& cs = *b.store;
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 5; ++i) {
        auto c = customer("Customer " + std::to_string(i), "+98912100000" + std::to_string(i));
        c.lifetime_value = 1000 * (i + 1);
        ids.push_back(cs.create_customer(c));
    }
    auto by_hand = customer("Set by hand", "+989121000009");
    by_hand.value_score = 9;
    const auto hand = cs.create_customer(by_hand);
    Maintenance& m = *b.store;
    m.recount_value_scores();
    b.store->wait_for_upkeep();
    const auto h = cs.value_score_histogram();
    std::int64_t scored = 0;
    for (std::size_t s = 1; s <= 10; ++s) scored += h[s];
    CHECK(scored == 6);
    CHECK(h[9] >= 1);
    CHECK(cs.find_customer(hand)->value_score == std::optional<int>(9));  // a score set by hand stays
    for (auto id : ids) CHECK(cs.find_customer(id)->value_score_computed);
    // The richest customer's money part is the top quartile's: never below the poorest's score.
    CHECK(*cs.find_customer(ids[4])->value_score >= *cs.find_customer(ids[0])->value_score);
}

TEST_CASE("agents' state changes are appended; the latest per agent, the state at a moment and a range read back") {
    Backend b;
    AgentStateLog& log = *b.store;
    const auto t0 = at(0);
    AgentStateChange c;
    c.agent = AgentId{"alice"};
    c.status.state = WorkState::not_ready;
    c.status.reason = "lunch";
    c.status.since = t0;
    c.by = "alice";
    log.append_agent_state(c);
    c.status = AgentStatus{WorkState::wrap_up, "", t0 + std::chrono::seconds(60), t0 + std::chrono::seconds(75)};
    c.by = "system";
    log.append_agent_state(c);
    c.agent = AgentId{"bob"};
    c.status = AgentStatus{WorkState::not_ready, "break", t0 + std::chrono::seconds(10), std::nullopt};
    c.by = "sam";
    log.append_agent_state(c);

    auto again = b.another();  // another node (or process) reads what this one wrote
    auto latest = again->latest_agent_states();
    REQUIRE(latest.size() == 2);
    std::sort(latest.begin(), latest.end(), [](const auto& x, const auto& y) { return x.agent < y.agent; });
    CHECK(latest[0].status ==
          AgentStatus{WorkState::wrap_up, "", t0 + std::chrono::seconds(60), t0 + std::chrono::seconds(75)});
    CHECK(latest[0].by == "system");
    CHECK(latest[1].status.reason == "break");
    auto alices = again->agent_state_changes(AgentId{"alice"}, t0, t0 + std::chrono::hours(1), 100);
    REQUIRE(alices.size() == 2);
    CHECK(alices[0].status.state == WorkState::not_ready);
    CHECK(alices[1].status.state == WorkState::wrap_up);
    CHECK(again->agent_state_changes(std::nullopt, t0, t0 + std::chrono::hours(1), 100).size() == 3);
    CHECK(again->agent_state_changes(std::nullopt, t0 + std::chrono::seconds(5), t0 + std::chrono::hours(1), 100)
              .size() == 2);
    CHECK(again->agent_state_changes(std::nullopt, t0, t0 + std::chrono::hours(1), 1).size() == 1);
    auto before = again->agent_states_before(t0 + std::chrono::seconds(30));
    REQUIRE(before.size() == 2);
    for (const auto& x : before) CHECK(x.status.state == WorkState::not_ready);
    CHECK(again->agent_states_before(t0).empty());
}

#if RINGSIDE_CONTRACT_PG
// PostgreSQL only: nodes that share one database each migrate it on start.
TEST_CASE("two nodes opening a new database at once migrate it once") {
    const auto url = contract::PgServer::get().fresh_database();
    std::atomic<int> failures{0};
    auto open = [&] {
        try {
            PostgresStore s(url);
            if (s.schema_version() != 11) ++failures;
        } catch (...) {
            ++failures;
        }
    };
    std::thread a(open), z(open);
    a.join();
    z.join();
    CHECK(failures == 0);
}

TEST_CASE("a server that is not there is named in the error") {
    CHECK_THROWS_WITH_AS(PostgresStore("postgresql://ringside@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"),
                         doctest::Contains("PostgreSQL at ringside@127.0.0.1:1/none: cannot connect"), StorageError);
}
#endif
