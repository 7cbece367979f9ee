#include "ringside/core/stored_records.hpp"

#include <utility>

#include "ringside/core/privacy.hpp"

namespace ringside {

Customer stored_form(Customer c) {
    c.notes = mask_card_numbers(c.notes);
    c.removed_reason = mask_card_numbers(c.removed_reason);
    return c;
}

Issue stored_form(Issue i) {
    i.title = mask_card_numbers(i.title);
    i.description = mask_card_numbers(i.description);
    return i;
}

IssueChange stored_form(IssueChange ch) {
    ch.before = mask_card_numbers(ch.before);
    ch.after = mask_card_numbers(ch.after);
    return ch;
}

std::string stored_text(const std::string& text) { return mask_card_numbers(text); }

std::string kept_agent_text(const std::string& incoming, const std::string& stored) {
    return incoming.empty() ? stored : incoming;
}

CallHistoryEntry finished_call_history(const CallRecord& call, Interaction entry,
                                       const std::optional<SavedDisposition>& saved) {
    CallHistoryEntry out{std::move(entry), {}};
    out.entry.call_id = call.id;
    if (saved) {
        out.entry.disposition = kept_agent_text(out.entry.disposition, saved->disposition);
        out.notes = saved->notes;
    }
    return out;
}

}  // namespace ringside
