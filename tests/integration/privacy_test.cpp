// A customer's data on request and retention (issue 16, privacy rules)
// through the real `ringside` binary, real HTTP, real AMI calls from the
// simulated Asterisk and a real SQLite file: the export, erasure with its
// refusals and audit rows, matching after an erasure, and [retention]
// applied by the service's daily job and by `ringside retention`.
#include <doctest/doctest.h>

#include <array>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "staffed.hpp"

using namespace ringside;
using namespace ringside::test;
using json = nlohmann::json;

namespace {

std::string path_of(std::int64_t id, const std::string& rest = "") { return "/api/customers/" + std::to_string(id) + rest; }

/// actor, action and detail of every audit row with this action, oldest first, read from the file itself.
std::vector<std::array<std::string, 3>> audit_rows(const std::filesystem::path& db_file, const std::string& action) {
    SQLite::Database db(db_file.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT actor, action, detail FROM audit_log WHERE action = ? ORDER BY id");
    q.bind(1, action);
    std::vector<std::array<std::string, 3>> out;
    while (q.executeStep())
        out.push_back({q.getColumn(0).getString(), q.getColumn(1).getString(), q.getColumn(2).getString()});
    return out;
}

/// A call from `caller` to Alice's phone, answered, and its final record; the pop Alice got.
struct Answered {
    std::string id;
    json pop;
};
Answered answered_call(Staffed& s, WsClient& alice, const std::string& caller) {
    Answered a;
    a.id = s.site.call(caller, {"1001"}, sim::Outcome::answered, 600ms, 600ms);
    auto ring = alice.next_of("call.ringing");
    REQUIRE(ring);
    REQUIRE((*ring)["call"]["id"] == a.id);
    a.pop = *ring;
    REQUIRE(alice.next_of("call.ended"));
    REQUIRE(s.site.wait_ended(s.sup, a.id));
    return a;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }
std::string message_of(const HttpResponse& r) { return r.json().value("message", std::string()); }

}  // namespace

TEST_CASE("a supervisor exports a customer's whole file, audited; agents may not") {
    Staffed s;
    const auto port = s.site.port;
    WsClient alice(port, s.alice_token);
    auto first = answered_call(s, alice, "0912 123 4567");
    REQUIRE(http(port, "POST", "/api/calls/" + first.id + "/disposition",
                 json{{"disposition", "refund"}, {"notes", "lives at 12 Vali Asr"}}.dump(), s.alice_token)
                .status == 200);
    REQUIRE(http(port, "POST", path_of(s.sara, "/interactions"),
                 json{{"channel", "visit"}, {"summary", "came to the shop"}}.dump(), s.alice_token)
                .status == 201);

    CHECK(http(port, "GET", path_of(s.sara, "/export"), "", s.alice_token).status == 403);
    CHECK(http(port, "GET", path_of(s.sara, "/export")).status == 401);
    CHECK(http(port, "GET", path_of(s.sara + 1000, "/export"), "", s.sup).status == 404);
    CHECK(http(port, "GET", "/api/customers/x1/export", "", s.sup).status == 400);

    auto r = http(port, "GET", path_of(s.sara, "/export"), "", s.sup);
    REQUIRE(r.status == 200);
    CHECK(r.headers["content-type"] == "application/json");
    CHECK(r.headers["content-disposition"] == "attachment; filename=\"customer-" + std::to_string(s.sara) + ".json\"");
    CHECK(r.headers["cache-control"] == "no-store");
    const auto x = r.json();
    CHECK(x["customer"]["id"] == s.sara);
    CHECK(x["customer"]["name"] == "Sara Ahmadi");
    CHECK(x["customer"]["phones"] == json{"+989121234567"});
    CHECK(x["customer"]["erased"] == false);
    REQUIRE(x["issues"].size() == 1);
    CHECK(x["issues"][0]["title"] == "Refund not received");
    CHECK(x["issues"][0]["description"] == "reported on the phone");
    CHECK_FALSE(x["issues"][0]["history"].empty());
    REQUIRE(x["interactions"].size() == 2);
    bool call_note = false;
    for (const auto& i : x["interactions"]) call_note = call_note || (i["call_id"] == first.id && i["notes"] == "lives at 12 Vali Asr");
    CHECK(call_note);
    REQUIRE(x["calls"].size() == 1);
    CHECK(x["calls"][0]["id"] == first.id);
    CHECK(x["calls"][0]["from"] == "+989121234567");
    CHECK(x["calls"][0]["notes"] == "lives at 12 Vali Asr");
    CHECK(x["calls"][0]["agent"] == "alice");
    bool created = false;
    for (const auto& e : x["audit"]) created = created || e["action"] == "customer.create";
    CHECK(created);
    CHECK_FALSE(x["exported_at"].get<std::string>().empty());

    // An admin may export too; each export is one audit row naming who and whom.
    REQUIRE(s.site.add_user("ada", "admin", "") == 0);
    CHECK(http(port, "GET", path_of(s.sara, "/export"), "", s.site.token("ada")).status == 200);
    const auto rows = audit_rows(s.site.dir.path / "ringside.db", "customer.export");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0][0] == "sam");
    CHECK(rows[1][0] == "ada");
    CHECK(json::parse(rows[0][2]) == json{{"id", s.sara}});
    // The supervisors' customer audit view lists it under the customer.
    auto listed = http(port, "GET", "/api/customers/audit?customer_id=" + std::to_string(s.sara), "", s.sup).json();
    REQUIRE_FALSE(listed["entries"].empty());
    CHECK(listed["entries"][0]["action"] == "customer.export");
}

TEST_CASE("erasing a customer anonymises the file for good; the number then matches only a customer created later") {
    Staffed s;
    const auto port = s.site.port;
    const auto db_file = s.site.dir.path / "ringside.db";
    WsClient alice(port, s.alice_token);
    auto before = answered_call(s, alice, "0912 123 4567");
    CHECK(before.pop["customer"]["id"] == s.sara);
    REQUIRE(http(port, "POST", "/api/calls/" + before.id + "/disposition",
                 json{{"disposition", "refund"}, {"notes", "lives at 12 Vali Asr"}}.dump(), s.alice_token)
                .status == 200);
    const auto talk = s.site.wait_ended(s.sup, before.id).value()["talk_seconds"];

    // ---- refusals: role, reason.
    const auto erase = path_of(s.sara, "/erase");
    CHECK(http(port, "POST", erase, json{{"reason", "asked"}}.dump(), s.alice_token).status == 403);
    CHECK(http(port, "POST", erase, json{{"reason", "asked"}}.dump()).status == 401);
    for (const auto& bad : {json::object(), json{{"reason", ""}}, json{{"reason", "  \n"}}, json{{"reason", 42}},
                            json{{"reason", std::string(501, 'x')}}, json{{"reason", "asked"}, {"by", "phone"}}}) {
        auto r = http(port, "POST", erase, bad.dump(), s.sup);
        CHECK(r.status == 400);
        CHECK(contains(message_of(r), "reason"));
    }
    CHECK(http(port, "POST", erase, "", s.sup).status == 400);
    CHECK(http(port, "POST", path_of(s.sara + 1000, "/erase"), json{{"reason", "asked"}}.dump(), s.sup).status == 404);
    CHECK(http(port, "GET", path_of(s.sara), "", s.alice_token).json()["name"] == "Sara Ahmadi");  // untouched so far

    // ---- the erasure.
    auto r = http(port, "POST", erase, json{{"reason", "asked by phone on 2026-12-03, ticket 88"}}.dump(), s.sup);
    REQUIRE(r.status == 200);
    auto answer = r.json();
    CHECK(answer["erased"]["calls"] == 1);
    CHECK(answer["erased"]["interactions"] == 1);
    CHECK(answer["erased"]["issues"] == 1);
    CHECK(answer["customer"]["name"] == "(erased)");
    CHECK(answer["erased"]["held_pops"] >= 2);  // at least the pop and the call's end, held for resume
    {
        // A console that resumes from the start gets nothing of that call.
        WsClient again(port, s.alice_token);
        again.send(json{{"type", "resume"}, {"after_seq", 0}});
        again.send(json{{"type", "ping"}});  // answered after the replay: the fence
        for (auto m = again.next(); m && (*m)["type"] != "pong"; m = again.next())
            if (m->contains("call")) CHECK((*m)["call"]["id"] != before.id);
    }
    CHECK(answer["customer"]["phones"].empty());
    CHECK(answer["customer"]["email"] == "");
    CHECK(answer["customer"]["tags"].empty());
    CHECK(answer["customer"]["status"] == "removed");
    CHECK(answer["customer"]["tier"] == "gold");  // a figure for reports, not the person
    CHECK_FALSE(answer["customer"]["erased_at"].get<std::string>().empty());
    const auto erases = audit_rows(db_file, "customer.erase");
    REQUIRE(erases.size() == 1);
    CHECK(erases[0][0] == "sam");
    CHECK(json::parse(erases[0][2])["reason"] == "asked by phone on 2026-12-03, ticket 88");
    CHECK(json::parse(erases[0][2])["id"] == s.sara);

    // ---- afterwards: shown as erased, refused as a change, invisible to agents.
    auto shown = http(port, "GET", path_of(s.sara), "", s.sup);
    REQUIRE(shown.status == 200);
    CHECK(shown.json()["name"] == "(erased)");
    CHECK(shown.json().contains("erased_at"));
    CHECK(http(port, "GET", path_of(s.sara), "", s.alice_token).status == 404);
    auto patched = http(port, "PATCH", path_of(s.sara), json{{"name", "Sara Ahmadi"}}.dump(), s.sup);
    CHECK(patched.status == 409);
    CHECK(contains(message_of(patched), "erased"));
    CHECK(http(port, "PATCH", path_of(s.sara), json{{"name", "Sara Ahmadi"}}.dump(), s.alice_token).status == 404);
    auto restored = http(port, "POST", path_of(s.sara, "/restore"), "", s.sup);
    CHECK(restored.status == 409);
    CHECK(contains(message_of(restored), "erased"));
    CHECK(http(port, "DELETE", path_of(s.sara), json{{"reason", "again"}}.dump(), s.sup).status == 409);
    CHECK(http(port, "POST", path_of(s.sara, "/interactions"), json{{"channel", "note"}, {"summary", "her new address"}}.dump(),
               s.sup)
              .status == 409);
    CHECK(http(port, "GET", "/api/customers?phone=09121234567", "", s.alice_token).json()["customers"].empty());

    // The export still answers, with the erased state and the anonymised trace of the call.
    auto x = http(port, "GET", path_of(s.sara, "/export"), "", s.sup).json();
    CHECK(x["customer"]["erased"] == true);
    CHECK(x["customer"]["name"] == "(erased)");
    REQUIRE(x["issues"].size() == 1);
    CHECK(x["issues"][0]["title"] == "(erased)");
    CHECK(http(port, "PATCH", "/api/issues/" + std::to_string(x["issues"][0]["id"].get<std::int64_t>()),
               json{{"title", "Refund for Sara"}}.dump(), s.sup)
              .status == 409);
    REQUIRE(x["calls"].size() == 1);
    CHECK(x["calls"][0]["from"] == "erased-" + std::to_string(s.sara));
    CHECK(x["calls"][0]["notes"] == "");
    CHECK(x["calls"][0]["disposition"] == "refund");
    CHECK(x["calls"][0]["talk_seconds"] == talk);
    const auto dump = x.dump();
    CHECK_FALSE(contains(dump, "Sara"));
    CHECK_FALSE(contains(dump, "9121234567"));
    CHECK_FALSE(contains(dump, "Vali Asr"));
    bool audited = false;
    for (const auto& e : x["audit"]) audited = audited || e["action"] == "customer.erase";
    CHECK(audited);
    // The call log still counts the call, linked to the erased file.
    auto linked = http(port, "GET", "/api/calls?customer_id=" + std::to_string(s.sara), "", s.sup).json()["calls"];
    REQUIRE(linked.size() == 1);
    CHECK(linked[0]["id"] == before.id);

    // ---- the erased number calls again: an unknown caller, not the erased file.
    auto unknown = answered_call(s, alice, "0912 123 4567");
    CHECK(unknown.pop["customer"].is_null());
    CHECK(unknown.pop["call"]["from"] == "+989121234567");
    CHECK(s.site.wait_ended(s.sup, unknown.id).value()["customer_id"].is_null());

    // ---- a new customer with that number (the line changed hands) matches as usual.
    const auto newcomer = s.site.add_customer(s.sup, "Reza Karimi", "+989121234567");
    CHECK(newcomer != s.sara);
    auto known = answered_call(s, alice, "09121234567");
    CHECK(known.pop["customer"]["id"] == newcomer);
    CHECK(known.pop["customer"]["name"] == "Reza Karimi");
    CHECK(s.site.wait_ended(s.sup, known.id).value()["customer_id"] == newcomer);
    // The erased file gained nothing from either call.
    CHECK(http(port, "GET", path_of(s.sara, "/export"), "", s.sup).json()["calls"].size() == 1);

    // Erasing again is allowed (it scrubs whatever was added since) and audited again.
    auto again = http(port, "POST", erase, json{{"reason", "second request"}}.dump(), s.sup);
    REQUIRE(again.status == 200);
    CHECK(again.json()["erased"]["calls"] == 1);
    CHECK(audit_rows(db_file, "customer.erase").size() == 2);
}

TEST_CASE("[retention] is applied by the service at start and by `ringside retention`: old rows go, recent ones stay") {
    Staffed s;
    const auto port = s.site.port;
    const auto db_file = s.site.dir.path / "ringside.db";
    WsClient alice(port, s.alice_token);
    // Three real calls with notes; two are then made old by moving their start back.
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(answered_call(s, alice, "0912 123 4567").id);
        REQUIRE(http(port, "POST", "/api/calls/" + ids.back() + "/disposition",
                     json{{"disposition", "info"}, {"notes", "note " + std::to_string(i)}}.dump(), s.alice_token)
                    .status == 200);
    }
    REQUIRE(s.site.stop_ringside() == 0);
    {
        SQLite::Database db(db_file.string(), SQLite::OPEN_READWRITE);
        constexpr std::int64_t day_ms = 24LL * 3600 * 1000;
        SQLite::Statement age(db, "UPDATE calls SET started_at = started_at - ? WHERE id = ?");
        age.bind(1, 400 * day_ms);  // older than the records' 12 months
        age.bind(2, ids[0]);
        REQUIRE(age.exec() == 1);
        age.reset();
        age.bind(1, 250 * day_ms);  // older than the notes' 6 months only
        age.bind(2, ids[1]);
        REQUIRE(age.exec() == 1);
        // An audit entry older than 24 months (adding rows is what the trail allows).
        db.exec("INSERT INTO audit_log (at, actor, action, detail) SELECT min(at) - " + std::to_string(800 * day_ms) +
                ", 'sam', 'login', '' FROM audit_log");
    }
    const std::string rules = "[retention]\ncall_notes_months = 6\ncall_records_months = 12\naudit_months = 24\n";
    s.site.opts.extra_config = rules;
    write_file(s.site.config, read_file(s.site.config) + rules);

    // check-config knows the table, and refuses a misspelt key naming it.
    auto checked = run({ringside_binary().string(), "check-config", s.site.config.string()}, s.site.dir.path);
    CHECK(checked.status == 0);
    write_file(s.site.dir.path / "bad.toml", "[retention]\ncall_note_months = 6\naudit_months = 0\n");
    auto bad = run({ringside_binary().string(), "check-config", (s.site.dir.path / "bad.toml").string()}, s.site.dir.path);
    CHECK(bad.status == 1);
    CHECK(contains(bad.out, "bad.toml:2: retention.call_note_months: unknown key"));
    CHECK(contains(bad.out, "bad.toml:3: retention.audit_months: must be an integer from 1 to 1200"));

    // A dry run says what would go and changes nothing.
    auto dry = run({ringside_binary().string(), "retention", "--config", s.site.config.string(), "--dry-run"}, s.site.dir.path);
    REQUIRE(dry.status == 0);
    CHECK(contains(dry.out, "keeping call notes 6 months, call records 12 months, audit entries 24 months"));
    CHECK(contains(dry.out, "dry run, nothing changed: would blank the notes of 2 calls started before "));
    CHECK(contains(dry.out, "would delete 1 call records started before "));
    CHECK(contains(dry.out, "would delete 1 audit entries written before "));
    CHECK(audit_rows(db_file, "retention.apply").empty());

    // The service applies the rules as it starts, off the engine: the log says what went.
    s.site.start_ringside();
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (!contains(s.site.ringside->err(), "retention: blanked") && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
    const auto log = s.site.ringside->err();
    CHECK(contains(log, "retention: keeping call notes 6 months, call records 12 months, audit entries 24 months"));
    CHECK(contains(log, "retention: blanked the notes of 2 calls started before "));
    CHECK(contains(log, "deleted 1 call records started before "));
    CHECK(contains(log, "deleted 1 audit entries written before "));

    const auto sup = s.site.token("sam");
    const auto calls = s.site.calls(sup);
    CHECK(count_id(calls, ids[0]) == 0);
    REQUIRE(count_id(calls, ids[1]) == 1);
    REQUIRE(count_id(calls, ids[2]) == 1);
    for (const auto& c : calls) {
        if (c["id"] == ids[1]) {
            CHECK(c["notes"] == "");
            CHECK(c["disposition"] == "info");  // the record keeps its figures and outcome
            CHECK(c["talk_seconds"].get<int>() >= 0);
            CHECK(c["customer_id"] == s.sara);
        }
        if (c["id"] == ids[2]) CHECK(c["notes"] == "note 2");
    }
    const auto applied = audit_rows(db_file, "retention.apply");
    REQUIRE(applied.size() == 1);
    CHECK(applied[0][0] == "system");
    const auto detail = json::parse(applied[0][2]);
    CHECK(detail["call_records_deleted"] == 1);
    CHECK(detail["call_notes_blanked"] == 2);
    CHECK(detail["audit_entries_deleted"] == 1);

    // Pops go on as before with the job configured.
    REQUIRE(s.site.wait_pbx_linked());
    WsClient alice_again(port, s.alice_token);
    auto after = answered_call(s, alice_again, "0912 123 4567");
    CHECK(after.pop["customer"]["id"] == s.sara);

    // The command applies the rules too; nothing more is old enough now.
    auto now = run({ringside_binary().string(), "retention", "--config", s.site.config.string()}, s.site.dir.path);
    REQUIRE(now.status == 0);
    CHECK(contains(now.out, "blanked the notes of 0 calls started before "));
    CHECK(contains(now.out, "deleted 0 call records"));
    CHECK(audit_rows(db_file, "retention.apply").size() == 2);

    // Without a [retention] table the command says there is nothing to do.
    write_file(s.site.dir.path / "plain.toml", "[database]\npath = \"" + db_file.string() + "\"\n");
    auto plain = run({ringside_binary().string(), "retention", "--config", (s.site.dir.path / "plain.toml").string()},
                     s.site.dir.path);
    CHECK(plain.status == 0);
    CHECK(contains(plain.out, "nothing to do"));
    CHECK(run({ringside_binary().string(), "retention"}, s.site.dir.path).status == 2);
}
