#pragma once
// The customer file's rules, free of I/O: search folding, the evaluation
// shown on the pop, field validation for create and edit, the audit diff and
// what each role may see.
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ringside/core/model.hpp"
#include "ringside/core/phone.hpp"

namespace ringside {

/// Site rules a customer file is checked against (config [customers]).
struct CustomerRules {
    std::vector<std::string> tiers{"gold", "silver", "bronze"};  // allowed tiers ("" is always allowed)
};

/// Text folded for matching names in any script: Unicode compatibility
/// decomposition with combining marks removed (é -> e, Arabic harakat
/// dropped), case folded, Arabic letter variants unified with the Persian ones
/// (ي ى -> ی, ك -> ک, ة -> ه, أ إ آ ٱ -> ا), tatweel and ZWNJ removed,
/// Persian and Arabic-Indic digits made Latin, and every run of anything that
/// is not a letter or digit made one space. Trimmed.
std::string fold_for_search(std::string_view utf8);

/// The distinct words of fold_for_search(name + company) that a name search
/// matches by prefix; at most 16 words of at most 64 bytes each.
std::vector<std::string> search_terms(const Customer& c);

/// The quartile (1 bottom .. 4 top) of `score` among scored customers, from
/// the number of customers per score (index 1..10). A score's percentile rank
/// counts the customers below it plus half of those equal to it. nullopt when
/// nobody has a score.
std::optional<int> value_quartile(int score, const std::array<std::int64_t, 11>& histogram);

/// What a computed value score is made of; a store gathers it.
struct ValueInputs {
    std::optional<std::int64_t> lifetime_value;
    /// Lifetime values at the 25th, 50th and 75th percentile among the
    /// customers that have one (0 while nobody has one).
    std::array<std::int64_t, 3> lifetime_quartiles{};
    std::int64_t interactions_last_year = 0;   // counting stops at 12
    std::optional<Timestamp> last_contact_at;  // newest interaction
    std::int64_t open_issues = 0;
    Timestamp customer_since{};                // customer_since, else created_at
};

/// The value score (1..10) a customer earns from their history, an RFM
/// score as call centers use it: 1, plus up to 3 points each for recency
/// (last contact within 30 / 90 / 365 days), frequency (12 / 4 / 1
/// interactions in the last 365 days) and money (lifetime value in the top
/// quarter / the upper half / any; any only, while no quartiles are known),
/// plus 1 for a relationship of two years
/// or more, minus 1 for two or more unresolved issues; clamped to 1..10.
int compute_value_score(const ValueInputs& in, Timestamp now);

/// The year of recency and frequency: interactions older than this earn
/// neither, so a store need not count them.
inline constexpr std::chrono::days value_score_year{365};
/// Frequency's top mark: a store may stop counting the year's interactions here.
inline constexpr std::int64_t value_score_frequency_cap = 12;

/// Whether a customer's score follows their history (computed, or none
/// yet), to be recomputed as it changes; false for a score set by hand,
/// which stays as set.
constexpr bool value_score_follows_history(bool has_score, bool computed) { return !has_score || computed; }

/// A customer about to be stored for the first time: unless a score was set
/// by hand, it gets the computed one from what it brings (its lifetime value
/// and relationship start; no history or issues yet).
Customer with_initial_value_score(Customer c, const std::array<std::int64_t, 3>& lifetime_quartiles, Timestamp now);

/// The evaluation of a customer as of `now`.
CustomerEvaluation evaluate(const CustomerContext& ctx, Timestamp now);

/// True when birthday ("YYYY-MM-DD") falls on now's UTC month and day
/// (29 February birthdays are celebrated on 28 February in other years).
bool is_birthday(std::string_view birthday, Timestamp now);

/// Why a customer write was refused: a bad field (400) or a field the role
/// may not set (403). The message names the field.
struct FieldProblem {
    std::string message;
    bool forbidden = false;
};

/// Checks and applies the fields of a JSON object to c (create when
/// `creating`; else only the fields present change; null clears). Returns the
/// first problem, naming the field ("field 'phones[1]' is not a phone
/// number"), or nullopt; c is unspecified after a problem. Card numbers in notes are masked. `role` limits who may set
/// value_score, lifetime_value and owner (supervisor and up; an agent may
/// take an unowned customer by setting owner to themselves).
std::optional<FieldProblem> apply_customer_fields(Customer& c, const nlohmann::json& body, const CustomerRules& rules,
                                                 const PhoneNormalizer& phones, Role role, const std::string& actor,
                                                 bool creating);

/// Fields that differ between before and after:
/// {"field": {"before": v, "after": v}}; strings card-masked.
nlohmann::json customer_diff(const Customer& before, const Customer& after);

/// The customer as `role` may see it: agents do not see lifetime_value or a
/// removal's reason. Everything else is visible to every role.
nlohmann::json customer_view(const Customer& c, Role role);
/// The evaluation as `role` may see it (lifetime_value hidden from agents).
nlohmann::json evaluation_view(const CustomerEvaluation& e, Role role);

/// Allowed values.
bool is_valid_issue_priority(std::string_view p);
bool is_valid_interaction_channel(std::string_view c);  // "call" | "visit" | "email" | "note" | "sms"

}  // namespace ringside
