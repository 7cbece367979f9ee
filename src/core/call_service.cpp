#include "ringside/core/call_service.hpp"
#include "ringside/core/customers.hpp"

#include <algorithm>
#include <deque>
#include <exception>
#include <atomic>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "call_records.hpp"
#include "caller_history.hpp"
#include "dispositions.hpp"
#include "live_board.hpp"
#include "pop_messages.hpp"

namespace ringside {
namespace {

/// The call's first channel is a phone, not a trunk: a device channel whose
/// caller id is the phone's own extension, or a short number (fewer than 6
/// digits: an extension, never an external caller; the normaliser's rule).
/// A trunk's channel (FreeSWITCH's sofia/external/<number> too) carries the
/// external caller's number or a withheld one; the caller checks that the
/// caller id is no phone number either.
bool calls_as_phone(const CallSnapshot& s) {
    if (!s.caller_device || is_withheld_number(s.caller_num)) return false;
    const std::string& n = s.caller_num;
    if (n == s.caller_device->value()) return true;
    return n.size() < 6 && n.find_first_not_of("0123456789") == std::string::npos;
}

std::int64_t seconds_or_zero(Timestamp from, Timestamp to) { return to > from ? seconds_between(from, to) : 0; }

}  // namespace

struct CallService::Impl {
    EnginePorts ports;
    PopSink& sink;
    const PhoneNormalizer& phones;
    CallServiceOptions opts;
    InlineLookup inline_lookup{ports.customers};
    CustomerLookup& lookup;
    AgentActivity* activity = nullptr;

    /// The agents one extension's ring was popped to, and whether that pop
    /// still stands (not yet answered or retracted).
    struct Pop {
        Extension ext;
        std::vector<AgentId> agents;
        bool pending = true;
    };
    struct Active {
        CallRecord rec;
        std::optional<CustomerContext> ctx;
        bool looked_up = false;
        bool caller_seen = false;  // rec.from was computed from rec.from_raw
        bool from_e164 = false;    // rec.from is E.164 (a possible number)
        bool withheld = false;     // the caller withheld their number (rec.from is "")
        bool from_foreign_phone = false;  // started by a phone no user owns (calls_as_phone)
        std::string raw_seen;      // the caller id rec.from was computed from
        std::vector<Pop> pops;
        std::optional<Timestamp> queued_at;
        /// The first enabled agent of each extension seen in this call (nullopt:
        /// nobody), for the legs of the record without a read per leg.
        std::vector<std::pair<Extension, std::optional<AgentId>>> agent_of;
        std::string to_seen;       // rec.to was computed from this dialled string (outbound)
        /// "calls_today" and "missed_waiting" for this caller, computed once per call.
        nlohmann::json repeat = nlohmann::json::object();
        /// Phones ringing now and since when (the wallboard's view).
        std::vector<std::pair<Extension, Timestamp>> ringing_now;
        /// Its row on the live board (stable until the call leaves it).
        detail::LiveBoard::Row* row = nullptr;
        /// A customer lookup is out: this call's effects wait in `held`, in
        /// their order, until it answers (customer_lookup.hpp).
        bool lookup_pending = false;
        std::deque<Effect> held;
        /// Merged with a call whose lookup is out: this call's effects wait
        /// in that call's queue, so the two keep their order.
        std::optional<CallId> waits_for;
        bool stored = false;        // its first record write was made
        bool caller_dirty = false;  // prepare() changed the caller fields: the handler stores them
    };
    /// The supervisors' live board (live_board.hpp): the engine says what
    /// changed, O(1) per change; entries are built at a flush, when watched.
    detail::LiveBoard board{sink, [this](const CallId& id) { return board_entry(active.at(id)); }};

    /// The call's board entry changed.
    void touch(Active& a) { board.touch(*a.row); }
    /// The call left the board (ended, or merged into another).
    void removed(const Active& a) { board.leave(a.rec.id); }
    /// Enters a new call into `active` and the board.
    Active& enter(const CallId& id, Active a) {
        Active& in = active.emplace(id, std::move(a)).first->second;
        in.row = &board.enter(id);
        return in;
    }

    void ring_at(Active& a, const Extension& ext, Timestamp at) {
        std::erase_if(a.ringing_now, [&](const auto& r) { return r.first == ext; });
        a.ringing_now.emplace_back(ext, at);
        touch(a);
    }
    void stop_ring(Active& a, const Extension& ext) {
        std::erase_if(a.ringing_now, [&](const auto& r) { return r.first == ext; });
        touch(a);
    }

    nlohmann::json board_entry(const Active& a) const {
        nlohmann::json ringing = nlohmann::json::array();
        for (const auto& [ext, since] : a.ringing_now) {
            const auto* who = known_agent(a, ext);
            ringing.push_back({{"extension", ext.value()},
                               {"agent", who && *who ? nlohmann::json((*who)->value()) : nlohmann::json(nullptr)},
                               {"since", format_iso(since)}});
        }
        // The supervisor sees who calls: the customer's name and tier once matched.
        return live_call_json(a.rec, ringing, a.ctx && a.rec.customer_id ? &a.ctx->customer : nullptr);
    }

    std::unordered_map<CallId, Active> active;
    std::unordered_map<PbxId, CallTracker> trackers;
    std::unordered_map<PbxId, bool> resyncing;

    std::atomic<std::uint64_t> events{0}, calls_started{0}, calls_ended{0}, pops_sent{0}, lookups{0},
        lookup_hits{0}, calls_merged{0};
    std::atomic<std::size_t> active_calls{0};

    Impl(EnginePorts s, PopSink& p, const PhoneNormalizer& ph, CallServiceOptions o, CustomerLookup* l)
        : ports(s), sink(p), phones(ph), opts(o), lookup(l ? *l : inline_lookup) {}

    /// Whether agents get pops for this call at all.
    bool pops_for(const Active& a) const {
        switch (a.rec.direction) {
        case Direction::inbound: return true;
        case Direction::internal: return opts.pop_internal;
        case Direction::outbound: return false;
        }
        return true;
    }

    /// Enabled agents on ext; remembers the first for the call's legs.
    std::vector<AgentId> agents_on(Active& a, const Extension& ext) {
        std::vector<AgentId> out;
        for (auto& u : ports.users.users_by_extension(ext))
            if (!u.disabled) out.push_back(u.username);
        remember_agent(a, ext, out.empty() ? std::nullopt : std::optional<AgentId>(out.front()));
        return out;
    }
    void remember_agent(Active& a, const Extension& ext, std::optional<AgentId> agent) {
        for (auto& [e, who] : a.agent_of)
            if (e == ext) {
                if (agent) who = std::move(agent);
                return;
            }
        a.agent_of.emplace_back(ext, std::move(agent));
    }
    const std::optional<AgentId>* known_agent(const Active& a, const Extension& ext) const {
        for (const auto& [e, who] : a.agent_of)
            if (e == ext) return &who;
        return nullptr;
    }
    /// Who transferred, as the pop names it: the agent of that phone, else the
    /// extension itself. One read per transfer, never per event.
    std::optional<AgentId> transferer_name(Active& a, const std::optional<Extension>& by) {
        if (!by) return std::nullopt;
        const std::optional<AgentId>* known = known_agent(a, *by);
        if (!known) {
            agents_on(a, *by);
            known = known_agent(a, *by);
        }
        if (known && *known) return *known;
        return AgentId(by->value());
    }

    /// The note a transfer target's pop carries: who transferred, and the
    /// disposition and notes they saved on the call before transferring (if any).
    void add_transfer_note(Active& a, nlohmann::json& msg, const std::optional<Extension>& by) {
        auto who = transferer_name(a, by);
        if (!who) return;
        msg["transferred_by"] = who->value();
        nlohmann::json note = {{"by", who->value()}, {"disposition", nullptr}, {"notes", nullptr}};
        if (!a.rec.disposition.empty()) note["disposition"] = a.rec.disposition;
        if (!a.rec.notes.empty()) note["notes"] = a.rec.notes;
        msg["transfer_note"] = std::move(note);
    }

    /// Repeat and missed callers (caller_history.hpp).
    detail::CallerHistory history;

    /// At the first ring of an inbound call from a number: count it, and note
    /// what the pop says about the caller.
    void count_caller(Active& a, Timestamp at) { a.repeat = history.count_ring(a.rec.from, a.rec.id, a.ctx, at); }

    /// At the end: a missed inbound call waits for a call-back; an answered
    /// call from or to the number closes it.
    void settle_caller(const Active& a) {
        const CallRecord& r = a.rec;
        if (r.direction == Direction::inbound && a.from_e164) history.settle(r.from, r, a.ctx);
        else if (r.direction == Direction::outbound && !r.to.empty() && r.to[0] == '+') history.settle(r.to, r, a.ctx);
    }

    /// The `call.ringing` of this call, with its repeat-caller fields.
    nlohmann::json pop_of(const Active& a) const {
        nlohmann::json m = ringing_message(a.rec, a.ctx);
        for (const auto& [k, v] : a.repeat.items()) m[k] = v;
        if (!m.contains("calls_today")) m["calls_today"] = nullptr;
        if (!m.contains("missed_waiting")) m["missed_waiting"] = nullptr;
        return m;
    }

    void note_queue(Active& a, const CallSnapshot& s) {
        if (s.queued_at && !a.queued_at) a.queued_at = s.queued_at;
        if (s.queue_position && !a.rec.queue_position) a.rec.queue_position = s.queue_position;
    }

    void send(const AgentId& to, nlohmann::json m) { sink.send(to, std::move(m)); }

    /// Caller fields of the record from the tracker's snapshot. True when any
    /// changed. Normalises only a number it has not seen (libphonenumber is
    /// the costliest step of a call after storage).
    bool apply_caller(Active& a, const CallSnapshot& s) {
        CallRecord& r = a.rec;
        bool changed = false;
        // Only an external caller is withheld: an agent's phone calling
        // (internal, outbound) shows its extension.
        const bool withheld =
            r.direction == Direction::inbound && (s.caller_withheld || is_withheld_number(s.caller_num));
        if (!a.caller_seen || a.raw_seen != s.caller_num || a.withheld != withheld) {
            std::string from, raw = s.caller_num;
            if (withheld) {
                // Shown as withheld and never looked up; a real number the
                // PBX was told not to present is not kept at all.
                a.from_e164 = false;
                if (!is_withheld_number(raw)) raw.clear();
            } else {
                auto n = phones.normalize(s.caller_num);
                a.from_e164 = n.has_value();
                from = n ? n->e164() : s.caller_num;
            }
            changed = r.from != from || r.from_raw != raw;
            if (r.from != from && a.looked_up && r.direction != Direction::outbound) {
                // The caller id changed before any phone rang (the dialplan
                // rewrote it): the customer is the new number's.
                a.looked_up = false;
                a.ctx.reset();
                r.customer_id.reset();
            }
            r.from = std::move(from);
            r.from_raw = std::move(raw);
            a.raw_seen = s.caller_num;
            a.withheld = withheld;
            a.caller_seen = true;
        }
        const std::string name = a.withheld ? std::string() : s.caller_name;
        changed = changed || r.from_name != name ||
                  (r.direction != Direction::outbound && !s.dialed.empty() && r.to != s.dialed) ||
                  (s.queue && r.queue != s.queue);
        r.from_name = name;
        if (r.direction == Direction::outbound) {
            // The external party is the one dialled: `to` in E.164 when it is a number.
            if (!s.dialed.empty() && s.dialed != a.to_seen) {
                a.to_seen = s.dialed;
                auto n = phones.normalize(s.dialed);
                std::string to = n ? n->e164() : s.dialed;
                changed = changed || to != r.to;
                r.to = std::move(to);
            }
        } else if (!s.dialed.empty()) {
            r.to = s.dialed;
        }
        if (s.queue) r.queue = s.queue;
        return changed;
    }

    void on_started(const effect::CallStarted& e) {
        if (active.contains(e.call.id)) return;
        Active a;
        if (resyncing[e.call.pbx]) {
            // After a restart the resync lists calls a previous run stored:
            // carry on with that record rather than starting it over.
            if (auto stored = ports.calls.find_call(e.call.id); stored && !stored->ended_at) {
                a.rec = std::move(*stored);
                a.looked_up = true;
                if (a.rec.customer_id) a.ctx = ports.customers.customer_context(*a.rec.customer_id);
                enter(e.call.id, std::move(a));
                return;
            }
        }
        CallRecord& r = a.rec;
        r.id = e.call.id;
        r.pbx = e.call.pbx;
        r.started_at = e.call.started_at;
        r.status = CallStatus::ringing;
        r.direction = Direction::inbound;
        if (e.call.caller_device) {
            if (auto callers = agents_on(a, *e.call.caller_device); !callers.empty()) {
                // An agent's phone calls: another agent (internal), or an
                // external number that is nobody's extension (outbound).
                r.direction = Direction::internal;
                if (!e.call.dialed.empty() && phones.normalize(e.call.dialed) &&
                    ports.users.users_by_extension(Extension(e.call.dialed)).empty()) {
                    r.direction = Direction::outbound;
                    r.agent = callers.front();
                    r.extension = *e.call.caller_device;
                }
            } else if (calls_as_phone(e.call) && !phones.normalize(e.call.caller_num)) {
                // A phone no Ringside user owns (another tenant's, on a
                // shared PBX): never an inbound customer call. Dialling an
                // external number (nobody's extension) through the trunk it
                // is outbound, with no agent, no pop and no customer; else
                // it is internal unless an agent's phone rings (on_ended).
                a.from_foreign_phone = true;
                if (!e.call.dialed.empty() && phones.normalize(e.call.dialed) &&
                    ports.users.users_by_extension(Extension(e.call.dialed)).empty()) {
                    r.direction = Direction::outbound;
                    r.extension = *e.call.caller_device;
                    a.looked_up = true;
                }
            }
        }
        apply_caller(a, e.call);
        note_queue(a, e.call);
        Active& in = enter(e.call.id, std::move(a));
        calls_started.fetch_add(1, std::memory_order_relaxed);
        // Every inbound call is matched to its customer as it starts, whatever
        // happens next (dropped in the IVR, before any phone rings): still one
        // lookup per call, moved from the first ring to here. Its later
        // effects wait for the answer.
        if (in.rec.direction == Direction::inbound) look_up_caller(in, e.call.started_at);
        if (in.rec.direction == Direction::outbound && in.rec.agent) {
            // Matched to the customer by the number dialled, once per call; no pop.
            in.looked_up = true;
            if (auto n = phones.normalize(e.call.dialed)) start_lookup(in, n->e164(), false, e.call.started_at);
        }
        ports.calls.upsert_call(in.rec);
        in.stored = true;
    }

    /// A call from an agent's phone first seen as internal (an Originate's
    /// first event sits at exten `s`) is outbound once the number it dials
    /// shows (the dial's destination, the phone's extension in the dialplan)
    /// and is an external number, nobody's extension: matched to the customer
    /// and logged to the agent who dialled, as on_started does.
    void reclassify_outbound(Active& a, const CallSnapshot& s) {
        CallRecord& r = a.rec;
        if (r.direction != Direction::internal || !s.caller_device || s.dialed.empty() || s.dialed == "s") return;
        auto n = phones.normalize(s.dialed);
        if (!n || !ports.users.users_by_extension(Extension(s.dialed)).empty()) return;
        const auto callers = agents_on(a, *s.caller_device);
        if (callers.empty()) return;
        r.direction = Direction::outbound;
        r.agent = callers.front();
        r.extension = *s.caller_device;
        apply_caller(a, s);
        a.looked_up = true;
        touch(a);
        ports.calls.upsert_call(r);
        start_lookup(a, n->e164(), false, s.started_at);
    }

    /// The caller's customer, looked up once per call: as an inbound call
    /// starts (again at the first ring, answer or end only when the caller
    /// id changed or became a number after that).
    void look_up_caller(Active& a, Timestamp at) {
        if (a.looked_up) return;
        a.looked_up = true;
        if (!a.from_e164) return;
        start_lookup(a, a.rec.from, true, at);
    }

    /// Asks for the customer of `number`; the call's effects wait until the
    /// answer (which an inline lookup gives before this returns). `count`:
    /// the caller's number, counted for repeat callers at `at`.
    void start_lookup(Active& a, const std::string& number, bool count, Timestamp at) {
        a.lookup_pending = true;
        lookups.fetch_add(1, std::memory_order_relaxed);
        lookup.find_by_phone(number, [this, id = a.rec.id, count, at](std::optional<CustomerContext> ctx) {
            looked_up(id, count, at, std::move(ctx));
        });
    }

    void looked_up(const CallId& id, bool count, Timestamp at, std::optional<CustomerContext> ctx) {
        auto it = active.find(id);
        if (it == active.end() || !it->second.lookup_pending) return;  // a call's end waits for it: not expected
        Active& a = it->second;
        a.lookup_pending = false;
        a.ctx = std::move(ctx);
        if (a.ctx) {
            lookup_hits.fetch_add(1, std::memory_order_relaxed);
            a.rec.customer_id = a.ctx->customer.id;
            touch(a);
            if (a.stored) ports.calls.upsert_call(a.rec);
        }
        if (count && pops_for(a)) count_caller(a, at);
        // The effects that waited, in their order. One may start another
        // lookup (the caller id changed): those after it wait again.
        std::deque<Effect> held;
        held.swap(a.held);
        std::exception_ptr first;
        for (const auto& eff : held) {
            try {
                handle(eff);
            } catch (...) {
                if (!first) first = std::current_exception();
            }
        }
        if (first) std::rethrow_exception(first);
    }

    void on_ringing(const effect::Ringing& e) {
        auto it = active.find(e.call.id);
        if (it == active.end()) return;
        Active& a = it->second;
        CallRecord& r = a.rec;
        bool changed = std::exchange(a.caller_dirty, false);
        changed = apply_caller(a, e.call) || changed;
        note_queue(a, e.call);
        if (a.queued_at) {
            const auto hold = seconds_or_zero(*a.queued_at, e.at);
            changed = changed || hold != r.hold_seconds;
            r.hold_seconds = hold;
        }
        look_up_caller(a, e.at);  // prepare() asked already: a no-op
        Pop pop{e.ext, agents_on(a, e.ext), true};
        ring_at(a, e.ext, e.at);
        for (const auto& agent : pop.agents)
            if (std::find(r.rang.begin(), r.rang.end(), agent) == r.rang.end()) r.rang.push_back(agent);
        if (!pop.agents.empty() && pops_for(a)) {
            // The pop goes out before the record is written: the agent's
            // screen must not wait for the disk.
            nlohmann::json msg = pop_of(a);
            add_transfer_note(a, msg, e.transferred_by);
            msg["rang_at"] = format_iso(e.at);  // when this phone began ringing: pop.shown measures from it
            // One message for all of them: the sink may serialise it once.
            sink.send_each(pop.agents, std::move(msg));
            pops_sent.fetch_add(pop.agents.size(), std::memory_order_relaxed);
            // A new ring of the same extension replaces its earlier pop.
            std::erase_if(a.pops, [&](const Pop& p) { return p.ext == e.ext; });
            a.pops.push_back(std::move(pop));
        }
        if (changed) ports.calls.upsert_call(r);  // nobody to pop: still tracked and logged
    }

    void on_answered(const effect::Answered& e) {
        auto it = active.find(e.call.id);
        if (it == active.end()) return;
        Active& a = it->second;
        CallRecord& r = a.rec;
        std::vector<AgentId> answerers;
        Pop* own = nullptr;
        for (auto& p : a.pops)
            if (p.ext == e.ext) own = &p;
        if (own) {
            answerers = own->agents;
        } else {
            answerers = agents_on(a, e.ext);
        }
        note_queue(a, e.call);
        apply_caller(a, e.call);
        reclassify_outbound(a, e.call);
        if (!own) look_up_caller(a, e.at);
        stop_ring(a, e.ext);
        r.status = CallStatus::answered;
        if (!r.answered_at) r.answered_at = e.at;
        if (a.queued_at && r.hold_seconds == 0) r.hold_seconds = seconds_or_zero(*a.queued_at, *r.answered_at);
        if (r.direction == Direction::outbound) {
            // The far end answered: the agent is the one who dialled.
            ports.calls.upsert_call(r);
            return;
        }
        r.extension = e.ext;
        // A record restored after a restart already names who took the call: they had the card.
        const bool had_card = r.agent && !answerers.empty() && *r.agent == answerers.front();
        r.agent = answerers.empty() ? std::nullopt : std::optional<AgentId>(answerers.front());
        ports.calls.upsert_call(r);

        if (own) own->pending = false;
        if (!pops_for(a)) return;
        if (!own && !answerers.empty() && !had_card) {
            // A phone that answered without being seen ringing: an attended
            // transfer joined an agent already talking on the consultation
            // call, or a pickup happened while the PBX link was down (seen
            // only in the resync). They get the caller's pop now, then the answer.
            nlohmann::json pop = pop_of(a);
            add_transfer_note(a, pop, e.transferred_by);
            sink.send_each(answerers, std::move(pop));
            pops_sent.fetch_add(answerers.size(), std::memory_order_relaxed);
            a.pops.push_back(Pop{e.ext, answerers, false});
        }
        if (!answerers.empty()) {
            nlohmann::json msg = detail::answered_message(r);
            sink.send_each(answerers, std::move(msg));
        }
        for (auto& p : a.pops) {
            if (!p.pending) continue;
            p.pending = false;
            sink.send_each(p.agents, detail::retracted_message(r.id, StopReason::answered_elsewhere));
        }
    }

    void on_stopped(const effect::StoppedRinging& e) {
        auto it = active.find(e.call.id);
        if (it == active.end()) return;
        stop_ring(it->second, e.ext);
        for (auto& p : it->second.pops) {
            if (p.ext != e.ext || !p.pending) continue;
            p.pending = false;
            sink.send_each(p.agents, detail::retracted_message(e.call.id, e.reason));
        }
    }

    void on_queued(const effect::Queued& e) {
        auto it = active.find(e.call.id);
        if (it == active.end()) return;
        // Stored with the next write (first ring or end): no write per queue event.
        if (!e.queue.empty() && it->second.rec.queue != e.queue) {
            it->second.rec.queue = e.queue;
            touch(it->second);
        }
    }

    void on_ended(const effect::Ended& e) {
        auto it = active.find(e.call.id);
        if (it == active.end()) return;
        // Forget the call whatever storage does: a record left open by a
        // failed write is closed by close_orphans, never by a stale entry.
        removed(it->second);
        Active a = std::move(it->second);
        active.erase(it);
        CallRecord& r = a.rec;
        for (auto& p : a.pops) {
            if (!p.pending) continue;
            p.pending = false;
            sink.send_each(p.agents, detail::retracted_message(r.id, StopReason::caller_hung_up));
        }
        if (e.call.queue && !r.queue) r.queue = e.call.queue;
        note_queue(a, e.call);
        reclassify_outbound(a, e.call);
        r.legs.clear();
        for (const auto& l : e.legs) {
            CallLeg leg;
            if (const auto* who = known_agent(a, l.ext)) leg.agent = *who;
            leg.extension = l.ext;
            leg.rang_at = l.rang_at;
            leg.answered_at = l.answered_at;
            leg.ended_at = l.ended_at ? l.ended_at : std::optional<Timestamp>(e.at);
            if (l.answered_at) leg.talk_seconds = seconds_or_zero(*l.answered_at, *leg.ended_at);
            leg.transferred_by = transferer_name(a, l.transferred_by);
            r.legs.push_back(std::move(leg));
        }
        r.status = e.outcome == CallStatus::ringing ? CallStatus::missed : e.outcome;
        if (r.status == CallStatus::answered && !r.answered_at) r.answered_at = e.at;
        if (r.status != CallStatus::answered) {
            // Outcome comes from the whole call; a record answered by a
            // previous run keeps its answer.
            if (r.answered_at) r.status = CallStatus::answered;
        }
        detail::finalise_times(r, e.at);
        if (a.queued_at) r.hold_seconds = seconds_or_zero(*a.queued_at, r.answered_at ? *r.answered_at : e.at);
        calls_ended.fetch_add(1, std::memory_order_relaxed);
        // Between phones no user owns: no agent's phone rang, so no customer call.
        if (a.from_foreign_phone && r.direction == Direction::inbound && r.rang.empty())
            r.direction = Direction::internal;
        if (r.direction == Direction::inbound) {
            // A caller id that changed, or only became a number, after the
            // start and before any phone rang: the record and match follow it.
            apply_caller(a, e.call);
            look_up_caller(a, e.at);
        }
        note_hangup_side(a, e);
        settle_caller(a);
        ports.calls.finish_call(r, detail::history_of(r));
        // An agent's own outbound call never pops, but its end goes to them:
        // the console shows the finished call for its disposition and notes.
        if (r.agent && (pops_for(a) || r.direction == Direction::outbound))
            send(*r.agent, detail::ended_message(r));
        // After-call work follows any call the agent talked on, inbound or their own.
        if (activity && r.agent && r.status == CallStatus::answered) activity->answered_call_ended(*r.agent, r.queue, e.at);
    }

    /// Hang-up side (issue 4). The tracker's caller is the call's root: on
    /// an outbound call that is the agent's own phone, and the far end is a
    /// dialled phone of nobody's (a trunk): the record says it the
    /// supervisor's way round (caller = the external party).
    void note_hangup_side(Active& a, const effect::Ended& e) {
        CallRecord& r = a.rec;
        r.hangup_by = e.hangup_by;
        r.hangup_extension = e.hangup_ext;
        if (r.direction != Direction::outbound || !e.hangup_by) return;
        if (*e.hangup_by == HangupBy::caller && e.call.caller_device) {
            r.hangup_by = HangupBy::agent;
            r.hangup_extension = e.call.caller_device;
        } else if (const auto* who = e.hangup_ext ? known_agent(a, *e.hangup_ext) : nullptr;
                   *e.hangup_by == HangupBy::agent && e.hangup_ext && (!who || !*who)) {
            r.hangup_by = HangupBy::caller;
            r.hangup_extension.reset();
        }
    }

    void on_merged(const effect::Merged& e) {
        auto it = active.find(e.from);
        if (it == active.end()) return;
        removed(it->second);
        Active a = std::move(it->second);
        active.erase(it);
        for (auto& p : a.pops) {
            if (!p.pending) continue;
            p.pending = false;
            sink.send_each(p.agents, detail::merged_retraction(e.from, e.into.id));
        }
        // Agents seen on the consultation call are known to the merged one.
        if (auto into = active.find(e.into.id); into != active.end()) {
            for (auto& [ext, who] : a.agent_of) remember_agent(into->second, ext, who);
            touch(into->second);  // its ringing phones may have an agent's name now
        }
        a.rec.merged_into = e.into.id;
        ports.calls.upsert_call(a.rec);  // removes the consultation call's record
        calls_merged.fetch_add(1, std::memory_order_relaxed);
    }

    /// The calls an effect is about: {call} or, for a merge, {from, into}.
    static std::pair<CallId, std::optional<CallId>> calls_of(const Effect& eff) {
        return std::visit(
            [](const auto& e) -> std::pair<CallId, std::optional<CallId>> {
                using T = std::decay_t<decltype(e)>;
                if constexpr (std::is_same_v<T, effect::Merged>) return {e.from, e.into.id};
                else return {e.call.id, std::nullopt};
            },
            eff);
    }

    /// The lookup-pending call whose queue an effect on `id` must wait in, if any.
    Active* waiting_queue(const CallId& id) {
        auto it = active.find(id);
        if (it == active.end()) return nullptr;
        Active& a = it->second;
        if (a.lookup_pending) return &a;
        if (!a.waits_for) return nullptr;
        auto other = active.find(*a.waits_for);
        if (other != active.end() && other->second.lookup_pending) return &other->second;
        a.waits_for.reset();
        return nullptr;
    }

    /// Queues the effect behind its call's lookup, if one is out. true: queued.
    bool hold_if_waiting(const Effect& eff) {
        auto [id, other] = calls_of(eff);
        Active* q = waiting_queue(id);
        Active* q2 = other ? waiting_queue(*other) : nullptr;
        if (!q && !q2) return false;
        Active* into = q ? q : q2;
        into->held.push_back(eff);
        if (other) {
            // Both calls' later effects wait in the same queue.
            for (const CallId* c : {&id, &*other})
                if (auto it = active.find(*c); it != active.end() && &it->second != into) it->second.waits_for = into->rec.id;
        }
        return true;
    }

    /// Before an effect with the call's latest snapshot: the caller fields,
    /// an outbound call found out, and the customer lookup these call for.
    /// true: a lookup is out, and the effect was queued behind it.
    bool prepare(const Effect& eff) {
        const CallSnapshot* snap = nullptr;
        Timestamp at{};
        bool ringing = false, answered = false;
        if (const auto* r = std::get_if<effect::Ringing>(&eff)) snap = &r->call, at = r->at, ringing = true;
        else if (const auto* an = std::get_if<effect::Answered>(&eff)) snap = &an->call, at = an->at, answered = true;
        else if (const auto* en = std::get_if<effect::Ended>(&eff)) snap = &en->call, at = en->at;
        if (!snap) return false;
        auto it = active.find(snap->id);
        if (it == active.end()) return false;
        Active& a = it->second;
        if (apply_caller(a, *snap)) a.caller_dirty = true;
        if (answered || !ringing) reclassify_outbound(a, *snap);
        if (!a.lookup_pending && !a.looked_up && a.from_e164 &&
            (ringing || answered || a.rec.direction == Direction::inbound))
            look_up_caller(a, at);
        if (!a.lookup_pending) return false;  // none, or answered inline
        a.held.push_back(eff);
        return true;
    }

    void handle(const Effect& eff) {
        if (hold_if_waiting(eff) || prepare(eff)) return;
        std::visit(
            [this](const auto& e) {
                using T = std::decay_t<decltype(e)>;
                if constexpr (std::is_same_v<T, effect::CallStarted>) on_started(e);
                else if constexpr (std::is_same_v<T, effect::Ringing>) on_ringing(e);
                else if constexpr (std::is_same_v<T, effect::Answered>) on_answered(e);
                else if constexpr (std::is_same_v<T, effect::StoppedRinging>) on_stopped(e);
                else if constexpr (std::is_same_v<T, effect::Queued>) on_queued(e);
                else if constexpr (std::is_same_v<T, effect::Ended>) on_ended(e);
                else if constexpr (std::is_same_v<T, effect::Merged>) on_merged(e);
            },
            eff);
    }

    void update_active_count() {
        std::size_t n = 0;
        for (const auto& [pbx, t] : trackers) n += t.active_calls();
        active_calls.store(n, std::memory_order_relaxed);
    }
};

CallService::CallService(EnginePorts ports, PopSink& sink, const PhoneNormalizer& phones)
    : CallService(ports, sink, phones, CallServiceOptions{}) {}

CallService::CallService(EnginePorts ports, PopSink& sink, const PhoneNormalizer& phones, CallServiceOptions options)
    : impl_(std::make_unique<Impl>(ports, sink, phones, options, nullptr)) {}

CallService::CallService(EnginePorts ports, PopSink& sink, const PhoneNormalizer& phones, CallServiceOptions options,
                         CustomerLookup& lookup)
    : impl_(std::make_unique<Impl>(ports, sink, phones, options, &lookup)) {}

CallService::~CallService() = default;

void CallService::on_pbx_event(const pbx::Event& ev) {
    Impl& m = *impl_;
    m.events.fetch_add(1, std::memory_order_relaxed);
    if (std::holds_alternative<pbx::ResyncBegin>(ev.payload)) m.resyncing[ev.pbx] = true;
    auto effects = m.trackers[ev.pbx].on_event(ev);
    m.update_active_count();
    struct ClearResync {
        Impl& m;
        const pbx::Event& ev;
        ~ClearResync() {
            if (std::holds_alternative<pbx::ResyncEnd>(ev.payload)) m.resyncing[ev.pbx] = false;
        }
    } clear{m, ev};
    for (const auto& eff : effects) m.handle(eff);
    // The PBX's view replaced ours: supervisors get the whole board again.
    if (std::holds_alternative<pbx::ResyncEnd>(ev.payload)) m.board.resynced();
}

nlohmann::json CallService::live_calls() const { return impl_->board.snapshot(); }

void CallService::flush_board(bool watched) { impl_->board.flush(watched); }

void CallService::send_board(const AgentId& to) {
    impl_->sink.send_state(to, detail::board_calls_message(impl_->board.snapshot()));
}

CallService::PublishedBoard CallService::published_live_calls() const { return impl_->board.published(); }

void CallService::close_orphans(const PbxId& pbx, Timestamp now) {
    Impl& m = *impl_;
    for (auto& r : m.ports.calls.open_calls(pbx)) {
        if (m.active.contains(r.id)) continue;
        r.status = r.answered_at ? CallStatus::answered : CallStatus::missed;
        detail::finalise_times(r, now);
        m.ports.calls.finish_call(r, detail::history_of(r));
    }
}

Result<CallRecord> CallService::set_disposition(const User& by, const CallId& id, const std::string& disposition,
                                                const std::string& notes, const std::optional<std::string>& previous) {
    Impl& m = *impl_;
    if (auto bad = detail::check_disposition_fields(disposition, notes)) return *bad;

    auto it = m.active.find(id);
    std::optional<CallRecord> rec;
    if (it != m.active.end()) rec = it->second.rec;
    else rec = m.ports.calls.find_call(id);
    if (!rec) return Failure{DomainError::not_found, "no such call"};
    // Who may write is checked here; whether the writer saw the latest save
    // is the store's to decide, never this node's live record (another node,
    // or another connection to the same file, may have saved since it was
    // read). The write is conditional on the disposition the writer saw (or,
    // when it did not say, the one read here): a save since then is a
    // conflict, never overwritten.
    if (auto refused = detail::check_disposition_write(by, *rec)) return *refused;
    std::string masked = detail::stored_notes(notes);
    const std::string expected = previous ? *previous : rec->disposition;
    switch (m.ports.calls.set_disposition_if(id, disposition, masked, expected)) {
    case CallLog::DispositionWrite::written:
        break;
    case CallLog::DispositionWrite::no_such_call:
        return Failure{DomainError::not_found, "no such call"};
    case CallLog::DispositionWrite::changed_meanwhile: {
        auto stored = m.ports.calls.find_call(id);
        if (!stored) return Failure{DomainError::not_found, "no such call"};
        // The live record takes the stored text, so the call's later
        // writes do not put the overwritten value back.
        if (it != m.active.end()) {
            it->second.rec.disposition = stored->disposition;
            it->second.rec.notes = stored->notes;
        }
        return detail::disposition_conflict(stored->disposition);
    }
    }
    rec->disposition = disposition;
    rec->notes = std::move(masked);
    // Keep the live record in step so the final write does not undo it.
    if (it != m.active.end()) {
        it->second.rec.disposition = rec->disposition;
        it->second.rec.notes = rec->notes;
    }
    m.ports.audit.audit(by.username.value(), "call.disposition", id.value(), now_ms());
    return *rec;
}

void CallService::set_agent_activity(AgentActivity* activity) { impl_->activity = activity; }

CallServiceStats CallService::stats() const {
    const Impl& m = *impl_;
    CallServiceStats s;
    s.events = m.events.load(std::memory_order_relaxed);
    s.calls_started = m.calls_started.load(std::memory_order_relaxed);
    s.calls_ended = m.calls_ended.load(std::memory_order_relaxed);
    s.pops_sent = m.pops_sent.load(std::memory_order_relaxed);
    s.lookups = m.lookups.load(std::memory_order_relaxed);
    s.lookup_hits = m.lookup_hits.load(std::memory_order_relaxed);
    s.active_calls = m.active_calls.load(std::memory_order_relaxed);
    s.calls_merged = m.calls_merged.load(std::memory_order_relaxed);
    return s;
}

}  // namespace ringside
