#pragma once
// Privacy rules without I/O: card masking, what erasing a customer leaves of
// their file, and when retention makes data too old to keep.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ringside/core/model.hpp"
#include "ringside/core/time.hpp"

namespace ringside {

/// Replaces every Luhn-valid run of 13 to 19 digits (spaces or dashes allowed
/// between digits) with its mask, keeping the last four: "**** **** **** 1111".
/// Text that is not a card number is returned unchanged.
std::string mask_card_numbers(std::string_view text);

/// The name an erased customer's file carries.
inline constexpr std::string_view erased_name = "(erased)";

/// What stays of a customer once erased on their request: the id, the kind,
/// tier, scores and lifetime value (figures for reports), created_at and
/// customer_since; every field that names or reaches the person (name,
/// salutation, numbers, email, company, notes, birthday, owner, tags, groups,
/// campaign, preferences, opt-outs) is emptied. The result is removed
/// (status "removed", by `actor`, reason "erased on request: <reason>") and
/// erased_at is `at`.
Customer erased_customer(const Customer& c, const std::string& actor, std::string_view reason, Timestamp at);

struct EraseReport;

/// The audit entry's details of an erasure (`customer.erase`), as JSON text:
/// {"id","reason","calls","interactions","issues","audit_entries"}, the
/// reason as stored text.
std::string erase_audit_details(std::int64_t customer_id, const std::string& reason, const EraseReport& r);

/// The stand-in for an erased customer's number on their call records:
/// "erased-<id>". Not a number, so it never matches one, and the records of
/// one erased customer still group together in reports.
std::string erased_number(std::int64_t customer_id);

/// `[retention]`: how many whole calendar months data is kept; unset keeps it for ever.
struct RetentionRules {
    std::optional<int> call_notes_months;    // calls' notes (and their history entries' notes) blanked after this
    std::optional<int> call_records_months;  // call records deleted after this
    std::optional<int> audit_months;         // audit entries deleted after this
    bool any() const { return call_notes_months || call_records_months || audit_months; }
};

/// The instants before which each kind of data goes, at `now`.
struct RetentionCutoffs {
    std::optional<Timestamp> call_notes_before;
    std::optional<Timestamp> call_records_before;
    std::optional<Timestamp> audit_before;
};

/// `now` moved back by whole calendar months in UTC, the day clamped to the
/// target month's length (31 March - 1 month = 28 or 29 February), the time
/// of day kept.
Timestamp months_before(Timestamp now, int months);
RetentionCutoffs retention_cutoffs(const RetentionRules& rules, Timestamp now);

struct RetentionReport;  // ports/maintenance.hpp
/// The detail of the "retention.apply" audit entry every store writes after
/// a run: the counts, and each cutoff that was set (ISO 8601, UTC).
std::string retention_audit_details(const RetentionReport& r, const RetentionCutoffs& cut);

}  // namespace ringside
