#pragma once
// The call engine: PBX events in, call records and pops out. Pure domain
// logic over the ports the core owns (ports/: the call log, the user
// directory, the customer files, the audit trail, pop delivery and the
// customer lookup); no sockets, no SQL. Not thread-safe
// (but for stats() and published_live_calls()): the server runs it on one
// strand, the tests call it directly.
//
// For every tracker effect:
//   CallStarted    -> inbound: caller looked up (E.164, then one
//                     CustomerLookup) once per call, the call's later effects
//                     waiting for its answer; call record stored with status
//                     "ringing" and the customer, so a call dropped before
//                     any phone rings is still the customer's
//   Ringing        -> `call.ringing` to every enabled agent on that extension
//   Answered       -> record answered; `call.answered` to agents who got the
//                     pop; `call.retracted` (answered_elsewhere) to the others
//   StoppedRinging -> `call.retracted` to that extension's agents
//   Ended          -> final record (with a leg per agent phone and each leg's
//                     talk time) + customer history in one transaction;
//                     `call.ended` to the agent who took the call;
//                     `call.retracted` (caller_hung_up) to agents still ringing
//   Merged         -> the consultation call of an attended transfer is removed
//                     from the log (it lives on in the caller's call); the
//                     target agent then gets the caller's pop with
//                     `transferred_by` (a Ringing or Answered on the merged call)
//
// Who gets pops: inbound calls always; internal calls (an agent's phone
// calling another agent's) only with `pop_internal`; outbound calls (an
// agent's phone dialling an external number) never, but they are matched to
// the customer by the dialled number and logged with the calling agent.
#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "ringside/core/call_tracker.hpp"
#include "ringside/core/errors.hpp"
#include "ringside/core/model.hpp"
#include "ringside/core/phone.hpp"
#include "ringside/core/ports/agent_activity.hpp"
#include "ringside/core/ports/audit_log.hpp"
#include "ringside/core/ports/call_log.hpp"
#include "ringside/core/ports/customer_contexts.hpp"
#include "ringside/core/ports/customer_lookup.hpp"
#include "ringside/core/ports/pop_sink.hpp"
#include "ringside/core/ports/user_directory.hpp"

namespace ringside {

struct CallServiceStats {
    std::uint64_t events = 0;          // PBX events fed
    std::uint64_t calls_started = 0;
    std::uint64_t calls_ended = 0;
    std::uint64_t pops_sent = 0;       // call.ringing messages handed to the sink
    std::uint64_t lookups = 0;         // customer lookups
    std::uint64_t lookup_hits = 0;
    std::size_t active_calls = 0;
    std::uint64_t calls_merged = 0;    // consultation calls folded into the caller's call (attended transfers)
};

struct CallServiceOptions {
    /// `[calls] pop_internal`: pop calls between two agents' phones as if a
    /// customer called. Default false: internal calls are logged, not popped.
    bool pop_internal = false;
};

/// The storage ports the engine works through. Each outlives the engine.
struct EnginePorts {
    CallLog& calls;
    UserDirectory& users;
    CustomerContexts& customers;
    AuditLog& audit;

    EnginePorts(CallLog& c, UserDirectory& u, CustomerContexts& cu, AuditLog& a)
        : calls(c), users(u), customers(cu), audit(a) {}
    /// One store that implements all four (storage's Storage does).
    template <class Store>
        requires std::derived_from<Store, CallLog> && std::derived_from<Store, UserDirectory> &&
                 std::derived_from<Store, CustomerContexts> && std::derived_from<Store, AuditLog>
    EnginePorts(Store& s)  // NOLINT(google-explicit-constructor): a store is its ports
        : calls(s), users(s), customers(s), audit(s) {}
};

class CallService {
public:
    CallService(EnginePorts ports, PopSink& sink, const PhoneNormalizer& phones);
    CallService(EnginePorts ports, PopSink& sink, const PhoneNormalizer& phones, CallServiceOptions options);
    /// With customer lookups answered later, on the engine's strand: a
    /// call's effects wait for its answer, in order; other calls go on.
    /// (Without one, lookups ask `ports.customers` inline.) `lookup` outlives this.
    CallService(EnginePorts ports, PopSink& sink, const PhoneNormalizer& phones, CallServiceOptions options,
                CustomerLookup& lookup);
    ~CallService();

    /// Feeds one PBX event through that PBX's tracker and acts on the effects.
    /// Storage failures propagate (the ports' exceptions); the tracker state stays consistent.
    void on_pbx_event(const pbx::Event& ev);

    /// After a restart: records of `pbx` left open by a previous run are
    /// closed at `now` once the PBX has been resynchronised (ResyncEnd) and the
    /// call is not among those it still has; call at start for PBXs that are
    /// no longer configured (closes them all).
    void close_orphans(const PbxId& pbx, Timestamp now);

    /// POST /api/calls/{id}/disposition: the agent who took the call, or a
    /// supervisor/admin. Notes have card numbers masked before they are stored.
    /// `previous`, when given, is the disposition the writer last saw ("" for
    /// none): a call whose disposition is something else by now (another
    /// device saved it meanwhile) is a conflict, and nothing is overwritten.
    Result<CallRecord> set_disposition(const User& by, const CallId& id, const std::string& disposition,
                                       const std::string& notes,
                                       const std::optional<std::string>& previous = std::nullopt);

    /// The end of each answered call an agent took goes to `activity` too
    /// (their wrap-up); null: nobody listens. Call before the first event;
    /// `activity` outlives this and is called on the engine's thread.
    void set_agent_activity(AgentActivity* activity);

    /// Counters and the number of calls in progress. Thread-safe (atomics):
    /// /metrics reads them from any thread without queueing on the engine.
    CallServiceStats stats() const;

    // ---- The supervisors' live board. Per PBX event the engine only notes
    // which calls changed (O(1)); nothing is built until flush_board.

    /// Calls in progress now, oldest first, each a live_call_json object.
    /// O(live calls): for a snapshot, never per event.
    nlohmann::json live_calls() const;

    /// Sends what changed on the board since the last flush to
    /// PopSink::Audience::supervisors, in one `board.changes`
    /// {"calls":[live call],"removed":[id]} (each changed call once, in its
    /// latest state; nothing when nothing changed); after a
    /// PBX resync, one full `board.calls` {"calls":[...]} instead. With
    /// `watched` false (no supervisor connected) nothing is built or sent and
    /// the changes are forgotten (the next watcher starts from a snapshot).
    /// Also publishes live_calls() for published_live_calls() when it changed
    /// and someone watches or read it lately. The server calls this every
    /// 250 ms on the engine's strand.
    void flush_board(bool watched);

    /// A full `board.calls` snapshot to one supervisor (PopSink::send_state):
    /// when their socket starts receiving live messages, in seq order with the
    /// deltas that follow.
    void send_board(const AgentId& to);

    /// The live calls as of the latest flush_board, for readers on other
    /// threads (GET /api/wallboard, the wallboard's agent states). Thread-safe;
    /// never waits for the engine. `current` is false when calls changed since
    /// it was published (the next flush publishes, as a read asks for it).
    /// Each call is a live_call_json object, shared with the engine: built
    /// once per change of that call, never copied to publish.
    using BoardList = std::vector<std::shared_ptr<const nlohmann::json>>;
    struct PublishedBoard {
        std::shared_ptr<const BoardList> calls;  // never null: empty before the first publish
        bool current = false;
    };
    PublishedBoard published_live_calls() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// The `call` object of pops: {"id","pbx","direction","from","from_raw","from_name","to","queue","started_at"}.
nlohmann::json pop_call_json(const CallRecord& c);
/// One call in progress on the wallboard: {"id","pbx","direction","from",
/// "from_name","anonymous","to","queue","customer_id","customer_name",
/// "customer_tier","status":"ringing"|"answered","started_at","answered_at",
/// "agent","extension","ringing":[{"extension","agent","since"}]} (the
/// phones ringing now). `customer` is the matched customer (name and tier;
/// null when unknown or not looked up yet).
nlohmann::json live_call_json(const CallRecord& c, const nlohmann::json& ringing, const Customer* customer = nullptr);
/// A `call.ringing` message (no seq) per docs/interface.md "WebSocket".
nlohmann::json ringing_message(const CallRecord& c, const std::optional<CustomerContext>& ctx);

}  // namespace ringside
