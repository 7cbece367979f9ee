// The customer file in a real SQLite file: search, import, edits with their
// audit trail, removal as a status, the timeline and issue history.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include <SQLiteCpp/SQLiteCpp.h>

#include "ringside/core/customers.hpp"
#include "ringside/storage/customer_import.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "store_fixture.hpp"

using namespace ringside;
namespace fs = std::filesystem;

namespace {

using store_test::TempDir;

const Timestamp t0 = Timestamp{std::chrono::milliseconds{1'795'000'000'000}};
const PhoneNormalizer& ir() {
    static const PhoneNormalizer p("IR");
    return p;
}

Customer make(const std::string& name, std::vector<std::string> phones, std::string email = "") {
    Customer c;
    c.name = name;
    c.phones = std::move(phones);
    c.email = std::move(email);
    c.created_at = t0;
    return c;
}

std::vector<std::string> names(const std::vector<Customer>& v) {
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(c.name);
    std::sort(out.begin(), out.end());
    return out;
}

CustomerQuery by_name(const std::string& text) {
    CustomerQuery q;
    const auto folded = fold_for_search(text);
    std::size_t start = 0;
    while (start < folded.size()) {
        auto end = folded.find(' ', start);
        if (end == std::string::npos) end = folded.size();
        q.terms.push_back(folded.substr(start, end - start));
        start = end + 1;
    }
    return q;
}

}  // namespace

TEST_CASE("customers are found by name words in any script, number, email, tag and filters") {
    TempDir d;
    SqliteStore s(d.path / "r.db");
    auto sara = make("Sara Ahmadi", {"+989121234567"}, "Sara@Example.com");
    sara.tags = {"vip"};
    sara.tier = "gold";
    sara.value_score = 9;
    s.create_customer(sara);
    auto ali = make("علي كريمي", {"+989351112233"});  // Arabic yeh and kaf
    ali.groups = {"north"};
    ali.kind = "lead";
    s.create_customer(ali);
    s.create_customer(make("José Álvarez", {"+982188881234"}));

    CHECK(names(s.search_customers(by_name("ahm"))) == std::vector<std::string>{"Sara Ahmadi"});
    CHECK(names(s.search_customers(by_name("SARA ahmadi"))) == std::vector<std::string>{"Sara Ahmadi"});
    CHECK(s.search_customers(by_name("sara karimi")).empty());
    CHECK(names(s.search_customers(by_name("کریم"))) == std::vector<std::string>{"علي كريمي"});  // Persian letters
    CHECK(names(s.search_customers(by_name("jose alv"))) == std::vector<std::string>{"José Álvarez"});
    CustomerQuery q;
    q.phone = ir().normalize("۰۹۱۲ ۱۲۳ ۴۵۶۷")->e164();
    CHECK(names(s.search_customers(q)) == std::vector<std::string>{"Sara Ahmadi"});
    q = {};
    q.email = "sara@EXAMPLE.com";
    CHECK(names(s.search_customers(q)) == std::vector<std::string>{"Sara Ahmadi"});
    q = {};
    q.tag = "vip";
    CHECK(names(s.search_customers(q)) == std::vector<std::string>{"Sara Ahmadi"});
    q = {};
    q.group = "north";
    q.kind = "lead";
    CHECK(names(s.search_customers(q)) == std::vector<std::string>{"علي كريمي"});
    q = {};
    q.min_score = 8;
    CHECK(names(s.search_customers(q)) == std::vector<std::string>{"Sara Ahmadi"});
    q = {};
    q.tier = "gold";
    q.terms = {"sara"};
    CHECK(s.search_customers(q).size() == 1);
    CHECK(s.search_customers(CustomerQuery{}).size() == 3);
}

TEST_CASE("a name word of 3 characters or more is found inside words; a shorter one only at a word's start") {
    TempDir d;
    const auto file = d.path / "r.db";
    std::int64_t sara_id = 0;
    {
        SqliteStore s(file);
        auto sara = make("Sara Ahmadi", {"+989121234567"}, "sara@example.com");
        sara.company = "Bluewater Trading";
        sara_id = s.create_customer(sara);
        s.create_customer(make("علي كريمي", {"+989351112233"}));
        s.create_customer(make("Mahmoud Hamadani", {"+982188881234"}));

        CHECK(names(s.search_customers(by_name("hmad"))) == std::vector<std::string>{"Sara Ahmadi"});
        CHECK(names(s.search_customers(by_name("AHM"))) ==
              std::vector<std::string>{"Mahmoud Hamadani", "Sara Ahmadi"});  // AHMadi, mAHMoud
        CHECK(names(s.search_customers(by_name("water"))) == std::vector<std::string>{"Sara Ahmadi"});  // company
        CHECK(names(s.search_customers(by_name("ریم"))) == std::vector<std::string>{"علي كريمي"});  // inside, Persian
        CHECK(names(s.search_customers(by_name("ara hmad"))) == std::vector<std::string>{"Sara Ahmadi"});
        CHECK(s.search_customers(by_name("ara hmadani")).empty());   // both words must match
        CHECK(s.search_customers(by_name("di sa")).empty());         // across words: no
        CHECK(s.search_customers(by_name("hm")).empty());             // two letters: a word's start only
        CHECK(names(s.search_customers(by_name("ha"))) == std::vector<std::string>{"Mahmoud Hamadani"});
        CHECK(names(s.search_customers(by_name("sa hmad"))) == std::vector<std::string>{"Sara Ahmadi"});
        CustomerQuery q = by_name("hmad");
        q.phone = "+989121234567";
        CHECK(s.search_customers(q).size() == 1);
        q.terms = {"zzz"};
        CHECK(s.search_customers(q).empty());

        // A renamed customer is found by the new name only.
        auto after = *s.find_customer(sara_id);
        after.name = "Sara Moradi";
        after.company = "";
        REQUIRE(s.update_customer(after, "bob", "customer.update", "{}", t0));
        CHECK(s.search_customers(by_name("hmad")).empty());
        CHECK(names(s.search_customers(by_name("orad"))) == std::vector<std::string>{"Sara Moradi"});
        // Newest first, and the limit stops the walk.
        q = by_name("ara");
        q.limit = 1;
        REQUIRE(s.search_customers(q).size() == 1);
    }
    // A file from before the trigram index (its migration leaves it empty
    // and marked for filling): the store fills it in the background, and a
    // search meanwhile matches word starts, never nothing.
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        db.exec("DELETE FROM customer_names");
        db.exec("INSERT INTO store_meta (key, value) VALUES ('customer_names_fill_from', 0)");
    }
    SqliteStore s(file);
    const auto early = names(s.search_customers(by_name("mora")));
    CHECK(early == std::vector<std::string>{"Sara Moradi"});
    s.wait_for_upkeep();
    CHECK(names(s.search_customers(by_name("orad"))) == std::vector<std::string>{"Sara Moradi"});
    CHECK(names(s.search_customers(by_name("amadan"))) == std::vector<std::string>{"Mahmoud Hamadani"});
    SQLite::Database db(file.string());
    CHECK(db.execAndGet("SELECT count(*) FROM store_meta WHERE key = 'customer_names_fill_from'").getInt() == 0);
}

TEST_CASE("an edit is stored with its audit entry and a removal keeps the file with who and why") {
    TempDir d;
    const auto file = d.path / "r.db";
    std::int64_t id = 0;
    {
        SqliteStore s(file);
        id = s.create_customer_audited(make("Sara", {"+989121234567"}), "alice", "{}", t0);
        auto before = *s.find_customer(id);
        auto after = before;
        after.name = "Sara Ahmadi";
        after.phones.push_back("+982188881234");
        after.phone_labels = {"", "work"};
        after.notes = "card 4111 1111 1111 1111";
        const auto diff = customer_diff(before, after);
        REQUIRE(s.update_customer(after, "bob", "customer.update", diff.dump(), t0));
        auto stored = *s.find_customer(id);
        CHECK(stored.name == "Sara Ahmadi");
        CHECK(stored.phone_labels == std::vector<std::string>{"", "work"});
        CHECK(stored.notes.find("4111 1111 1111 1111") == std::string::npos);
        CHECK(names(s.search_customers(by_name("ahmadi"))) == std::vector<std::string>{"Sara Ahmadi"});
        CHECK(s.customer_context_by_phone("+982188881234"));

        auto removed = stored;
        removed.status = "removed";
        removed.removed_by = "carol";
        removed.removed_reason = "asked to be forgotten";
        removed.removed_at = t0;
        REQUIRE(s.update_customer(removed, "carol", "customer.remove", "{}", t0));
        CHECK_FALSE(s.customer_context_by_phone("+989121234567"));  // no pop for a removed customer
        CHECK(s.search_customers(by_name("sara")).empty());
        CustomerQuery q = by_name("sara");
        q.include_removed = true;
        CHECK(s.search_customers(q).size() == 1);
        CHECK(s.find_customer(id)->removed_reason == "asked to be forgotten");
        CHECK_FALSE(s.update_customer(make("x", {}), "bob", "customer.update", "{}", t0));  // id 0: none
    }
    SQLite::Database db(file.string());
    SQLite::Statement q(db, "SELECT actor, action, detail FROM audit_log ORDER BY id");
    std::vector<std::string> actions;
    std::string update_detail;
    while (q.executeStep()) {
        actions.push_back(q.getColumn(0).getString() + " " + q.getColumn(1).getString());
        if (q.getColumn(1).getString() == "customer.update") update_detail = q.getColumn(2).getString();
    }
    CHECK(actions == std::vector<std::string>{"alice customer.create", "bob customer.update", "carol customer.remove"});
    CHECK(update_detail.find("\"before\":\"Sara\"") != std::string::npos);
    CHECK(update_detail.find("4111 1111 1111 1111") == std::string::npos);
    CHECK(db.execAndGet("SELECT count(*) FROM customers").getInt() == 1);  // never deleted
}

TEST_CASE("a CSV import finds duplicates by number or email, dry runs store nothing, and re-runs change nothing") {
    TempDir d;
    SqliteStore s(d.path / "r.db");
    s.create_customer(make("Existing", {"+989121234567"}, "old@example.com"));
    const std::string csv =
        "name,phones,email\n"
        "New One,09351112233,new@example.com\n"
        "Old By Number,+98-912-123-4567,\n"
        "Old By Mail,09350000009,OLD@example.com\n"
        "Broken,,\n";
    auto dry = run_customer_import(s, csv, ir(), CustomerRules{}, true, "cli");
    CHECK(dry.imported == 1);
    CHECK(dry.already_present == 2);
    CHECK(dry.rejected == 1);
    CHECK(s.customer_count() == 1);

    auto real = run_customer_import(s, csv, ir(), CustomerRules{}, false, "cli", 1);
    CHECK(real.imported == 1);
    CHECK(real.already_present == 2);
    REQUIRE(real.rows.size() == 3);
    CHECK(real.rows[0].row == 3);
    CHECK(real.rows[0].reason.find("same phone as customer") == 0);
    CHECK(real.rows[1].reason.find("same email as customer") == 0);
    CHECK(real.rows[2].status == "rejected");
    CHECK(s.customer_count() == 2);

    auto again = run_customer_import(s, csv, ir(), CustomerRules{}, false, "cli");
    CHECK(again.imported == 0);
    CHECK(again.already_present == 3);
    CHECK(s.customer_count() == 2);
}

TEST_CASE("the timeline holds every kind of interaction and issues keep a history of changes") {
    TempDir d;
    SqliteStore s(d.path / "r.db");
    const auto id = s.create_customer(make("Sara", {"+989121234567"}));
    std::vector<Interaction> batch;
    for (int k = 0; k < 3; ++k) {
        Interaction i;
        i.customer_id = id;
        i.at = t0 + std::chrono::minutes(k);
        i.channel = k == 0 ? "visit" : k == 1 ? "email" : "note";
        i.summary = "card 4111111111111111 mentioned";
        batch.push_back(i);
    }
    s.add_interactions(batch);
    auto tl = s.customer_timeline(id, std::nullopt, 10);
    REQUIRE(tl.size() == 3);
    CHECK(tl[0].channel == "note");
    CHECK(tl[2].channel == "visit");
    CHECK(tl[0].summary.find("4111111111111111") == std::string::npos);
    CHECK(s.customer_timeline(id, t0 + std::chrono::minutes(1), 10).size() == 1);

    Issue i;
    i.customer_id = id;
    i.title = "Refund";
    i.opened_at = t0;
    i.priority = "high";
    i.id = s.create_issue(i);
    auto after = i;
    after.status = "resolved";
    after.resolved_at = t0;
    after.owner = "bob";
    REQUIRE(s.update_issue(after, {{t0, "bob", "status", "open", "resolved"}, {t0, "bob", "owner", "", "bob"}}));
    auto stored = *s.find_issue(i.id);
    CHECK(stored.priority == "high");
    CHECK(stored.owner == "bob");
    CHECK(s.issue_history(i.id).size() == 2);
    CHECK(s.customer_issues(id).size() == 1);
    auto ctx = s.customer_context(id);
    REQUIRE(ctx);
    CHECK(ctx->complaints == 1);
    CHECK(ctx->recent_interactions.size() == 3);
}

TEST_CASE("imported orders make the lifetime value, once per order, with the change audited") {
    TempDir d;
    const auto file = d.path / "r.db";
    {
        SqliteStore s(file);
        const auto sara = s.create_customer(make("Sara", {"+989121234567"}, "sara@example.com"));
        const std::string csv =
            "order_id,phone,email,amount,at\n"
            "A-1,0912 123 4567,,1500,2026-01-02\n"
            "A-2,,SARA@example.com,۲۵۰۰,\n"
            "A-3,09350000000,,100,\n"            // nobody has this number
            "A-4,0912 123 4567,,12.5,\n"          // not a whole number
            "A-1,+989121234567,,9999,\n";         // the same order again
        auto dry = run_orders_import(s, csv, ir(), true, "cli");
        CHECK(dry.imported == 2);
        CHECK_FALSE(s.find_customer(sara)->lifetime_value.has_value());
        auto r = run_orders_import(s, csv, ir(), false, "cli");
        CHECK(r.imported == 2);
        CHECK(r.already_present == 1);
        CHECK(r.rejected == 2);
        CHECK(s.find_customer(sara)->lifetime_value == 4000);
        auto again = run_orders_import(s, csv, ir(), false, "cli");
        CHECK(again.imported == 0);
        CHECK(s.find_customer(sara)->lifetime_value == 4000);
        CHECK(run_orders_import(s, "order_id,amount\n", ir(), false, "cli").fatal);
    }
    SQLite::Database db(file.string());
    CHECK(db.execAndGet("SELECT count(*) FROM audit_log WHERE action = 'customer.update'").getInt() == 1);
}

TEST_CASE("a computed value score follows interactions, issues and orders; one set by hand stays") {
    TempDir d;
    const auto file = d.path / "r.db";
    SqliteStore s(file);
    const auto now = now_ms();
    auto fresh = make("Nima", {"+989121110000"});
    fresh.created_at = now;
    const auto nima = s.create_customer(fresh);
    auto stored = *s.find_customer(nima);
    CHECK(stored.value_score == 1);  // nothing known yet
    CHECK(stored.value_score_computed);

    // A call today: recency 3, frequency 1.
    Interaction call;
    call.customer_id = nima;
    call.at = now - std::chrono::hours(2);
    call.status = "answered";
    s.add_interaction(call);
    CHECK(s.find_customer(nima)->value_score == 5);
    // Four contacts this year: frequency 2.
    std::vector<Interaction> more(3, call);
    for (std::size_t k = 0; k < more.size(); ++k) more[k].at = now - std::chrono::days(10 * static_cast<int>(k + 1));
    s.add_interactions(more);
    CHECK(s.find_customer(nima)->value_score == 6);
    // Two unresolved issues cost a point; resolving one gives it back.
    Issue issue;
    issue.customer_id = nima;
    issue.title = "late delivery";
    issue.opened_at = now;
    const auto first = s.create_issue(issue);
    s.create_issue(issue);
    CHECK(s.find_customer(nima)->value_score == 5);
    REQUIRE(s.set_issue_status(first, "resolved", now));
    CHECK(s.find_customer(nima)->value_score == 6);
    // Orders: the only customer with a lifetime value is in the top quarter.
    auto r = run_orders_import(s, "order_id,phone,amount\nN-1,09121110000,800\n", ir(), false, "cli");
    REQUIRE(r.imported == 1);
    CHECK(s.find_customer(nima)->value_score == 9);  // money 3: the only lifetime value is the top one

    // A score set by hand wins over the history, and null hands it back.
    auto edit = *s.find_customer(nima);
    REQUIRE(edit.value_score_computed);
    edit.value_score = 2;
    edit.value_score_computed = false;
    REQUIRE(s.update_customer(edit, "sup", "customer.update", "{}", now));
    s.add_interaction(call);
    stored = *s.find_customer(nima);
    CHECK(stored.value_score == 2);
    CHECK_FALSE(stored.value_score_computed);
    edit = stored;
    edit.value_score.reset();
    REQUIRE(s.update_customer(edit, "sup", "customer.update", "{}", now));
    stored = *s.find_customer(nima);
    CHECK(stored.value_score == 9);
    CHECK(stored.value_score_computed);
    // Imported scores are set by hand; customers without one are computed.
    auto set = make("Set By Hand", {"+989121110001"});
    set.value_score = 9;
    const auto by_hand = s.create_customer(set);
    CHECK_FALSE(s.find_customer(by_hand)->value_score_computed);
    // The quartile segment counts computed scores too.
    const auto h = s.value_score_histogram();
    CHECK(h[9] == 2);
}

TEST_CASE("the evaluation filters: lifetime value, complaints, open issues, last contact, relationship length") {
    TempDir d;
    SqliteStore s(d.path / "r.db");
    const auto now = now_ms();
    auto rich = make("Rich Loyal", {"+989121110010"});
    rich.lifetime_value = 90000;
    rich.customer_since = now - std::chrono::days(1000);
    const auto rich_id = s.create_customer(rich);
    const auto angry_id = s.create_customer(make("Angry Recent", {"+989121110011"}));
    s.create_customer(make("Quiet Nobody", {"+989121110012"}));
    Interaction call;
    call.customer_id = angry_id;
    call.at = now - std::chrono::days(2);
    s.add_interaction(call);
    call.customer_id = rich_id;
    call.at = now - std::chrono::days(200);
    s.add_interaction(call);
    Issue issue;
    issue.customer_id = angry_id;
    issue.title = "broken";
    issue.opened_at = now;
    const auto first = s.create_issue(issue);
    s.create_issue(issue);
    REQUIRE(s.set_issue_status(first, "resolved", now));

    auto find = [&](auto set) {
        CustomerQuery q;
        set(q);
        return names(s.search_customers(q));
    };
    using V = std::vector<std::string>;
    CHECK(find([](CustomerQuery& q) { q.min_lifetime_value = 50000; }) == V{"Rich Loyal"});
    CHECK(find([](CustomerQuery& q) { q.min_complaints = 2; }) == V{"Angry Recent"});
    CHECK(find([](CustomerQuery& q) { q.min_complaints = 3; }).empty());
    CHECK(find([](CustomerQuery& q) { q.with_open_issues = true; }) == V{"Angry Recent"});
    CHECK(find([&](CustomerQuery& q) { q.contacted_since = now - std::chrono::days(30); }) == V{"Angry Recent"});
    CHECK(find([&](CustomerQuery& q) { q.not_contacted_since = now - std::chrono::days(30); }) ==
          V{"Quiet Nobody", "Rich Loyal"});
    CHECK(find([&](CustomerQuery& q) { q.customer_before = now - std::chrono::days(730); }) == V{"Rich Loyal"});
    // Combined with AND, and with the other filters.
    CHECK(find([&](CustomerQuery& q) {
              q.not_contacted_since = now - std::chrono::days(90);
              q.min_lifetime_value = 1;
          }) == V{"Rich Loyal"});
}

TEST_CASE("the daily recount ages computed scores and resumes where it stopped") {
    TempDir d;
    const auto file = d.path / "r.db";
    const auto now = now_ms();
    std::int64_t id = 0, by_hand = 0;
    {
        SqliteStore s(file);
        id = s.create_customer(make("Leila", {"+989121110002"}));
        auto set = make("Set", {"+989121110003"});
        set.value_score = 9;
        by_hand = s.create_customer(set);
        Interaction call;
        call.customer_id = id;
        call.at = now - std::chrono::days(1);
        s.add_interaction(call);
        REQUIRE(s.find_customer(id)->value_score == 5);
        s.wait_for_upkeep();
    }
    // Time passes: the contact is 100 days old and no write touches the
    // customer. The recount is due (last one more than a day ago).
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        const auto shift = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::days(99)).count();
        db.exec("UPDATE interactions SET at = at - " + std::to_string(shift));
        db.exec("UPDATE store_meta SET value = value - 2 * 86400000 WHERE key = 'value_sweep_at'");
        CHECK(db.execAndGet("SELECT count(*) FROM store_meta WHERE key = 'value_sweep_at'").getInt() == 1);
    }
    {
        SqliteStore s(file);
        s.wait_for_upkeep();
        CHECK(s.find_customer(id)->value_score == 3);  // 1 + recency 1 (within a year) + frequency 1
        CHECK(s.find_customer(by_hand)->value_score == 9);
    }
    // An unfinished recount (the process stopped mid-way) resumes from its mark.
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        db.exec("UPDATE customers SET value_score = 8 WHERE id = " + std::to_string(id));
        db.exec("INSERT INTO store_meta (key, value) VALUES ('value_sweep_from', 0)");
    }
    SqliteStore s(file);
    s.wait_for_upkeep();
    CHECK(s.find_customer(id)->value_score == 3);
    SQLite::Database db(file.string());
    CHECK(db.execAndGet("SELECT count(*) FROM store_meta WHERE key = 'value_sweep_from'").getInt() == 0);
}

TEST_CASE("the customer audit trail lists customer entries newest first, by customer, in pages") {
    TempDir d;
    SqliteStore s(d.path / "r.db");
    const auto a = s.create_customer_audited(make("Sara", {"+989121234567"}), "alice", "{}", t0);
    const auto b = s.create_customer_audited(make("Reza", {"+989121234568"}), "alice", "{}", t0);
    s.audit("bob", "login", "{}", t0);                               // not about customers
    s.audit("bob", "customers.export", "{\"filter\":{}}", t0);
    s.audit("bob", "customer.update", "not json at all", t0);        // a detail that is not JSON is skipped by id
    auto after = *s.find_customer(a);
    after.company = "Acme";
    REQUIRE(s.update_customer(after, "bob", "customer.update", "{\"id\":" + std::to_string(a) + "}", t0));

    auto all = s.list_customer_audit(std::nullopt, std::nullopt, 10);
    std::vector<std::string> actions;
    for (const auto& e : all) actions.push_back(e.action);
    CHECK(actions == std::vector<std::string>{"customer.update", "customer.update", "customers.export",
                                              "customer.create", "customer.create"});
    auto mine = s.list_customer_audit(a, std::nullopt, 10);
    REQUIRE(mine.size() == 2);
    CHECK(mine[0].action == "customer.update");
    CHECK(mine[0].actor == "bob");
    CHECK(mine[1].action == "customer.create");
    CHECK(s.list_customer_audit(b, std::nullopt, 10).size() == 1);
    CHECK(s.list_customer_audit(999, std::nullopt, 10).empty());

    auto first = s.list_customer_audit(std::nullopt, std::nullopt, 2);
    REQUIRE(first.size() == 2);
    auto rest = s.list_customer_audit(std::nullopt, first.back().id, 10);
    CHECK(rest.size() == 3);
    CHECK(rest.front().id < first.back().id);
}
