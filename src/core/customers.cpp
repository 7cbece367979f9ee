#include "ringside/core/customers.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include "ringside/core/privacy.hpp"

namespace ringside {
namespace {

using json = nlohmann::json;

UChar32 unify_letter(UChar32 c) {
    switch (c) {
        case 0x064A:  // ARABIC LETTER YEH
        case 0x0649:  // ALEF MAKSURA
        case 0x06D2:  // YEH BARREE
            return 0x06CC;  // FARSI YEH
        case 0x0643:  // ARABIC LETTER KAF
            return 0x06A9;  // KEHEH
        case 0x0629:  // TEH MARBUTA
        case 0x06C0:  // HEH WITH YEH ABOVE (before decomposition it may survive)
        case 0x06D5:  // AE
            return 0x0647;  // HEH
        case 0x0623:
        case 0x0625:
        case 0x0622:
        case 0x0671:
            return 0x0627;  // ALEF
        case 0x0624:
            return 0x0648;  // WAW WITH HAMZA -> WAW
        case 0x0626:
            return 0x06CC;  // YEH WITH HAMZA -> YEH
        default:
            break;
    }
    if (c >= 0x06F0 && c <= 0x06F9) return '0' + (c - 0x06F0);  // Persian digits
    if (c >= 0x0660 && c <= 0x0669) return '0' + (c - 0x0660);  // Arabic-Indic digits
    return c;
}

bool is_removed_char(UChar32 c) {
    return c == 0x0640 /* tatweel */ || c == 0x200C /* ZWNJ */ || c == 0x200D /* ZWJ */ || c == 0x200E ||
           c == 0x200F || c == 0x00AD /* soft hyphen */;
}

const std::set<std::string_view> channels{"phone", "sms", "email", "visit"};
const std::set<std::string_view> opt_out_kinds{"calls", "sms", "email", "marketing"};
const std::set<std::string_view> interaction_channels{"call", "visit", "email", "note", "sms"};

bool valid_date(std::string_view s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (s[i] < '0' || s[i] > '9') return false;
    const int y = std::stoi(std::string(s.substr(0, 4)));
    const unsigned m = static_cast<unsigned>(std::stoi(std::string(s.substr(5, 2))));
    const unsigned d = static_cast<unsigned>(std::stoi(std::string(s.substr(8, 2))));
    return y >= 1850 && std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}}.ok();
}

bool valid_username(std::string_view s) {
    return !s.empty() && s.size() <= 64 && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string::npos;
}

// Field readers: each returns false after recording the first problem.
class Reader {
public:
    explicit Reader(const json& j) : j_(j) {}
    std::optional<FieldProblem> problem;

    bool has(const char* k) const { return j_.contains(k); }

    bool fail(std::string msg, bool forbidden = false) {
        if (!problem) problem = FieldProblem{std::move(msg), forbidden};
        return false;
    }

    bool text(const char* k, std::string& out, std::size_t max_len, bool required = false) {
        auto it = j_.find(k);
        if (it == j_.end()) return true;
        if (it->is_null()) {
            if (required) return fail(std::string("field '") + k + "' is required");
            out.clear();
            return true;
        }
        if (!it->is_string()) return fail(std::string("field '") + k + "' must be a string");
        const auto& s = it->get_ref<const std::string&>();
        if (s.size() > max_len)
            return fail(std::string("field '") + k + "' is longer than " + std::to_string(max_len) + " bytes");
        if (required && s.find_first_not_of(" \t") == std::string::npos)
            return fail(std::string("field '") + k + "' must not be empty");
        out = s;
        return true;
    }

    bool texts(const char* k, std::vector<std::string>& out, std::size_t max_items, std::size_t max_len) {
        auto it = j_.find(k);
        if (it == j_.end()) return true;
        if (it->is_null()) {
            out.clear();
            return true;
        }
        if (!it->is_array()) return fail(std::string("field '") + k + "' must be an array of strings");
        if (it->size() > max_items)
            return fail(std::string("field '") + k + "' has more than " + std::to_string(max_items) + " items");
        std::vector<std::string> v;
        for (std::size_t i = 0; i < it->size(); ++i) {
            const auto& e = (*it)[i];
            const auto label = std::string(k) + "[" + std::to_string(i) + "]";
            if (!e.is_string()) return fail("field '" + label + "' must be a string");
            const auto& s = e.get_ref<const std::string&>();
            if (s.empty() || s.size() > max_len)
                return fail("field '" + label + "' must be 1 to " + std::to_string(max_len) + " bytes");
            if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
        }
        out = std::move(v);
        return true;
    }

    const json* get(const char* k) const {
        auto it = j_.find(k);
        return it == j_.end() ? nullptr : &*it;
    }

private:
    const json& j_;
};

}  // namespace

std::string fold_for_search(std::string_view utf8) {
    UErrorCode err = U_ZERO_ERROR;
    const icu::Normalizer2* nfkd = icu::Normalizer2::getNFKDInstance(err);
    if (U_FAILURE(err)) return std::string(utf8);
    // Letter variants first: some (Arabic presentation forms) only become the
    // plain letters after decomposition, so unify again afterwards.
    icu::UnicodeString in = icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
    // Full case folding (ß -> ss), then compatibility decomposition.
    icu::UnicodeString decomposed = nfkd->normalize(in.foldCase(U_FOLD_CASE_DEFAULT), err);
    if (U_FAILURE(err)) return std::string(utf8);
    std::string out;
    out.reserve(utf8.size());
    bool pending_space = false;
    for (int32_t i = 0; i < decomposed.length();) {
        UChar32 c = decomposed.char32At(i);
        i += U16_LENGTH(c);
        if (is_removed_char(c)) continue;
        const auto type = u_charType(c);
        if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK || type == U_COMBINING_SPACING_MARK) continue;
        c = unify_letter(u_foldCase(c, U_FOLD_CASE_DEFAULT));
        if (!u_isalnum(c)) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) out += ' ';
        pending_space = false;
        char buf[4];
        int32_t n = 0;
        UBool bad = false;
        U8_APPEND(reinterpret_cast<uint8_t*>(buf), n, 4, c, bad);
        if (!bad) out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

std::vector<std::string> search_terms(const Customer& c) {
    std::vector<std::string> out;
    auto add_words = [&](const std::string& text) {
        const auto folded = fold_for_search(text);
        std::size_t start = 0;
        while (start < folded.size() && out.size() < 16) {
            auto end = folded.find(' ', start);
            if (end == std::string::npos) end = folded.size();
            auto w = folded.substr(start, std::min<std::size_t>(end - start, 64));
            if (!w.empty() && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(std::move(w));
            start = end + 1;
        }
    };
    add_words(c.name);
    add_words(c.company);
    return out;
}

std::optional<int> value_quartile(int score, const std::array<std::int64_t, 11>& histogram) {
    if (score < 1 || score > 10) return std::nullopt;
    std::int64_t total = 0, below = 0;
    for (int s = 1; s <= 10; ++s) {
        total += histogram[static_cast<std::size_t>(s)];
        if (s < score) below += histogram[static_cast<std::size_t>(s)];
    }
    if (total <= 0) return std::nullopt;
    const double rank = (static_cast<double>(below) + histogram[static_cast<std::size_t>(score)] / 2.0) / static_cast<double>(total);
    return std::clamp(static_cast<int>(rank * 4.0) + 1, 1, 4);
}

int compute_value_score(const ValueInputs& in, Timestamp now) {
    auto days_since = [&](Timestamp t) { return std::chrono::duration_cast<std::chrono::hours>(now - t).count() / 24; };
    int recency = 0;
    if (in.last_contact_at) {
        const auto d = days_since(*in.last_contact_at);
        recency = d <= 30 ? 3 : d <= 90 ? 2 : d <= value_score_year.count() ? 1 : 0;
    }
    const auto n = in.interactions_last_year;
    const int frequency = n >= value_score_frequency_cap ? 3 : n >= 4 ? 2 : n >= 1 ? 1 : 0;
    int money = 0;
    if (in.lifetime_value && *in.lifetime_value > 0) {
        const auto v = *in.lifetime_value;
        const auto& q = in.lifetime_quartiles;
        // Without quartiles yet (nobody else had a lifetime value at the
        // last count) a value earns the first point only.
        money = q[2] <= 0 ? 1 : v >= q[2] ? 3 : v >= q[1] ? 2 : 1;
    }
    const int tenure = days_since(in.customer_since) >= 730 ? 1 : 0;
    const int trouble = in.open_issues >= 2 ? 1 : 0;
    return std::clamp(1 + recency + frequency + money + tenure - trouble, 1, 10);
}

Customer with_initial_value_score(Customer c, const std::array<std::int64_t, 3>& lifetime_quartiles, Timestamp now) {
    if (!value_score_follows_history(c.value_score.has_value(), c.value_score_computed)) return c;
    ValueInputs in;
    in.lifetime_value = c.lifetime_value;
    in.lifetime_quartiles = lifetime_quartiles;
    in.customer_since = c.customer_since.value_or(c.created_at);
    c.value_score = compute_value_score(in, now);
    c.value_score_computed = true;
    return c;
}

CustomerEvaluation evaluate(const CustomerContext& ctx, Timestamp now) {
    const auto& c = ctx.customer;
    CustomerEvaluation e;
    e.value_score = c.value_score;
    if (c.value_score) e.value_score_source = c.value_score_computed ? "computed" : "set";
    if (c.value_score) e.value_quartile = value_quartile(*c.value_score, ctx.score_histogram);
    const auto since = c.customer_since.value_or(c.created_at);
    e.relationship_days = std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::hours>(now - since).count() / 24);
    e.complaints = ctx.complaints;
    e.lifetime_value = c.lifetime_value;
    if (!ctx.recent_interactions.empty()) {
        const auto& last = ctx.recent_interactions.front();
        e.last_contact_at = last.at;
        e.last_contact_channel = last.channel;
        e.last_contact_outcome = !last.disposition.empty() ? last.disposition : last.status;
    }
    return e;
}

bool is_birthday(std::string_view birthday, Timestamp now) {
    if (!valid_date(birthday)) return false;
    const auto today = std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(now)};
    const unsigned m = static_cast<unsigned>(std::stoi(std::string(birthday.substr(5, 2))));
    unsigned d = static_cast<unsigned>(std::stoi(std::string(birthday.substr(8, 2))));
    if (m == 2 && d == 29 && !today.year().is_leap()) d = 28;
    return static_cast<unsigned>(today.month()) == m && static_cast<unsigned>(today.day()) == d;
}

std::optional<FieldProblem> apply_customer_fields(Customer& c, const json& body, const CustomerRules& rules,
                                                  const PhoneNormalizer& phones, Role role, const std::string& actor,
                                                  bool creating) {
    static const std::set<std::string_view> known{
        "name", "salutation", "phones", "email", "tier", "tags", "company", "notes", "language", "birthday",
        "groups", "owner", "kind", "source_campaign", "preferred_channel", "contact_time", "opt_outs",
        "value_score", "lifetime_value", "customer_since"};
    Reader r(body);
    for (const auto& [k, v] : body.items())
        if (!known.count(k)) return FieldProblem{"unknown field '" + k + "'", false};
    if (creating && !r.has("name")) return FieldProblem{"field 'name' is required", false};
    if (creating && !r.has("phones")) return FieldProblem{"field 'phones' is required", false};
    const bool senior = role_at_least(role, Role::supervisor);

    r.text("name", c.name, 200, true) && r.text("salutation", c.salutation, 50) && r.text("email", c.email, 254) &&
        r.text("tier", c.tier, 32) && r.text("company", c.company, 200) && r.text("notes", c.notes, 10000) &&
        r.text("language", c.language, 35) && r.text("birthday", c.birthday, 10) &&
        r.text("kind", c.kind, 16) && r.text("source_campaign", c.source_campaign, 100) &&
        r.text("preferred_channel", c.preferred_channel, 16) && r.text("contact_time", c.contact_time, 64) &&
        r.texts("tags", c.tags, 50, 64) && r.texts("groups", c.groups, 50, 64) && r.texts("opt_outs", c.opt_outs, 4, 16);
    if (r.problem) return r.problem;
    if (c.kind.empty()) c.kind = "customer";

    // Only the fields sent are checked: a stored value that a later rule
    // (a tier dropped from the config) no longer allows does not block other edits.
    if (r.has("email") && !c.email.empty()) {
        const auto at = c.email.find('@');
        if (at == std::string::npos || at == 0 || at + 1 >= c.email.size() ||
            c.email.find_first_of(" \t\r\n,;<>") != std::string::npos)
            return FieldProblem{"field 'email' is not an email address", false};
    }
    if (r.has("tier") && !c.tier.empty() && std::find(rules.tiers.begin(), rules.tiers.end(), c.tier) == rules.tiers.end()) {
        std::string list;
        for (const auto& t : rules.tiers) list += (list.empty() ? "" : ", ") + t;
        return FieldProblem{"field 'tier' must be one of " + list + " or empty", false};
    }
    if (r.has("birthday") && !c.birthday.empty() && !valid_date(c.birthday))
        return FieldProblem{"field 'birthday' must be a date YYYY-MM-DD", false};
    if (c.kind != "customer" && c.kind != "lead") return FieldProblem{"field 'kind' must be customer or lead", false};
    if (r.has("preferred_channel") && !c.preferred_channel.empty() && !channels.count(c.preferred_channel))
        return FieldProblem{"field 'preferred_channel' must be phone, sms, email, visit or empty", false};
    for (std::size_t i = 0; r.has("opt_outs") && i < c.opt_outs.size(); ++i)
        if (!opt_out_kinds.count(c.opt_outs[i]))
            return FieldProblem{"field 'opt_outs[" + std::to_string(i) + "]' must be calls, sms, email or marketing", false};
    if (r.has("notes")) c.notes = mask_card_numbers(c.notes);

    if (const auto* p = r.get("phones")) {
        if (!p->is_array() || p->empty())
            return FieldProblem{"field 'phones' must be a non-empty array of numbers", false};
        if (p->size() > 20) return FieldProblem{"field 'phones' has more than 20 items", false};
        std::vector<std::string> nums, labels;
        for (std::size_t i = 0; i < p->size(); ++i) {
            const auto& e = (*p)[i];
            const auto at = "phones[" + std::to_string(i) + "]";
            std::string raw, label;
            if (e.is_string()) {
                raw = e.get<std::string>();
            } else if (e.is_object() && e.contains("number") && e["number"].is_string() &&
                       (!e.contains("label") || e["label"].is_string()) && e.size() <= 2) {
                raw = e["number"].get<std::string>();
                if (e.contains("label")) label = e["label"].get<std::string>();
            } else {
                return FieldProblem{"field '" + at + "' must be a number or {\"number\",\"label\"}", false};
            }
            if (raw.size() > 64 || label.size() > 32)
                return FieldProblem{"field '" + at + "' is too long", false};
            auto n = phones.normalize(raw);
            if (!n) return FieldProblem{"field '" + at + "' is not a phone number", false};
            if (std::find(nums.begin(), nums.end(), n->e164()) != nums.end()) continue;
            nums.push_back(n->e164());
            labels.push_back(label);
        }
        c.phones = std::move(nums);
        c.phone_labels = std::move(labels);
    }

    if (const auto* v = r.get("value_score")) {
        if (!senior) return FieldProblem{"field 'value_score' may only be set by a supervisor or admin", true};
        // A number is set by hand and stays; null hands the score back to
        // Ringside, which computes it from the customer's history.
        if (v->is_null()) c.value_score.reset();
        else if (v->is_number_integer() && v->get<std::int64_t>() >= 1 && v->get<std::int64_t>() <= 10)
            c.value_score = static_cast<int>(v->get<std::int64_t>());
        else return FieldProblem{"field 'value_score' must be a whole number from 1 to 10, or null to compute it", false};
        c.value_score_computed = false;
    }
    if (const auto* v = r.get("lifetime_value")) {
        if (!senior) return FieldProblem{"field 'lifetime_value' may only be set by a supervisor or admin", true};
        if (v->is_null()) c.lifetime_value.reset();
        else if (v->is_number_integer() && v->get<std::int64_t>() >= 0) c.lifetime_value = v->get<std::int64_t>();
        else return FieldProblem{"field 'lifetime_value' must be a whole number, 0 or more", false};
    }
    if (const auto* v = r.get("customer_since")) {
        if (!senior) return FieldProblem{"field 'customer_since' may only be set by a supervisor or admin", true};
        if (v->is_null()) c.customer_since.reset();
        else if (auto t = v->is_string() ? parse_iso(v->get<std::string>()) : std::nullopt) c.customer_since = t;
        else return FieldProblem{"field 'customer_since' must be an ISO 8601 time", false};
    }
    if (const auto* v = r.get("owner")) {
        std::string owner;
        if (!v->is_null() && !v->is_string()) return FieldProblem{"field 'owner' must be a username or null", false};
        if (v->is_string()) owner = v->get<std::string>();
        if (!owner.empty() && !valid_username(owner)) return FieldProblem{"field 'owner' is not a username", false};
        // An agent may take an unowned customer (or one they own) for themselves, nothing else.
        const bool self_take = owner == actor && (c.owner.empty() || c.owner == actor);
        if (owner != c.owner && !senior && !self_take)
            return FieldProblem{"field 'owner' may only be changed by a supervisor or admin (an agent may take an unowned customer)", true};
        c.owner = owner;
    }
    return std::nullopt;
}

json customer_diff(const Customer& before, const Customer& after) {
    json a = before, b = after;
    json out = json::object();
    for (const auto& [k, v] : b.items()) {
        if (k == "updated_at" || k == "phones") continue;  // phone_details carries numbers and labels
        const json old = a.contains(k) ? a[k] : json(nullptr);
        if (old == v) continue;
        auto masked = [](json x) {
            if (x.is_string()) x = mask_card_numbers(x.get<std::string>());
            return x;
        };
        out[k] = {{"before", masked(old)}, {"after", masked(v)}};
    }
    return out;
}

json customer_view(const Customer& c, Role role) {
    json j = c;
    if (!role_at_least(role, Role::supervisor)) {
        j.erase("lifetime_value");
        j.erase("removed_reason");
    }
    return j;
}

json evaluation_view(const CustomerEvaluation& e, Role role) {
    json j = e;
    if (!role_at_least(role, Role::supervisor)) j.erase("lifetime_value");
    return j;
}

bool is_valid_issue_priority(std::string_view p) { return p == "low" || p == "normal" || p == "high" || p == "urgent"; }
bool is_valid_interaction_channel(std::string_view c) { return interaction_channels.count(c) > 0; }

}  // namespace ringside
