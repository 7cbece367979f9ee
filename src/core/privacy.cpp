#include "ringside/core/privacy.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "ringside/core/ports/customers.hpp"
#include "ringside/core/ports/maintenance.hpp"
#include "ringside/core/stored_records.hpp"

namespace ringside {
namespace {

constexpr std::size_t min_card_digits = 13;
constexpr std::size_t max_card_digits = 19;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_separator(char c) { return c == ' ' || c == '-'; }

// A maximal run of digits, [begin, end) in the text.
struct Group {
    std::size_t begin;
    std::size_t end;
    std::size_t digits() const { return end - begin; }
};

bool luhn_valid(std::string_view text, const std::vector<Group>& groups, std::size_t first, std::size_t last) {
    int sum = 0;
    bool twice = false;
    for (std::size_t g = last + 1; g-- > first;) {
        for (std::size_t i = groups[g].end; i-- > groups[g].begin;) {
            int d = text[i] - '0';
            if (twice) {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
            twice = !twice;
        }
    }
    return sum % 10 == 0;
}

// Masks every digit of groups[first..last] but the last four.
void mask(std::string& out, const std::vector<Group>& groups, std::size_t first, std::size_t last) {
    std::size_t total = 0;
    for (std::size_t g = first; g <= last; ++g) total += groups[g].digits();
    std::size_t seen = 0;
    for (std::size_t g = first; g <= last; ++g)
        for (std::size_t i = groups[g].begin; i < groups[g].end; ++i)
            if (++seen <= total - 4) out[i] = '*';
}

// Masks the card numbers in one chain of digit groups joined by single
// separators. A card never splits a group, so the candidates are windows of
// whole groups with 13..19 digits; the leftmost longest valid window wins and
// the search resumes after it. At most 19 groups fit a window, so this is
// linear in the chain length.
void mask_chain(std::string_view text, std::string& out, const std::vector<Group>& chain) {
    std::size_t start = 0;
    while (start < chain.size()) {
        std::size_t digits = 0;
        std::optional<std::size_t> best;
        for (std::size_t end = start; end < chain.size(); ++end) {
            digits += chain[end].digits();
            if (digits > max_card_digits) break;
            if (digits >= min_card_digits && luhn_valid(text, chain, start, end)) best = end;
        }
        if (best) {
            mask(out, chain, start, *best);
            start = *best + 1;
        } else {
            ++start;
        }
    }
}

}  // namespace

std::string mask_card_numbers(std::string_view text) {
    std::string out(text);
    std::vector<Group> chain;
    std::size_t i = 0;
    while (i < text.size()) {
        if (!is_digit(text[i])) {
            ++i;
            continue;
        }
        std::size_t b = i;
        while (i < text.size() && is_digit(text[i])) ++i;
        chain.push_back({b, i});
        // The chain goes on only across exactly one separator followed by a digit.
        bool continues = i + 1 < text.size() && is_separator(text[i]) && is_digit(text[i + 1]);
        if (continues) {
            ++i;
            continue;
        }
        mask_chain(text, out, chain);
        chain.clear();
    }
    return out;
}

}  // namespace ringside

namespace ringside {

std::string erase_audit_details(std::int64_t customer_id, const std::string& reason, const EraseReport& r) {
    return nlohmann::json{{"id", customer_id},
                          {"reason", stored_text(reason)},
                          {"calls", r.calls},
                          {"interactions", r.interactions},
                          {"issues", r.issues},
                          {"audit_entries", r.audit_entries}}
        .dump();
}

std::string retention_audit_details(const RetentionReport& r, const RetentionCutoffs& cut) {
    nlohmann::json detail = {{"call_notes_blanked", r.call_notes_blanked},
                             {"call_records_deleted", r.call_records_deleted},
                             {"audit_entries_deleted", r.audit_entries_deleted}};
    if (cut.call_notes_before) detail["call_notes_before"] = format_iso(*cut.call_notes_before);
    if (cut.call_records_before) detail["call_records_before"] = format_iso(*cut.call_records_before);
    if (cut.audit_before) detail["audit_before"] = format_iso(*cut.audit_before);
    return detail.dump();
}

Customer erased_customer(const Customer& c, const std::string& actor, std::string_view reason, Timestamp at) {
    Customer e;
    e.id = c.id;
    e.name = std::string(erased_name);
    e.kind = c.kind;
    e.tier = c.tier;
    e.value_score = c.value_score;
    e.value_score_computed = c.value_score_computed;
    e.lifetime_value = c.lifetime_value;
    e.created_at = c.created_at;
    e.customer_since = c.customer_since;
    e.status = "removed";
    e.removed_at = at;
    e.removed_by = actor;
    e.removed_reason = "erased on request: " + mask_card_numbers(reason);
    e.erased_at = at;
    e.updated_at = at;
    return e;
}

std::string erased_number(std::int64_t customer_id) { return "erased-" + std::to_string(customer_id); }

Timestamp months_before(Timestamp now, int months) {
    using namespace std::chrono;
    const auto day = floor<days>(now);
    const auto time_of_day = now - day;
    const year_month_day ymd{day};
    const auto target = year_month{ymd.year(), ymd.month()} - std::chrono::months(months);
    const auto last = year_month_day_last{target.year(), month_day_last{target.month()}}.day();
    const auto d = std::min(ymd.day(), last);
    return Timestamp{sys_days{year_month_day{target.year(), target.month(), d}}} + time_of_day;
}

RetentionCutoffs retention_cutoffs(const RetentionRules& rules, Timestamp now) {
    RetentionCutoffs c;
    if (rules.call_notes_months) c.call_notes_before = months_before(now, *rules.call_notes_months);
    if (rules.call_records_months) c.call_records_before = months_before(now, *rules.call_records_months);
    if (rules.audit_months) c.audit_before = months_before(now, *rules.audit_months);
    return c;
}

}  // namespace ringside
