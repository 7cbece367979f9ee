// Designated initializers name only the fields a case cares about.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

// A customer's data on request (export, erase), retention with a fixed clock
// and directory users, on a real SQLite file.
#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "ringside/core/privacy.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "store_fixture.hpp"

using namespace ringside;
using namespace std::chrono_literals;

namespace {

using store_test::TempDir;

// 2026-11-15T10:00:00Z
const Timestamp t0 = Timestamp{std::chrono::sys_days{std::chrono::year{2026} / 11 / 15}} + 10h;

Customer sara() {
    Customer c;
    c.name = "Sara Ahmadi";
    c.salutation = "Ms.";
    c.phones = {"+989121234567", "+982188881234"};
    c.phone_labels = {"mobile", "work"};
    c.email = "sara@example.com";
    c.tier = "gold";
    c.tags = {"vip"};
    c.company = "Ahmadi & Sons";
    c.notes = "prefers mornings";
    c.birthday = "1990-01-02";
    c.lifetime_value = 1200;
    c.created_at = t0 - std::chrono::days(400);
    return c;
}

CallRecord call(const std::string& id, Timestamp started, const std::string& from, std::optional<std::int64_t> customer) {
    CallRecord c;
    c.id = CallId{id};
    c.pbx = PbxId{"main"};
    c.from = from;
    c.from_raw = from;
    c.from_name = "SARA A";
    c.to = "1001";
    c.customer_id = customer;
    c.agent = AgentId{"alice"};
    c.status = CallStatus::answered;
    c.started_at = started;
    c.answered_at = started + 5s;
    c.ended_at = started + 65s;
    c.wait_seconds = 5;
    c.talk_seconds = 60;
    return c;
}

Interaction history_of(const CallRecord& c, std::int64_t customer) {
    Interaction i;
    i.customer_id = customer;
    i.at = c.started_at;
    i.channel = "call";
    i.direction = "inbound";
    i.summary = "Inbound call answered by alice";
    i.agent = c.agent;
    i.call_id = c.id;
    i.status = "answered";
    return i;
}

/// Sara with two issues, a visit, three calls (one from her number before she was known) and audit entries.
std::int64_t seed(SqliteStore& s) {
    const auto id = s.create_customer_audited(sara(), "sam", R"({"changes":[{"field":"name","after":"Sara Ahmadi"}]})", t0 - 400 * 24h);
    Issue i;
    i.customer_id = id;
    i.title = "Refund for Sara";
    i.description = "card ending 1111";
    i.opened_at = t0 - 30 * 24h;
    i.id = s.create_issue(i);
    s.update_issue(i, {IssueChange{i.opened_at, "alice", "created", "", i.title}});
    Interaction visit;
    visit.customer_id = id;
    visit.at = t0 - 20 * 24h;
    visit.channel = "visit";
    visit.summary = "came to the shop with her son Reza";
    s.add_interaction(visit);
    auto before_known = call("main-1", t0 - 500 * 24h, "+989121234567", std::nullopt);
    s.finish_call(before_known, std::nullopt);
    auto linked = call("main-2", t0 - 10 * 24h, "+989121234567", id);
    s.finish_call(linked, history_of(linked, id));
    s.set_disposition(linked.id, "refund", "her address is 12 Vali Asr");
    auto other = call("main-3", t0 - 9 * 24h, "+989351112233", std::nullopt);
    s.finish_call(other, std::nullopt);
    auto c = *s.find_customer(id);
    c.notes = "moved to Tabriz";
    s.update_customer(c, "alice", "customer.update",
                      nlohmann::json{{"id", id}, {"changes", {{{"field", "notes"}, {"before", "prefers mornings"}, {"after", "moved to Tabriz"}}}}}.dump(),
                      t0 - 5 * 24h);
    return id;
}

}  // namespace

TEST_CASE("a customer's export holds the profile, numbers, issues with history, interactions, calls with notes and audit entries") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto id = seed(s);
    auto d = s.customer_data(id);
    REQUIRE(d);
    CHECK(d->customer.name == "Sara Ahmadi");
    CHECK(d->customer.phones == std::vector<std::string>{"+989121234567", "+982188881234"});
    CHECK(d->customer.notes == "moved to Tabriz");
    REQUIRE(d->issues.size() == 1);
    CHECK(d->issues[0].issue.title == "Refund for Sara");
    REQUIRE(d->issues[0].history.size() == 1);
    REQUIRE(d->interactions.size() == 2);
    REQUIRE(d->interaction_notes.size() == 2);
    CHECK(d->interactions[1].channel == "visit");  // 20 days ago, the call 10
    CHECK(d->interaction_notes[0] == "her address is 12 Vali Asr");
    CHECK(d->interactions[0].summary == "Inbound call answered by alice");
    // Linked calls and the call from her number before she was known; not another caller's.
    REQUIRE(d->calls.size() == 2);
    CHECK(d->calls[0].id.value() == "main-2");
    CHECK(d->calls[0].notes == "her address is 12 Vali Asr");
    CHECK(d->calls[1].id.value() == "main-1");
    REQUIRE(d->audit.size() == 2);
    CHECK(d->audit[0].action == "customer.update");
    CHECK(d->audit[1].action == "customer.create");
    CHECK_FALSE(s.customer_data(id + 100));
}

TEST_CASE("erasing a customer anonymises the file, its numbers, notes, call notes and audit values, and keeps the call figures") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto id = seed(s);
    auto r = s.erase_customer(id, "sam", "asked by email on 2026-11-14", t0);
    REQUIRE(r);
    CHECK(r->calls == 2);
    CHECK(r->interactions == 2);
    CHECK(r->issues == 1);
    CHECK(r->audit_entries == 2);

    auto c = s.find_customer(id);
    REQUIRE(c);
    CHECK(c->name == erased_name);
    CHECK(c->phones.empty());
    CHECK(c->email.empty());
    CHECK(c->notes.empty());
    CHECK(c->company.empty());
    CHECK(c->birthday.empty());
    CHECK(c->tags.empty());
    CHECK(c->status == "removed");
    CHECK(c->erased_at == t0);
    CHECK(c->tier == "gold");             // figures for reports stay
    CHECK(c->lifetime_value == 1200);

    // The number matches nobody: not the next call's lookup, not a search.
    CHECK_FALSE(s.customer_context_by_phone("+989121234567"));
    CHECK(s.customers_by_phone("+989121234567").empty());
    CustomerQuery q;
    q.phone = "+989121234567";
    q.include_removed = true;
    CHECK(s.search_customers(q).empty());
    q = {};
    q.terms = {"sara"};
    q.include_removed = true;
    CHECK(s.search_customers(q).empty());

    // Call records keep their figures, lose number, caller name and notes.
    auto linked = s.find_call(CallId{"main-2"});
    REQUIRE(linked);
    CHECK(linked->from == erased_number(id));
    CHECK(linked->from_raw == erased_number(id));
    CHECK(linked->from_name.empty());
    CHECK(linked->notes.empty());
    CHECK(linked->disposition == "refund");
    CHECK(linked->talk_seconds == 60);
    CHECK(linked->wait_seconds == 5);
    CHECK(linked->customer_id == id);
    CHECK(s.find_call(CallId{"main-1"})->from == erased_number(id));
    CHECK(s.find_call(CallId{"main-3"})->from == "+989351112233");  // someone else
    CallFilter text;
    text.text = "Vali Asr";
    CHECK(s.list_calls(text).empty());  // nor in the notes' text index

    auto d = s.customer_data(id);
    REQUIRE(d);
    for (const auto& i : d->interactions) CHECK(i.summary.empty());
    for (const auto& n : d->interaction_notes) CHECK(n.empty());
    CHECK(d->issues[0].issue.title == erased_name);
    CHECK(d->issues[0].issue.description.empty());
    CHECK(d->issues[0].history.empty());
    REQUIRE(d->audit.size() == 3);
    CHECK(d->audit[0].action == "customer.erase");
    CHECK(d->audit[0].actor == "sam");
    const auto erase = nlohmann::json::parse(d->audit[0].detail);
    CHECK(erase["reason"] == "asked by email on 2026-11-14");
    CHECK(erase["calls"] == 2);
    for (std::size_t i = 1; i < d->audit.size(); ++i) {
        CHECK(d->audit[i].detail.find("Tabriz") == std::string::npos);
        CHECK(d->audit[i].detail.find("Sara") == std::string::npos);
        CHECK(nlohmann::json::parse(d->audit[i].detail)["id"] == id);
    }
    CHECK_FALSE(s.erase_customer(id + 100, "sam", "x", t0));
}

TEST_CASE("an import with an erased customer's number is not matched to the erased file") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto id = seed(s);
    REQUIRE(s.erase_customer(id, "sam", "request", t0));
    Customer again;
    again.name = "New owner of the line";
    again.phones = {"+989121234567"};
    again.email = "sara@example.com";
    again.created_at = t0;
    auto m = s.import_customers({again}, false, "sam", t0);
    REQUIRE(m.size() == 1);
    CHECK(m[0].created);
    CHECK(m[0].customer_id != id);
    auto ctx = s.customer_context_by_phone("+989121234567");
    REQUIRE(ctx);
    CHECK(ctx->customer.id == m[0].customer_id);
}

TEST_CASE("an erased file is never written back: an edit read before the erasure is refused") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto id = seed(s);
    auto stale = *s.find_customer(id);  // read by an editor just before the erasure
    REQUIRE(s.erase_customer(id, "sam", "request", t0));
    stale.company = "Ahmadi & Sons Ltd";
    CHECK_FALSE(s.update_customer(stale, "alice", "customer.update", R"({"id":1})", t0 + 1s));
    auto c = s.find_customer(id);
    REQUIRE(c);
    CHECK(c->name == erased_name);
    CHECK(c->phones.empty());
    CHECK_FALSE(s.customer_context_by_phone("+989121234567"));
}

TEST_CASE("a call in progress at the erasure ends anonymised, and a note saved afterwards is not kept") {
    TempDir dir;
    SqliteStore s(dir.file());
    const auto id = seed(s);
    auto live = call("main-9", t0 - 30s, "+989121234567", id);  // ringing, matched to her before the erasure
    live.status = CallStatus::ringing;
    live.answered_at.reset();
    live.ended_at.reset();
    s.upsert_call(live);
    REQUIRE(s.erase_customer(id, "sam", "request", t0));
    CHECK(s.find_call(CallId{"main-9"})->from == erased_number(id));

    // The engine still holds the number and writes the final record with it.
    auto ended = call("main-9", t0 - 30s, "+989121234567", id);
    ended.notes = "she spelt her new address";
    s.write_calls({{ended, history_of(ended, id), true}});
    auto rec = s.find_call(CallId{"main-9"});
    REQUIRE(rec);
    CHECK(rec->from == erased_number(id));
    CHECK(rec->from_raw == erased_number(id));
    CHECK(rec->from_name.empty());
    CHECK(rec->notes.empty());
    CHECK(rec->talk_seconds == 60);  // the figures stay
    CHECK(rec->customer_id == id);
    CHECK(s.set_disposition(CallId{"main-9"}, "callback", "call her at 0912 123 4567"));
    rec = s.find_call(CallId{"main-9"});
    CHECK(rec->notes.empty());
    CHECK(rec->disposition == "callback");
    auto d = s.customer_data(id);
    REQUIRE(d);
    for (const auto& i : d->interactions) CHECK(i.summary.empty());
    for (const auto& n : d->interaction_notes) CHECK(n.empty());

    // Someone else's call is stored as it came.
    auto other = call("main-10", t0, "+989351112233", std::nullopt);
    other.notes = "a note";
    s.finish_call(other, std::nullopt);
    CHECK(s.find_call(CallId{"main-10"})->from == "+989351112233");
    CHECK(s.find_call(CallId{"main-10"})->notes == "a note");
}

TEST_CASE("the audit trail stays append-only outside erasure and retention") {
    TempDir dir;
    const auto file = dir.file();
    {
        SqliteStore s(file);
        s.audit("sam", "customer.update", R"({"id":1,"changes":[]})", t0);
    }
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
    CHECK_THROWS(db.exec("DELETE FROM audit_log"));
    CHECK_THROWS(db.exec("UPDATE audit_log SET actor = 'mallory'"));
    CHECK_THROWS(db.exec("UPDATE audit_log SET detail = '{\"id\":2,\"erased\":true}'"));  // another customer's id
    CHECK_THROWS(db.exec("UPDATE audit_log SET detail = 'x'"));
}

TEST_CASE("months_before moves back whole calendar months and clamps the day") {
    using namespace std::chrono;
    const auto at = [](int y, unsigned m, unsigned d) { return Timestamp{sys_days{year{y} / month{m} / day{d}}} + 7h; };
    CHECK(months_before(at(2026, 3, 31), 1) == at(2026, 2, 28));
    CHECK(months_before(at(2028, 3, 31), 1) == at(2028, 2, 29));
    CHECK(months_before(at(2026, 11, 15), 24) == at(2024, 11, 15));
    CHECK(months_before(at(2026, 1, 10), 1) == at(2025, 12, 10));
    const auto c = retention_cutoffs({.call_notes_months = 6, .call_records_months = std::nullopt, .audit_months = 12}, at(2026, 11, 15));
    CHECK(c.call_notes_before == at(2026, 5, 15));
    CHECK_FALSE(c.call_records_before);
    CHECK(c.audit_before == at(2025, 11, 15));
}

TEST_CASE("retention blanks old call notes, deletes old records and audit entries, and audits its run") {
    TempDir dir;
    SqliteStore s(dir.file());
    // 5,000 old calls with notes (more than one batch), 3 recent ones.
    std::vector<CallRecord> old;
    for (int i = 0; i < 5000; ++i) {
        auto c = call("old-" + std::to_string(i), t0 - std::chrono::days(400) + std::chrono::seconds(i), "+989121234567", std::nullopt);
        c.notes = "old note";
        old.push_back(std::move(c));
    }
    s.bulk_load_calls(old);
    for (int i = 0; i < 3; ++i) {
        auto c = call("new-" + std::to_string(i), t0 - std::chrono::days(10), "+989121234567", std::nullopt);
        c.notes = "recent note";
        s.finish_call(c, std::nullopt);
    }
    auto mid = call("mid-1", t0 - std::chrono::days(250), "+989121234567", std::nullopt);
    mid.notes = "mid note";
    s.finish_call(mid, std::nullopt);
    s.audit("sam", "login", "", t0 - std::chrono::days(800));
    s.audit("sam", "login", "", t0 - std::chrono::days(1));

    // Notes after 6 months, records after 12, audit after 24.
    const auto rules = RetentionRules{.call_notes_months = 6, .call_records_months = 12, .audit_months = 24};
    // A preview counts the same rows and changes none of them.
    auto preview = s.preview_retention(retention_cutoffs(rules, t0));
    CHECK(preview.call_notes_blanked == 5001);
    CHECK(preview.call_records_deleted == 5000);
    CHECK(preview.audit_entries_deleted == 1);
    REQUIRE(s.find_call(CallId{"old-0"}));
    CHECK(s.find_call(CallId{"mid-1"})->notes == "mid note");
    CHECK(s.list_audit(std::nullopt, 10).size() == 2);
    auto r = s.apply_retention(retention_cutoffs(rules, t0), t0);
    CHECK(r.call_notes_blanked == 5001);
    CHECK(r.call_records_deleted == 5000);
    CHECK(r.audit_entries_deleted == 1);

    CHECK_FALSE(s.find_call(CallId{"old-0"}));
    auto kept = s.find_call(CallId{"mid-1"});
    REQUIRE(kept);
    CHECK(kept->notes.empty());
    CHECK(kept->talk_seconds == 60);     // figures stay
    CHECK(s.find_call(CallId{"new-0"})->notes == "recent note");

    auto audit = s.list_audit(std::nullopt, 10);
    REQUIRE(audit.size() == 2);
    CHECK(audit[0].action == "retention.apply");
    CHECK(audit[0].actor == "system");
    CHECK(audit[0].at == t0);
    const auto detail = nlohmann::json::parse(audit[0].detail);
    CHECK(detail["call_records_deleted"] == 5000);
    CHECK(detail["audit_before"] == "2024-11-15T10:00:00.000Z");
    CHECK(audit[1].at == t0 - std::chrono::days(1));

    // A second run the same day finds nothing more to do, and says so.
    auto again = s.apply_retention(retention_cutoffs(rules, t0), t0);
    CHECK(again.call_notes_blanked == 0);
    CHECK(again.call_records_deleted == 0);
    CHECK(s.list_audit(std::nullopt, 10).size() == 3);
}

TEST_CASE("a directory user gets a local row without a password, keeps an admin's disable, never takes over a local user") {
    TempDir dir;
    SqliteStore s(dir.file());
    User d;
    d.username = AgentId{"dana"};
    d.name = "Dana Directory";
    d.role = Role::agent;
    auto u = s.upsert_directory_user(d, "uid=dana,ou=people,dc=example,dc=org");
    REQUIRE(u);
    CHECK(u->role == Role::agent);
    auto creds = s.find_credentials(AgentId{"dana"});
    REQUIRE(creds);
    CHECK(creds->password_hash.empty());
    CHECK(creds->directory_dn == "uid=dana,ou=people,dc=example,dc=org");

    d.role = Role::supervisor;
    d.extension = Extension{"1005"};
    CHECK(s.upsert_directory_user(d, "uid=dana,ou=people,dc=example,dc=org")->role == Role::supervisor);
    s.create_session("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", AgentId{"dana"}, t0 + 1h);
    auto signed_in = s.directory_users_signed_in(t0);
    REQUIRE(signed_in.size() == 1);
    CHECK(signed_in[0].first.extension == Extension{"1005"});
    CHECK(s.directory_users_signed_in(t0 + 2h).empty());
    s.end_sessions(AgentId{"dana"});
    CHECK(s.directory_users_signed_in(t0).empty());

    s.update_user(AgentId{"dana"}, UserChange{.disabled = true});
    CHECK(s.upsert_directory_user(d, "uid=dana,ou=people,dc=example,dc=org")->disabled);

    User local;
    local.username = AgentId{"lena"};
    s.create_user(local, "$argon2id$fake");
    CHECK_FALSE(s.upsert_directory_user(local, "uid=lena,ou=people,dc=example,dc=org"));
    CHECK_FALSE(s.find_credentials(AgentId{"lena"})->directory_dn);
}
