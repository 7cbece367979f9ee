#pragma once
// The call log port: where the engine keeps each call's record while it
// runs and when it ends. Owned by the core; storage implements it
// (SQLite's store, and in the server the write-behind queue in front of it).
//
// Blocking: the writes may block for a disk commit (a few ms on SQLite) in
// a plain store; the server's write-behind queue takes them without
// waiting. The reads ask the database: about 50 us on SQLite's warm page
// cache, longer over a network. The engine reads only on rare paths (a
// resync after a restart, a disposition of a call that already ended).
//
// Errors: infrastructure failures throw (storage's StorageError); "no such
// call" is an empty optional, false or no_such_call; a disposition saved
// meanwhile is changed_meanwhile.
#include <optional>
#include <string>
#include <vector>

#include "ringside/core/model.hpp"

namespace ringside {

class CallLog {
public:
    virtual ~CallLog() = default;

    /// Inserts the record or replaces the one with the same id, with its legs.
    /// A record with merged_into set is removed instead (with its legs, rings
    /// and history): an attended transfer's consultation call lives on in the
    /// call it was merged into.
    virtual void upsert_call(const CallRecord& c) = 0;
    /// Stores the final record and, when the caller is a known customer, its
    /// interaction, in one transaction: both or neither. Idempotent: an
    /// interaction with the same call_id is replaced, never duplicated.
    virtual void finish_call(const CallRecord& c, const std::optional<Interaction>& history) = 0;
    /// One queued call-record write: an upsert_call, or a finish_call when
    /// `final` is set.
    struct CallWrite {
        CallRecord record;
        std::optional<Interaction> history;  // finish_call's history entry
        bool final = false;
    };
    /// Applies the writes in order in one transaction: all or none (a
    /// failure throws and stores none of them). The default applies them
    /// one by one; SQLite overrides it because one commit for many writes
    /// is far cheaper than a commit each.
    virtual void write_calls(const std::vector<CallWrite>& batch) {
        for (const auto& w : batch) {
            if (w.final) finish_call(w.record, w.history);
            else upsert_call(w.record);
        }
    }
    virtual std::optional<CallRecord> find_call(const CallId& id) = 0;
    /// Records not final (status ringing, or answered with no ended_at) of a PBX.
    virtual std::vector<CallRecord> open_calls(const PbxId& pbx) = 0;
    /// Stores disposition and notes on the call and its history entry. false if no such call.
    virtual bool set_disposition(const CallId& id, const std::string& disposition, const std::string& notes) = 0;

    /// What a conditional disposition write did.
    enum class DispositionWrite { written, no_such_call, changed_meanwhile };
    /// set_disposition, but only while the stored disposition is still
    /// `previous` (the value the writer read; "" for none): the check and
    /// the write are one step in the store, so of two writers saving over
    /// the same value at once exactly one is `written` and the other sees
    /// `changed_meanwhile`, whichever process or node each runs in.
    /// Nothing is written unless the result is `written`.
    virtual DispositionWrite set_disposition_if(const CallId& id, const std::string& disposition,
                                                const std::string& notes, const std::string& previous) = 0;
};

}  // namespace ringside
