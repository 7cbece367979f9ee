#pragma once
// The store's upkeep that someone asks for: retention and the recount of
// computed value scores. Owned by the core; storage implements it.
//
// Blocking: recount_value_scores returns at once (the store's own thread
// does the work in short batches). apply_retention runs in batches of short
// transactions, so other writes wait for one batch at most, but the call
// itself takes as long as the whole run: seconds to minutes on a large
// file; call it from a thread of its own (the daily retention job has one).
// preview_retention counts the rows in one read snapshot: it scans, seconds
// on millions of rows.
// Infrastructure failures throw.
#include <cstdint>

#include "ringside/core/privacy.hpp"
#include "ringside/core/time.hpp"

namespace ringside {

/// What apply_retention removed.
struct RetentionReport {
    std::int64_t call_notes_blanked = 0;   // call records (and history entries) whose notes were blanked
    std::int64_t call_records_deleted = 0;
    std::int64_t audit_entries_deleted = 0;
};

class Maintenance {
public:
    virtual ~Maintenance() = default;
    /// Recomputes every computed value score soon, in the background, with
    /// fresh lifetime-value quartiles; returns at once. For a bulk change the
    /// per-customer updates do not cover (a seed, a large import): each
    /// customer's own writes already keep their score current. Imports of
    /// orders, and of customers with lifetime values, ask for it themselves.
    virtual void recount_value_scores() = 0;
    /// Blanks call notes older than call_notes_before, deletes call records
    /// older than call_records_before and audit entries older than
    /// audit_before (by time of the call's start, of the entry), in batches
    /// of short transactions, then appends one audit entry ("system",
    /// "retention.apply", the counts and cutoffs) at `now`.
    virtual RetentionReport apply_retention(const RetentionCutoffs& cutoffs, Timestamp now) = 0;
    /// What apply_retention would change with these cutoffs now, changing
    /// nothing (`ringside retention --dry-run`).
    virtual RetentionReport preview_retention(const RetentionCutoffs& cutoffs) = 0;
};

}  // namespace ringside
