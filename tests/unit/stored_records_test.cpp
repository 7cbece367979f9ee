// The domain's rules for what a store keeps (stored_records.hpp) and the
// value score's parts a store relies on (customers.hpp), without a store.
#include <doctest/doctest.h>

#include "ringside/core/customers.hpp"
#include "ringside/core/stored_records.hpp"

using namespace ringside;

namespace {
const std::string card = "4111 1111 1111 1111";
const std::string masked = "**** **** **** 1111";
Timestamp day(int n) { return Timestamp{std::chrono::days(n)}; }
}  // namespace

TEST_CASE("a customer is stored with card numbers masked in its notes and removal reason only") {
    Customer c;
    c.name = "Card " + card;  // a name is never rewritten
    c.notes = "paid with " + card;
    c.removed_reason = "asked, card " + card;
    const auto s = stored_form(c);
    CHECK(s.name == c.name);
    CHECK(s.notes == "paid with " + masked);
    CHECK(s.removed_reason == "asked, card " + masked);
}

TEST_CASE("an issue and its changes are stored with card numbers masked") {
    Issue i;
    i.title = "refund to " + card;
    i.description = card;
    i.status = "open";
    const auto s = stored_form(i);
    CHECK(s.title == "refund to " + masked);
    CHECK(s.description == masked);
    CHECK(s.status == "open");
    IssueChange ch{day(1), "alice", "description", card, "none"};
    const auto sc = stored_form(ch);
    CHECK(sc.before == masked);
    CHECK(sc.after == "none");
    CHECK(sc.actor == "alice");
    CHECK(stored_text("notes: " + card) == "notes: " + masked);
}

TEST_CASE("an update without the agent's text keeps what is stored; one with text replaces it") {
    CHECK(kept_agent_text("", "sale") == "sale");
    CHECK(kept_agent_text("callback", "sale") == "callback");
    CHECK(kept_agent_text("", "") == "");
}

TEST_CASE("a finished call's history entry carries over what the agent saved before the call ended") {
    CallRecord call;
    call.id = CallId{"main-1.1"};
    Interaction entry;
    entry.customer_id = 7;
    entry.summary = "inbound call";

    SUBCASE("the saved disposition and notes when the entry has none") {
        const auto h = finished_call_history(call, entry, SavedDisposition{"sale", "sold two"});
        CHECK(h.entry.disposition == "sale");
        CHECK(h.notes == "sold two");
        REQUIRE(h.entry.call_id);
        CHECK(*h.entry.call_id == call.id);
        CHECK(h.entry.summary == "inbound call");
    }
    SUBCASE("the entry's own disposition wins") {
        entry.disposition = "callback";
        const auto h = finished_call_history(call, entry, SavedDisposition{"sale", "sold two"});
        CHECK(h.entry.disposition == "callback");
        CHECK(h.notes == "sold two");
    }
    SUBCASE("nothing saved: nothing carried, the entry still names its call") {
        entry.call_id = CallId{"other"};
        const auto h = finished_call_history(call, entry, std::nullopt);
        CHECK(h.entry.disposition.empty());
        CHECK(h.notes.empty());
        CHECK(*h.entry.call_id == call.id);
    }
}

TEST_CASE("a score set by hand stays; none, or a computed one, follows the history") {
    CHECK(value_score_follows_history(false, false));
    CHECK(value_score_follows_history(true, true));
    CHECK_FALSE(value_score_follows_history(true, false));
}

TEST_CASE("a new customer gets the score it earns from its lifetime value and tenure, unless set by hand") {
    const auto now = day(20000);
    Customer c;
    c.created_at = now;
    c.lifetime_value = 500;
    const std::array<std::int64_t, 3> quartiles{100, 200, 400};

    auto scored = with_initial_value_score(c, quartiles, now);
    CHECK(scored.value_score_computed);
    REQUIRE(scored.value_score);
    CHECK(*scored.value_score == 4);  // 1 + 3 for money in the top quarter; no history yet

    c.customer_since = now - std::chrono::days(800);  // two years or more: one point more
    CHECK(*with_initial_value_score(c, quartiles, now).value_score == 5);

    c.value_score = 9;
    c.value_score_computed = false;
    const auto by_hand = with_initial_value_score(c, quartiles, now);
    CHECK(*by_hand.value_score == 9);
    CHECK_FALSE(by_hand.value_score_computed);
}

TEST_CASE("interactions past the year earn nothing, and counting may stop at the frequency cap") {
    const auto now = day(20000);
    ValueInputs in;
    in.customer_since = now;
    in.last_contact_at = now - value_score_year;
    CHECK(compute_value_score(in, now) == 2);  // recency: within the year, one point
    in.last_contact_at = now - value_score_year - std::chrono::days(1);
    CHECK(compute_value_score(in, now) == 1);
    in.last_contact_at.reset();
    in.interactions_last_year = value_score_frequency_cap;
    const auto at_cap = compute_value_score(in, now);
    in.interactions_last_year = value_score_frequency_cap + 50;
    CHECK(compute_value_score(in, now) == at_cap);
}
