// The customer file through the real `ringside` binary and a real SQLite
// file: profile and evaluation on the pop, search, edits with their audit
// trail, timeline, issue history, removal as a status, per-role fields, CSV
// import (API and CLI) and export.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>

#include <SQLiteCpp/SQLiteCpp.h>

#include "site.hpp"

using namespace ringside;
using namespace ringside::test;
using json = nlohmann::json;

namespace {

std::string today_birthday() {
    const auto now = std::chrono::system_clock::now();
    const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(now)};
    char buf[16];
    std::snprintf(buf, sizeof buf, "1990-%02u-%02u", static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    // 29 February is celebrated on the 28th: a fixed leap-year birthday keeps the test simple.
    return buf;
}

std::string path_of(std::int64_t id, const std::string& rest = "") { return "/api/customers/" + std::to_string(id) + rest; }

std::vector<std::string> audit_actions(const std::filesystem::path& db_file) {
    SQLite::Database db(db_file.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT actor || ' ' || action FROM audit_log WHERE action LIKE 'customer.%' ORDER BY id");
    std::vector<std::string> out;
    while (q.executeStep()) out.push_back(q.getColumn(0).getString());
    return out;
}

}  // namespace

TEST_CASE("the customer file: create, search, edit with audit, timeline, issues, pop, removal, export, import") {
    Site site;
    REQUIRE(site.add_user("alice", "agent", "1001") == 0);
    REQUIRE(site.add_user("sam", "supervisor", "") == 0);
    site.start_pbx();
    site.start_ringside();
    const auto sam = site.token("sam");
    const auto alice = site.token("alice");
    const auto port = site.port;

    // ---- create: an agent may not set the value score; a supervisor may.
    json body = {{"name", "Sara Ahmadi"},
                 {"salutation", "Ms."},
                 {"phones", {{{"number", "0912 123 4567"}, {"label", "mobile"}}, "021 8888 1234"}},
                 {"email", "sara@example.com"},
                 {"birthday", today_birthday()},
                 {"tier", "gold"},
                 {"tags", {"vip"}},
                 {"groups", {"north"}},
                 {"value_score", 9},
                 {"lifetime_value", 125000},
                 {"notes", "paid with 4111 1111 1111 1111"}};
    auto forbidden = http(port, "POST", "/api/customers", body.dump(), alice);
    CHECK(forbidden.status == 403);
    CHECK(forbidden.json()["message"].get<std::string>().find("value_score") != std::string::npos);
    auto created = http(port, "POST", "/api/customers", body.dump(), sam);
    REQUIRE(created.status == 201);
    const auto id = created.json()["id"].get<std::int64_t>();
    auto other = http(port, "POST", "/api/customers",
                      json{{"name", "علي كريمي"}, {"phones", {"۰۹۳۵۱۱۱۲۲۳۳"}}, {"value_score", 2}}.dump(), sam);
    REQUIRE(other.status == 201);
    auto bad = http(port, "POST", "/api/customers", json{{"name", "X"}, {"phones", {"0912", "nope"}}}.dump(), alice);
    CHECK(bad.status == 400);
    CHECK(bad.json()["message"].get<std::string>().find("phones[0]") != std::string::npos);

    // ---- search: name prefix in any script, number in any format, email, tag, segment.
    auto found = [&](const std::string& query, const std::string& token) {
        auto r = http(port, "GET", "/api/customers?" + query, "", token);
        REQUIRE(r.status == 200);
        std::vector<std::int64_t> ids;
        const auto j = r.json();  // alive for the loop: a temporary's element would dangle
        for (const auto& c : j["customers"]) ids.push_back(c["id"].get<std::int64_t>());
        return ids;
    };
    const auto other_id = other.json()["id"].get<std::int64_t>();
    CHECK(found("q=ahm", alice) == std::vector<std::int64_t>{id});
    CHECK(found("q=%DA%A9%D8%B1%DB%8C%D9%85", alice) == std::vector<std::int64_t>{other_id});  // "کریم", Persian letters
    CHECK(found("q=%2B98%20912%20123%204567", alice) == std::vector<std::int64_t>{id});
    CHECK(found("phone=09121234567", alice) == std::vector<std::int64_t>{id});
    CHECK(found("q=SARA%40example.com", alice) == std::vector<std::int64_t>{id});
    CHECK(found("tag=vip", alice) == std::vector<std::int64_t>{id});
    CHECK(found("group=north&tier=gold", alice) == std::vector<std::int64_t>{id});
    CHECK(http(port, "GET", "/api/customers?min_score=11", "", alice).status == 400);
    CHECK(found("min_lifetime_value=100000", sam) == std::vector<std::int64_t>{id});
    CHECK(http(port, "GET", "/api/customers?min_lifetime_value=1", "", alice).status == 403);  // agents never see it
    CHECK(found("not_contacted_within_days=30&tier=gold", alice) == std::vector<std::int64_t>{id});
    auto bad_days = http(port, "GET", "/api/customers?contacted_within_days=-3", "", alice);
    CHECK(bad_days.status == 400);
    CHECK(bad_days.json()["message"].get<std::string>().find("contacted_within_days") != std::string::npos);

    // ---- the file per role: agents never see lifetime value.
    auto as_alice = http(port, "GET", path_of(id), "", alice).json();
    CHECK_FALSE(as_alice.contains("lifetime_value"));
    CHECK_FALSE(as_alice["evaluation"].contains("lifetime_value"));
    CHECK(as_alice["birthday_today"] == true);
    CHECK(as_alice["notes"].get<std::string>().find("4111 1111 1111 1111") == std::string::npos);
    CHECK(as_alice["phone_details"][0]["label"] == "mobile");
    auto as_sam = http(port, "GET", path_of(id), "", sam).json();
    CHECK(as_sam["lifetime_value"] == 125000);
    CHECK(as_sam["evaluation"]["value_score"] == 9);

    // ---- edit: audited with before and after.
    auto edit = http(port, "PATCH", path_of(id), json{{"company", "Ahmadi & Sons"}, {"preferred_channel", "sms"}}.dump(), alice);
    REQUIRE(edit.status == 200);
    CHECK(edit.json()["company"] == "Ahmadi & Sons");
    CHECK(http(port, "PATCH", path_of(id), json{{"preferred_channel", "pigeon"}}.dump(), alice).status == 400);
    CHECK(found("q=sons", alice) == std::vector<std::int64_t>{id});

    // ---- timeline: a visit added by hand, card number masked.
    auto visit = http(port, "POST", path_of(id, "/interactions"),
                      json{{"channel", "visit"}, {"summary", "came in; card 4111-1111-1111-1111 declined"}}.dump(), alice);
    REQUIRE(visit.status == 201);
    CHECK(http(port, "POST", path_of(id, "/interactions"), json{{"channel", "fax"}, {"summary", "x"}}.dump(), alice).status ==
          400);

    // ---- issues: priority, owner, history.
    auto issue = http(port, "POST", path_of(id, "/issues"),
                      json{{"title", "Refund not received"}, {"priority", "high"}}.dump(), alice);
    REQUIRE(issue.status == 201);
    const auto issue_id = issue.json()["id"].get<std::int64_t>();
    auto patched = http(port, "PATCH", "/api/issues/" + std::to_string(issue_id),
                        json{{"owner", "alice"}, {"priority", "urgent"}}.dump(), alice);
    REQUIRE(patched.status == 200);
    CHECK(patched.json()["priority"] == "urgent");
    CHECK(patched.json()["history"].size() == 3);  // created, priority, owner
    CHECK(http(port, "PATCH", "/api/issues/" + std::to_string(issue_id), json{{"priority", "meh"}}.dump(), alice).status ==
          400);

    // ---- the pop: evaluation, birthday, no lifetime value; the call lands on the timeline.
    REQUIRE(site.wait_pbx_linked());
    WsClient ws(port, alice);
    site.call("0912 123 4567", {"1001"}, sim::Outcome::answered, 800ms, 500ms);
    auto ring = ws.next_of("call.ringing");
    REQUIRE(ring);
    CHECK((*ring)["customer"]["id"] == id);
    CHECK((*ring)["birthday_today"] == true);
    CHECK((*ring)["evaluation"]["value_score"] == 9);
    CHECK((*ring)["evaluation"]["value_quartile"] == 4);
    CHECK((*ring)["evaluation"]["complaints"] == 1);
    CHECK((*ring)["evaluation"]["last_contact"]["channel"] == "visit");
    CHECK_FALSE((*ring)["evaluation"].contains("lifetime_value"));
    CHECK_FALSE((*ring)["customer"].contains("lifetime_value"));
    REQUIRE(ws.next_of("call.ended", 10s));
    bool call_logged = false;
    for (int i = 0; i < 50 && !call_logged; ++i) {
        auto tl = http(port, "GET", path_of(id, "/timeline"), "", alice).json()["interactions"];
        for (const auto& e : tl) call_logged = call_logged || e["channel"] == "call";
        if (!call_logged) std::this_thread::sleep_for(100ms);
    }
    CHECK(call_logged);
    auto tl = http(port, "GET", path_of(id, "/timeline"), "", alice).json()["interactions"];
    bool visit_masked = false;
    for (const auto& e : tl)
        if (e["channel"] == "visit") visit_masked = e["summary"].get<std::string>().find("4111-1111-1111-1111") == std::string::npos;
    CHECK(visit_masked);

    // ---- export: supervisors only, streamed CSV, cards masked.
    CHECK(http(port, "GET", "/api/customers.csv", "", alice).status == 403);
    auto csv = http(port, "GET", "/api/customers.csv?tag=vip", "", sam);
    REQUIRE(csv.status == 200);
    CHECK(csv.body.rfind("id,name,salutation,phones", 0) == 0);
    CHECK(csv.body.find("Sara Ahmadi") != std::string::npos);
    CHECK(csv.body.find("mobile:+989121234567") != std::string::npos);
    CHECK(csv.body.find("4111 1111 1111 1111") == std::string::npos);
    CHECK(csv.body.find(",set\r\n") != std::string::npos);  // Sara's score was set by hand
    auto issues_csv = http(port, "GET", "/api/issues.csv", "", sam);
    REQUIRE(issues_csv.status == 200);
    CHECK(issues_csv.body.find("Refund not received") != std::string::npos);

    // ---- removal is a status with who and why, for supervisors only.
    CHECK(http(port, "DELETE", path_of(other_id), json{{"reason", "duplicate"}}.dump(), alice).status == 403);
    CHECK(http(port, "DELETE", path_of(other_id), "{}", sam).status == 400);
    auto removed = http(port, "DELETE", path_of(other_id), json{{"reason", "asked to be forgotten"}}.dump(), sam);
    REQUIRE(removed.status == 200);
    CHECK(removed.json()["status"] == "removed");
    CHECK(removed.json()["removed_by"] == "sam");
    CHECK(http(port, "GET", path_of(other_id), "", alice).status == 404);
    CHECK(http(port, "GET", path_of(other_id), "", sam).json()["removed_reason"] == "asked to be forgotten");
    CHECK(found("q=%DA%A9%D8%B1%DB%8C%D9%85", alice).empty());
    CHECK(http(port, "GET", "/api/customers?include_removed=1&q=%DA%A9%D8%B1%DB%8C%D9%85", "", alice).status == 403);
    CHECK(found("include_removed=1&q=%DA%A9%D8%B1%DB%8C%D9%85", sam) == std::vector<std::int64_t>{other_id});

    // ---- import over the API: a dry run, then for real, then again (nothing changes).
    const std::string import_csv =
        "name,phones,email,notes\n"
        "Reza Mohammadi,۰۹۱۲۷۷۷۸۸۹۹,reza@example.com,card 4111111111111111 on file\n"
        "Sara Again,+98 912 123 45 67,,\n"          // Sara's number in another format
        "No Number,,,\n"
        "Bad Row,0912,too,many,fields\n";
    CHECK(http(port, "POST", "/api/customers/import?dry_run=1", import_csv, alice).status == 403);
    auto dry = http(port, "POST", "/api/customers/import?dry_run=1", import_csv, sam);
    REQUIRE(dry.status == 200);
    CHECK(dry.json()["imported"] == 1);
    CHECK(dry.json()["already_present"] == 1);
    CHECK(dry.json()["rejected"] == 2);
    CHECK(found("q=reza", sam).empty());
    auto real = http(port, "POST", "/api/customers/import", import_csv, sam);
    REQUIRE(real.status == 200);
    CHECK(real.json()["imported"] == 1);
    CHECK(real.json()["rows"][0]["row"] == 3);
    CHECK(real.json()["rows"][0]["customer_id"] == id);
    const auto reza = found("q=reza", sam);
    REQUIRE(reza.size() == 1);
    CHECK(http(port, "GET", path_of(reza[0]), "", sam).json()["notes"].get<std::string>().find("4111111111111111") ==
          std::string::npos);
    auto again = http(port, "POST", "/api/customers/import", import_csv, sam);
    CHECK(again.json()["imported"] == 0);
    CHECK(again.json()["already_present"] == 2);
    CHECK(http(port, "POST", "/api/customers/import", "name,shoe\n", sam).status == 400);

    // ---- orders make the lifetime value; supervisors see it, agents never.
    const std::string orders = "order_id,phone,amount\nR-1,۰۹۱۲۷۷۷۸۸۹۹,700\nR-2,09127778899,300\nR-3,09000000000,5\n";
    CHECK(http(port, "POST", "/api/orders/import", orders, alice).status == 403);
    auto ord = http(port, "POST", "/api/orders/import", orders, sam);
    REQUIRE(ord.status == 200);
    CHECK(ord.json()["imported"] == 2);
    CHECK(ord.json()["rejected"] == 1);
    CHECK(http(port, "POST", "/api/orders/import", orders, sam).json()["imported"] == 0);
    CHECK(http(port, "GET", path_of(reza[0]), "", sam).json()["evaluation"]["lifetime_value"] == 1000);
    CHECK_FALSE(http(port, "GET", path_of(reza[0]), "", alice).json()["evaluation"].contains("lifetime_value"));

    // ---- every change to a customer is in the audit trail, and nothing is ever deleted.
    const auto actions = audit_actions(site.dir.path / "ringside.db");
    CHECK(std::count(actions.begin(), actions.end(), "sam customer.create") == 3);  // two by hand, one imported
    CHECK(std::count(actions.begin(), actions.end(), "alice customer.update") == 1);
    CHECK(std::count(actions.begin(), actions.end(), "sam customer.update") == 1);  // lifetime value from orders
    CHECK(std::count(actions.begin(), actions.end(), "sam customer.remove") == 1);
    {
        SQLite::Database db((site.dir.path / "ringside.db").string(), SQLite::OPEN_READONLY);
        const auto detail = db.execAndGet("SELECT detail FROM audit_log WHERE action = 'customer.update'").getString();
        CHECK(detail.find("\"company\":{\"after\":\"Ahmadi & Sons\",\"before\":\"\"}") != std::string::npos);
        CHECK(db.execAndGet("SELECT count(*) FROM customers").getInt() == 3);
    }
    // ---- supervisors read the customer audit trail (read-only); agents may not.
    CHECK(http(port, "GET", "/api/customers/audit", "", alice).status == 403);
    CHECK(http(port, "GET", "/api/customers/audit?customer_id=" + std::to_string(id), "", alice).status == 403);
    auto trail = http(port, "GET", "/api/customers/audit?customer_id=" + std::to_string(id), "", sam);
    REQUIRE(trail.status == 200);
    std::vector<std::string> sara_trail;
    const auto trail_json = trail.json();  // kept alive while iterated
    for (const auto& e : trail_json["entries"])
        sara_trail.push_back(e["actor"].get<std::string>() + " " + e["action"].get<std::string>());
    CHECK(sara_trail == std::vector<std::string>{"alice customer.update", "sam customer.create"});  // newest first
    auto page = http(port, "GET", "/api/customers/audit?limit=2", "", sam);
    REQUIRE(page.status == 200);
    REQUIRE(page.json()["entries"].size() == 2);
    CHECK(page.json()["entries"][0]["action"] == "customer.update");  // the orders import, last of all
    const auto next = page.json()["next_before"].get<std::int64_t>();
    auto older = http(port, "GET", "/api/customers/audit?limit=500&before=" + std::to_string(next), "", sam);
    REQUIRE(older.status == 200);
    bool saw_export = false, saw_login = false;
    const auto older_json = older.json();
    for (const auto& e : older_json["entries"]) {
        CHECK(e["id"].get<std::int64_t>() < next);
        saw_export = saw_export || e["action"] == "customers.export";
        saw_login = saw_login || e["action"] == "login";
    }
    CHECK(saw_export);
    CHECK_FALSE(saw_login);  // only entries about customers
    CHECK(http(port, "GET", "/api/customers/audit?limit=0", "", sam).status == 400);
    CHECK(http(port, "GET", "/api/customers/audit?customer_id=x", "", sam).json()["message"].get<std::string>().find(
              "customer_id") != std::string::npos);
    CHECK(http(port, "POST", "/api/customers/audit", "{}", sam).status == 405);

    // ---- value scores: Sara's was set by hand; Reza's is computed from his
    // history and follows it: 1 + money 1 (his lifetime value is below the
    // upper half of all), then + recency 3 + frequency 1 once he has called.
    CHECK(as_sam["value_score_source"] == "set");
    auto reza_file = http(port, "GET", path_of(reza[0]), "", sam).json();
    CHECK(reza_file["value_score_source"] == "computed");
    CHECK(reza_file["value_score"] == 2);
    CHECK(reza_file["evaluation"]["value_score_source"] == "computed");
    site.call("0912 777 8899", {"1001"}, sim::Outcome::answered, 300ms, 300ms);
    REQUIRE(ws.next_of("call.ringing"));
    REQUIRE(ws.next_of("call.ended", 10s));
    int reza_score = 0;
    for (int i = 0; i < 50 && reza_score != 6; ++i) {
        reza_score = http(port, "GET", path_of(reza[0]), "", sam).json()["value_score"].get<int>();
        if (reza_score != 6) std::this_thread::sleep_for(100ms);
    }
    CHECK(reza_score == 6);
    auto set_by_hand = http(port, "PATCH", path_of(reza[0]), json{{"value_score", 3}}.dump(), sam);
    REQUIRE(set_by_hand.status == 200);
    CHECK(set_by_hand.json()["value_score_source"] == "set");
    auto handed_back = http(port, "PATCH", path_of(reza[0]), json{{"value_score", nullptr}}.dump(), sam);
    REQUIRE(handed_back.status == 200);
    CHECK(handed_back.json()["value_score"] == 6);
    CHECK(handed_back.json()["value_score_source"] == "computed");

    // Personal data stays out of the log.
    CHECK(site.ringside->err().find("Sara") == std::string::npos);
    CHECK(site.ringside->err().find("9121234567") == std::string::npos);
    CHECK(site.ringside->out().find("9121234567") == std::string::npos);
}

TEST_CASE("import customers on the command line: a dry run stores nothing, rejects are reported row by row") {
    TempDir d;
    write_file(d.path / "r.toml", "[database]\npath = \"" + (d.path / "r.db").string() +
                                      "\"\n[customers]\ntiers = [\"vip\", \"regular\"]\n");
    const auto cfg = (d.path / "r.toml").string();
    write_file(d.path / "c.csv",
               "name,phones,tier,notes\n"
               "Sara Ahmadi,۰۹۱۲ 123 ۴۵۶۷,vip,card 4111 1111 1111 1111\n"
               "Sara Twin,00989121234567,,\n"
               "Gold Tier,09120000001,gold,\n");
    const auto bin = ringside_binary().string();
    auto dry = run({bin, "import", "customers", (d.path / "c.csv").string(), "--dry-run", "--config", cfg}, d.path);
    CHECK(dry.status == 1);
    CHECK(dry.out.find("dry run, nothing stored: would import 1, already present 1, rejected 1") != std::string::npos);
    CHECK(dry.err.find("row 3 already present: same phone as row 2") != std::string::npos);
    CHECK(dry.err.find("row 4 rejected: tier must be one of vip, regular") != std::string::npos);
    auto real = run({bin, "import", "customers", (d.path / "c.csv").string(), "--config", cfg}, d.path);
    CHECK(real.out.find("imported 1, already present 1, rejected 1") != std::string::npos);
    auto again = run({bin, "import", "customers", (d.path / "c.csv").string(), "--config", cfg}, d.path);
    CHECK(again.out.find("imported 0, already present 2, rejected 1") != std::string::npos);
    CHECK(again.err.find("9121234567") == std::string::npos);  // reasons never repeat numbers

    write_file(d.path / "bad.toml", "[customers]\ntiers = [\"Gold!\"]\n");
    auto check = run({bin, "check-config", (d.path / "bad.toml").string()}, d.path);
    CHECK(check.status == 1);
    CHECK(check.out.find(":2: customers.tiers[0]") != std::string::npos);
}
