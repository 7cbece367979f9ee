// The customer file's rules in core: folding for search, the evaluation,
// field checks per role, the audit diff and the CSV import's parsing.
#include <doctest/doctest.h>

#include "ringside/core/customer_import.hpp"
#include "ringside/core/customers.hpp"

using namespace ringside;
using json = nlohmann::json;

namespace {
Timestamp at(const char* iso) { return *parse_iso(iso); }
const PhoneNormalizer& ir() {
    static const PhoneNormalizer p("IR");
    return p;
}
}  // namespace

TEST_CASE("search folding ignores case, accents and Arabic letter variants, and splits words") {
    CHECK(fold_for_search("  José  ÁLVAREZ-Núñez ") == "jose alvarez nunez");
    // Arabic yeh and kaf are the Persian ones; harakat and tatweel vanish.
    CHECK(fold_for_search("علي كريمي") == fold_for_search("علی کریمی"));
    CHECK(fold_for_search("مُحَمَّد") == fold_for_search("محمد"));
    CHECK(fold_for_search("كـريم") == fold_for_search("کریم"));
    // ZWNJ inside a Persian word does not split it.
    CHECK(fold_for_search("محمد\u200cرضا") == "محمدرضا");
    CHECK(fold_for_search("Straße") == "strasse");
    CHECK(fold_for_search("۱۲۳ abc") == "123 abc");
    Customer c;
    c.name = "Sara  Ahmadi";
    c.company = "Ahmadi & Sons";
    CHECK(search_terms(c) == std::vector<std::string>{"sara", "ahmadi", "sons"});
}

TEST_CASE("the value quartile ranks a score among all scored customers") {
    std::array<std::int64_t, 11> h{};
    CHECK_FALSE(value_quartile(5, h).has_value());
    for (int s = 1; s <= 10; ++s) h[static_cast<std::size_t>(s)] = 10;  // 100 customers, evenly spread
    CHECK(value_quartile(1, h) == 1);
    CHECK(value_quartile(3, h) == 2);
    CHECK(value_quartile(6, h) == 3);
    CHECK(value_quartile(10, h) == 4);
    CHECK_FALSE(value_quartile(0, h).has_value());
}

TEST_CASE("the evaluation gives relationship length, complaints, lifetime value and the last contact") {
    CustomerContext ctx;
    ctx.customer.created_at = at("2025-11-30T00:00:00.000Z");
    ctx.customer.customer_since = at("2024-11-30T00:00:00.000Z");
    ctx.customer.value_score = 9;
    ctx.customer.lifetime_value = 1200;
    ctx.complaints = 3;
    ctx.score_histogram[2] = 3;
    ctx.score_histogram[9] = 1;
    Interaction last;
    last.at = at("2026-11-20T09:00:00.000Z");
    last.channel = "call";
    last.status = "answered";
    last.disposition = "resolved";
    ctx.recent_interactions.push_back(last);
    auto e = evaluate(ctx, at("2026-11-30T12:00:00.000Z"));
    CHECK(e.relationship_days == 730);
    CHECK(e.complaints == 3);
    CHECK(e.value_quartile == 4);
    CHECK(e.lifetime_value == 1200);
    CHECK(e.last_contact_outcome == "resolved");
    json agent = evaluation_view(e, Role::agent);
    CHECK_FALSE(agent.contains("lifetime_value"));
    CHECK(evaluation_view(e, Role::supervisor)["lifetime_value"] == 1200);
}

TEST_CASE("the computed value score adds recency, frequency, money and tenure, and takes a point for open issues") {
    const auto now = at("2026-11-30T12:00:00.000Z");
    ValueInputs in;
    in.customer_since = now - std::chrono::days(10);
    CHECK(compute_value_score(in, now) == 1);  // nothing known yet: the floor
    in.last_contact_at = now - std::chrono::days(3);
    in.interactions_last_year = 1;
    CHECK(compute_value_score(in, now) == 5);  // 1 + recency 3 + frequency 1
    in.last_contact_at = now - std::chrono::days(60);
    CHECK(compute_value_score(in, now) == 4);  // recency 2
    in.last_contact_at = now - std::chrono::days(200);
    CHECK(compute_value_score(in, now) == 3);  // recency 1
    in.last_contact_at = now - std::chrono::days(400);
    in.interactions_last_year = 0;
    CHECK(compute_value_score(in, now) == 1);  // recency and frequency gone
    in.last_contact_at = now - std::chrono::days(1);
    in.interactions_last_year = 4;
    CHECK(compute_value_score(in, now) == 6);
    in.interactions_last_year = 12;
    CHECK(compute_value_score(in, now) == 7);
    // Money against everybody's lifetime values: any, upper half, top quarter.
    in.lifetime_value = 5000;
    CHECK(compute_value_score(in, now) == 8);  // no quartiles known yet: any
    in.lifetime_quartiles = {100, 500, 2000};
    in.lifetime_value = 50;
    CHECK(compute_value_score(in, now) == 8);
    in.lifetime_value = 500;
    CHECK(compute_value_score(in, now) == 9);
    in.lifetime_value = 2000;
    CHECK(compute_value_score(in, now) == 10);
    in.customer_since = now - std::chrono::days(800);
    CHECK(compute_value_score(in, now) == 10);  // 11 clamped
    in.open_issues = 2;
    CHECK(compute_value_score(in, now) == 10);  // 11 - 1
    in.customer_since = now - std::chrono::days(10);
    CHECK(compute_value_score(in, now) == 9);
    ValueInputs troubled;
    troubled.customer_since = now;
    troubled.open_issues = 5;
    CHECK(compute_value_score(troubled, now) == 1);  // never below 1
}

TEST_CASE("a value score set by hand is marked set; null hands it back to be computed") {
    Customer c;
    c.name = "Sara";
    c.phones = {"+989121234567"};
    c.value_score = 4;
    c.value_score_computed = true;
    REQUIRE_FALSE(apply_customer_fields(c, json{{"value_score", 8}}, CustomerRules{}, ir(), Role::supervisor, "sup", false));
    CHECK(c.value_score == 8);
    CHECK_FALSE(c.value_score_computed);
    CHECK(json(c)["value_score_source"] == "set");
    REQUIRE_FALSE(apply_customer_fields(c, json{{"value_score", nullptr}}, CustomerRules{}, ir(), Role::supervisor, "sup", false));
    CHECK_FALSE(c.value_score.has_value());
    CHECK(json(c)["value_score_source"].is_null());
    c.value_score = 6;
    c.value_score_computed = true;
    CHECK(json(c)["value_score_source"] == "computed");
    CustomerContext ctx;
    ctx.customer = c;
    ctx.score_histogram[6] = 1;
    CHECK(evaluate(ctx, at("2026-11-30T12:00:00.000Z")).value_score_source == "computed");
}

TEST_CASE("a birthday is today on its month and day; 29 February on the 28th in other years") {
    CHECK(is_birthday("1990-11-30", at("2026-11-30T23:59:00.000Z")));
    CHECK_FALSE(is_birthday("1990-11-29", at("2026-11-30T10:00:00.000Z")));
    CHECK(is_birthday("2000-02-29", at("2027-02-28T10:00:00.000Z")));
    CHECK_FALSE(is_birthday("not a date", at("2026-11-30T10:00:00.000Z")));
}

TEST_CASE("customer fields are checked, named when wrong, and limited by role") {
    Customer c;
    CustomerRules rules;
    auto apply = [&](json body, Role role = Role::agent, bool creating = false) {
        return apply_customer_fields(c, body, rules, ir(), role, "alice", creating);
    };
    CHECK_FALSE(apply({{"name", "Sara"}, {"phones", {"0912 123 4567", {{"number", "+98 21 8888 1234"}, {"label", "work"}}}},
                       {"birthday", "1990-11-30"}, {"kind", "lead"}, {"source_campaign", "autumn"},
                       {"notes", "paid with 4111 1111 1111 1111"}},
                      Role::agent, true));
    CHECK(c.phones == std::vector<std::string>{"+989121234567", "+982188881234"});
    CHECK(c.phone_labels == std::vector<std::string>{"", "work"});
    CHECK(c.notes.find("4111 1111 1111 1111") == std::string::npos);
    CHECK(c.notes.find("1111") != std::string::npos);
    CHECK(apply({{"phones", {"0912", "hello"}}})->message.find("phones[0]") != std::string::npos);
    CHECK(apply({{"tier", "platinum"}})->message.find("'tier'") != std::string::npos);
    CHECK(apply({{"birthday", "1990-02-30"}})->message.find("'birthday'") != std::string::npos);
    CHECK(apply({{"opt_outs", {"calls", "pigeons"}}})->message.find("opt_outs[1]") != std::string::npos);
    CHECK(apply({{"surprise", 1}})->message.find("unknown field 'surprise'") != std::string::npos);
    auto score = apply({{"value_score", 7}});
    REQUIRE(score);
    CHECK(score->forbidden);
    CHECK_FALSE(apply({{"value_score", 7}}, Role::supervisor));
    CHECK(c.value_score == 7);
    CHECK(apply({{"value_score", 11}}, Role::supervisor)->message.find("1 to 10") != std::string::npos);
    // An agent may take an unowned customer, not hand it to someone else.
    CHECK_FALSE(apply({{"owner", "alice"}}));
    CHECK(c.owner == "alice");
    CHECK(apply({{"owner", "bob"}})->forbidden);
    rules.tiers = {"vip", "regular"};
    CHECK_FALSE(apply({{"tier", "vip"}}));
    CHECK(apply({{"tier", "gold"}})->message.find("vip, regular") != std::string::npos);
}

TEST_CASE("the audit diff lists only changed fields, before and after, with card numbers masked") {
    Customer before;
    before.name = "Sara";
    before.phones = {"+989121234567"};
    Customer after = before;
    after.name = "Sara Ahmadi";
    after.notes = "card 4111-1111-1111-1111";
    auto d = customer_diff(before, after);
    CHECK(d.size() == 2);
    CHECK(d["name"]["before"] == "Sara");
    CHECK(d["name"]["after"] == "Sara Ahmadi");
    CHECK(d["notes"]["after"].get<std::string>().find("4111-1111-1111-1111") == std::string::npos);
    CHECK(customer_diff(after, after).empty());
    CHECK_FALSE(customer_view(after, Role::agent).contains("lifetime_value"));
    CHECK(customer_view(after, Role::admin).contains("lifetime_value"));
}

TEST_CASE("a CSV with broken rows, mixed digits, repeated numbers and card numbers is parsed row by row") {
    const std::string csv =
        "\xEF\xBB\xBFName,Phones,Email,Tier,Tags,Notes,Value_Score\n"
        "Sara Ahmadi,mobile:0912 123 4567;work:021-8888-1234,Sara@Example.com,gold,vip;refund,card 4111 1111 1111 1111,۸\n"
        "\"Karimi, Ali\",۰۹۳۵۱۱۱۲۲۳۳,,silver,,,\n"
        ",09120000000,,,,,\n"
        "Bad Phone,hello,,,,,\n"
        "Same Number,+98 (912) 123-45-67,,,,,\n"
        "Same Mail,09350000001,sara@example.COM,,,,\n"
        "Too,Few\n"
        "Wrong Tier,09120000002,,diamond,,,\n"
        "Mixed ۰۹۱2 digits,۰۹۱۲۳33۴۴۵۵,,,,,\n";
    auto p = parse_customer_csv(csv, ir(), CustomerRules{}, "cli");
    REQUIRE_FALSE(p.fatal);
    REQUIRE(p.customers.size() == 3);
    const auto& sara = p.customers[0].second;
    CHECK(p.customers[0].first == 2);
    CHECK(sara.phones == std::vector<std::string>{"+989121234567", "+982188881234"});
    CHECK(sara.phone_labels == std::vector<std::string>{"mobile", "work"});
    CHECK(sara.value_score == 8);
    CHECK(sara.tags == std::vector<std::string>{"vip", "refund"});
    CHECK(sara.notes.find("4111 1111 1111 1111") == std::string::npos);
    CHECK(p.customers[1].second.phones == std::vector<std::string>{"+989351112233"});
    CHECK(p.customers[2].second.phones == std::vector<std::string>{"+989123334455"});
    std::map<std::size_t, std::string> why;
    for (const auto& r : p.results) why[r.row] = r.status + ": " + r.reason;
    CHECK(why[4] == "rejected: name is empty");
    CHECK(why[5].find("rejected: phone \"hello\"") == 0);
    CHECK(why[6] == "already_present: same phone as row 2");
    CHECK(why[7] == "already_present: same email as row 2");
    CHECK(why[8] == "rejected: has 2 fields, the header has 7");
    CHECK(why[9].find("rejected: tier must be one of gold, silver, bronze") == 0);

    // Chunks for a caller that stores while it parses: the same customers, in
    // row order, never more than chunk_rows at a time; the same report.
    std::vector<std::size_t> chunked_rows, chunk_sizes;
    auto chunked = parse_customer_csv(
        csv, ir(), CustomerRules{}, "cli",
        [&](std::vector<std::pair<std::size_t, Customer>>&& chunk) {
            chunk_sizes.push_back(chunk.size());
            for (const auto& [row, c] : chunk) chunked_rows.push_back(row);
        },
        2);
    CHECK(chunked.customers.empty());
    CHECK(chunk_sizes == std::vector<std::size_t>{2, 1});
    CHECK(chunked_rows == std::vector<std::size_t>{2, 3, 10});
    CHECK(chunked.results.size() == p.results.size());
    // A row with a bad number and another bad field is refused for the number, as written.
    auto both = parse_customer_csv("name,phones,tier\nX,hello,diamond\nY,09121112233;nope,diamond\n", ir(),
                                   CustomerRules{}, "cli");
    REQUIRE(both.results.size() == 2);
    CHECK(both.results[0].reason.find("phone \"hello\"") == 0);
    CHECK(both.results[1].reason.find("phone \"nope\"") == 0);

    auto bad = parse_customer_csv("name,phones,shoe_size\n", ir(), CustomerRules{}, "cli");
    REQUIRE(bad.fatal);
    CHECK(bad.fatal->find("unknown column \"shoe_size\"") == 0);
    CHECK(parse_customer_csv("", ir(), CustomerRules{}, "cli").fatal);
    CHECK(parse_customer_csv("name,email\n", ir(), CustomerRules{}, "cli").fatal->find("name and phones") !=
          std::string::npos);
}
