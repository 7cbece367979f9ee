#pragma once
// The domain's rules for what a store keeps, as pure functions (no I/O):
// which free text is stored with card numbers masked, and how a finished
// call's history entry carries over what the agent already saved on the
// call. Every Storage implementation applies them before it writes.
#include <optional>
#include <string>

#include "ringside/core/model.hpp"

namespace ringside {

// ---- card numbers (privacy.hpp mask_card_numbers) in stored free text

/// A customer as stored: notes and removed_reason masked.
Customer stored_form(Customer c);
/// An issue as stored: title and description masked.
Issue stored_form(Issue i);
/// An issue change as stored: before and after masked.
IssueChange stored_form(IssueChange ch);
/// Free text of one field as stored: a call's or its history entry's notes,
/// a history entry's summary, an erasure's reason.
std::string stored_text(const std::string& text);

// ---- the agent's disposition on a call and its history entry

/// The agent's text on a call: an update that carries none (the engine's
/// writes never do) keeps what is stored; one that carries text replaces it.
/// The same rule holds for the disposition and for the notes.
std::string kept_agent_text(const std::string& incoming, const std::string& stored);

/// What the agent saved on the call's row, as stored.
struct SavedDisposition {
    std::string disposition;
    std::string notes;
};

/// A finished call's history entry with the fields a store writes beside it.
struct CallHistoryEntry {
    Interaction entry;
    std::string notes;                     // the agent's closing notes, stored with the entry
};

/// The history entry of a finished call. An agent may close the call before
/// the PBX reports its end; what they saved on the call row (`saved`) is
/// carried over: the disposition unless the entry brings its own, and the
/// notes. The entry always names its call: the call id is the idempotency
/// key of a call's history entry.
CallHistoryEntry finished_call_history(const CallRecord& call, Interaction entry,
                                       const std::optional<SavedDisposition>& saved);

}  // namespace ringside
