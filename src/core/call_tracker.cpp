#include "ringside/core/call_tracker.hpp"

#include "ringside/core/recent_ids.hpp"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <utility>

namespace ringside {
namespace {

// Bounds against a PBX that never sends Hangup for some channels: past these
// the tracker ignores new channels / legs instead of growing. A resync (every
// reconnect) sweeps channels the PBX no longer has.
constexpr std::size_t max_channels = 200'000;
constexpr std::size_t max_legs_per_call = 256;

enum class LegState { ringing, answered, stopped };

/// One extension's part in a call: rang, then answered or stopped.
struct Leg {
    Extension ext;
    std::string uniqueid;  // the device channel that rang
    LegState state = LegState::ringing;
    Timestamp rang_at{};
    std::optional<Timestamp> answered_at;
    std::optional<Timestamp> ended_at;        // its answered channel hung up
    std::optional<Extension> transferred_by;
    // The dial to it was cancelled (DialEnd CANCEL) but the phone has not hung
    // up yet: its hangup cause says why (26: answered elsewhere, as after a
    // pickup), else the caller went.
    bool cancelled = false;
    // A phone's own call ended its dial to it unanswered (DialEnd NOANSWER)
    // but the phone has not hung up: a blonde transfer's hand-over whose
    // AttendedTransfer is still to come, or a dial that timed out, which
    // the phone's hangup, right after, ends as not answered.
    bool no_answer_pending = false;
};

struct Call;

struct Channel {
    pbx::ChannelInfo info;
    Call* call = nullptr;
    std::optional<Extension> device;  // set for phones (SIP/1001-...), never for Local channels
    bool local = false;
    bool dialled = false;   // was the destination of a DialBegin / AgentCalled
    bool listed = false;    // listed by the resync in progress
};

struct Call {
    std::string key;            // Linkedid, or (pre-12) the first channel's Uniqueid
    bool has_linkedid = false;
    bool started = false;       // CallStarted emitted
    bool rebuilding = false;    // created by a resync listing: started at ResyncEnd
    std::string root;           // Uniqueid of the caller's channel ("" until a non-Local channel joins)
    bool root_gone = false;
    std::vector<std::string> channels;
    CallSnapshot snap;
    bool caller_frozen = false; // the first ring was reported: caller id no longer follows the root
    std::vector<Leg> legs;
    bool answered = false;
    bool abandoned = false;
    bool in_queue = false;
    bool busy = false;
    bool failed = false;
    int root_cause = 0;
    // A transfer happened: rings after it name the phone that transferred.
    bool transferred = false;
    std::optional<Extension> transfer_by;
    // Blonde transfers: consultation channels whose dials the caller took
    // over (pbx::Transfer::dial_moved). Their unanswered DialEnds are the
    // hand-over, not the end of a ring: the same phones ring on for the caller.
    std::vector<std::string> moved_dialers;
    // Hang-up side (issue 4): the first party to leave since the last ring
    // or answer (a transfer starts a new conversation), and why the last
    // ringing phone stopped (for calls nobody answered).
    bool hangup_decided = false;
    std::optional<HangupBy> hangup_by;
    std::optional<Extension> hangup_ext;
    std::optional<StopReason> last_stop;
    std::optional<Extension> last_stop_ext;
};

StopReason stop_reason_of(pbx::DialStatus s) {
    switch (s) {
    case pbx::DialStatus::cancel: return StopReason::caller_hung_up;
    case pbx::DialStatus::busy: return StopReason::busy;
    case pbx::DialStatus::noanswer: return StopReason::no_answer;
    default: return StopReason::rejected;
    }
}

}  // namespace

struct CallTracker::Impl {
    // Phones whose channels hung up lately, by uniqueid: a transfer reported
    // after the transferer's hangup (FreeSWITCH) still names its phone.
    // Bounded: the oldest are forgotten first.
    static constexpr std::size_t max_gone = 256;
    std::unordered_map<std::string, Extension> gone_devices;
    std::deque<std::string> gone_order;
    void remember_gone(const std::string& uid, const Extension& ext) {
        if (!gone_devices.insert_or_assign(uid, ext).second) return;
        gone_order.push_back(uid);
        if (gone_order.size() > max_gone) {
            gone_devices.erase(gone_order.front());
            gone_order.pop_front();
        }
    }

    // Channels that hung up and calls that ended, lately: anything the PBX
    // still says of them (FreeSWITCH's CHANNEL_CALLSTATE DOWN as the session
    // is destroyed, a resync listing taken just before a Hangup, a dial
    // reported after its callee hung up) is late, never a new channel or a
    // new call under the same id.
    RecentIds hung_up;
    RecentIds ended_calls;

    std::unordered_map<std::string, Channel> channels;
    std::unordered_map<std::string, std::unique_ptr<Call>> calls;
    bool resyncing = false;
    std::size_t started_calls = 0;  // calls between CallStarted and Ended

    std::vector<Effect>* out = nullptr;
    const pbx::Event* ev = nullptr;

    Channel* find(const std::string& uid) {
        if (uid.empty()) return nullptr;
        auto it = channels.find(uid);
        return it == channels.end() ? nullptr : &it->second;
    }

    // ---- snapshot

    void refresh_caller(Call& c) {
        if (c.caller_frozen || c.root.empty()) return;
        const Channel* r = find(c.root);
        if (!r) return;
        c.snap.caller_num = r->info.caller_num;
        c.snap.caller_name = r->info.caller_name;
        c.snap.caller_withheld = r->info.caller_withheld.value_or(false);
        c.snap.caller_device = r->device;
        if (c.snap.dialed.empty() || c.snap.dialed == "s") c.snap.dialed = r->info.exten;
    }

    /// A non-Local channel becomes the root when the call has none yet, or
    /// when it is the Linkedid's own channel (the oldest one), as long as the
    /// caller has not been reported.
    void consider_root(Call& c, const std::string& uid, const Channel& ch) {
        if (ch.local) return;
        if (c.root.empty() || (uid == c.key && c.root != uid && !c.caller_frozen && !c.started)) {
            c.root = uid;
            c.root_gone = false;
        }
    }

    void maybe_start(Call& c, bool force) {
        if (c.started || c.rebuilding || c.root.empty()) return;
        if (!c.has_linkedid && !force) {
            // Without Linkedid a dialled channel shows up (Down) before the
            // Dial that ties it to its caller: only a channel that is itself
            // calling (Ring/Up) starts a call.
            const Channel* r = find(c.root);
            if (!r || (r->info.state != pbx::ChannelState::ring && r->info.state != pbx::ChannelState::up)) return;
        }
        c.started = true;
        ++started_calls;
        c.snap.started_at = ev->at;
        refresh_caller(c);
        out->push_back(effect::CallStarted{c.snap});
    }

    // ---- legs

    Leg* leg_of(Call& c, const Extension& ext) {
        for (auto& l : c.legs)
            if (l.ext == ext) return &l;
        return nullptr;
    }

    void freeze_caller(Call& c) {
        if (c.caller_frozen) return;
        refresh_caller(c);
        c.caller_frozen = true;
    }

    void ring(Call& c, const std::string& uid, const Channel& ch) {
        if (!c.started || !ch.device || uid == c.root) return;
        Leg* l = leg_of(c, *ch.device);
        if (l) {
            // Once per ringing: a second report of the same ring is ignored; a
            // new channel after the last one stopped (queue retry) rings again.
            if (l->state == LegState::ringing && l->uniqueid == uid) l->no_answer_pending = false;  // dialled again
            if (l->state != LegState::stopped || l->uniqueid == uid) return;
            l->uniqueid = uid;
            l->state = LegState::ringing;
            l->cancelled = false;
            l->no_answer_pending = false;
        } else {
            if (c.legs.size() >= max_legs_per_call) return;
            c.legs.push_back(Leg{*ch.device, uid, LegState::ringing, ev->at, {}, {}, {}, false, false});
            l = &c.legs.back();
        }
        if (c.transferred && c.transfer_by != ch.device) l->transferred_by = c.transfer_by;
        freeze_caller(c);
        hangup_reset(c);
        out->push_back(effect::Ringing{c.snap, *ch.device, ev->at, l->transferred_by});
    }

    void answer(Call& c, const std::string& uid, const Channel& ch) {
        if (!c.started || !ch.device || uid == c.root) return;
        Leg* l = leg_of(c, *ch.device);
        if (l && l->state == LegState::answered) return;
        if (!l) {
            if (c.legs.size() >= max_legs_per_call) return;
            c.legs.push_back(Leg{*ch.device, uid, LegState::answered, ev->at, {}, {}, {}, false, false});
            l = &c.legs.back();
            if (c.transferred && c.transfer_by != ch.device) l->transferred_by = c.transfer_by;
        } else {
            l->uniqueid = uid;
            l->state = LegState::answered;
        }
        l->answered_at = ev->at;
        l->ended_at.reset();
        freeze_caller(c);
        c.answered = true;
        hangup_reset(c);
        out->push_back(effect::Answered{c.snap, *ch.device, ev->at, l->transferred_by});
        for (auto& other : c.legs) {
            if (other.state != LegState::ringing) continue;
            other.state = LegState::stopped;
            out->push_back(effect::StoppedRinging{c.snap, other.ext, StopReason::answered_elsewhere, ev->at});
        }
    }

    void stop(Call& c, const std::string& uid, const Channel& ch, StopReason why) {
        if (!ch.device) return;
        Leg* l = leg_of(c, *ch.device);
        if (!l || l->state != LegState::ringing || l->uniqueid != uid) return;
        l->state = LegState::stopped;
        c.last_stop = why;
        c.last_stop_ext = l->ext;
        out->push_back(effect::StoppedRinging{c.snap, l->ext, why, ev->at});
    }

    // ---- channels

    /// Applies fresh channel data and acts on the state change.
    void update(const std::string& uid, Channel& ch, const pbx::ChannelInfo& info) {
        const auto old_state = ch.info.state;
        ch.info.caller_num = info.caller_num;
        ch.info.caller_name = info.caller_name;
        ch.info.connected_num = info.connected_num;
        ch.info.connected_name = info.connected_name;
        // Presentation comes in its own events (AMI NewCallerid): an event
        // that does not say keeps what the last one said.
        if (info.caller_withheld) ch.info.caller_withheld = info.caller_withheld;
        if (!info.exten.empty()) ch.info.exten = info.exten;
        if (!info.context.empty()) ch.info.context = info.context;
        if (info.state != pbx::ChannelState::unknown) ch.info.state = info.state;
        // A changed Linkedid (attended transfer) does not move the channel:
        // each call keeps its id and ends once. Transfers are a later issue.
        Call* c = ch.call;
        if (!c) return;
        if (uid == c->root) {
            refresh_caller(*c);
            maybe_start(*c, false);
        }
        if (ch.info.state == old_state) return;
        if (ch.info.state == pbx::ChannelState::ringing) {
            ring(*c, uid, ch);
        } else if (ch.info.state == pbx::ChannelState::up && ch.device) {
            Leg* l = leg_of(*c, *ch.device);
            if (ch.dialled || (l && l->state == LegState::ringing && l->uniqueid == uid)) answer(*c, uid, ch);
        }
    }

    /// listed: from a resync listing. Live events that arrive while a resync
    /// is in progress are handled as live: only listed channels rebuild calls.
    Channel* create(const pbx::ChannelInfo& info, bool listed = false) {
        if (info.uniqueid.empty() || channels.size() >= max_channels) return nullptr;
        const std::string& key = info.linkedid.empty() ? info.uniqueid : info.linkedid;
        if (hung_up.contains(info.uniqueid) || (ended_calls.contains(key) && !calls.contains(key))) return nullptr;
        auto [it, inserted] = channels.try_emplace(info.uniqueid);
        if (!inserted) return nullptr;
        Channel& ch = it->second;
        ch.info = info;
        ch.local = pbx::is_local_channel(info.channel);
        if (!ch.local) ch.device = pbx::device_extension(info.channel);
        ch.listed = resyncing;

        auto& slot = calls[key];
        if (!slot) {
            slot = std::make_unique<Call>();
            slot->key = key;
            slot->has_linkedid = !info.linkedid.empty();
            slot->rebuilding = resyncing && listed;
            slot->snap.id = CallId(ev->pbx.value() + "-" + key);
            slot->snap.pbx = ev->pbx;
            slot->snap.started_at = ev->at;
        }
        Call& c = *slot;
        ch.call = &c;
        c.channels.push_back(info.uniqueid);
        consider_root(c, info.uniqueid, ch);
        refresh_caller(c);
        maybe_start(c, false);
        return &ch;
    }

    void on_created(const pbx::ChannelInfo& info, bool listed) {
        if (Channel* known = find(info.uniqueid)) {
            // Outside a resync a second Newchannel for a live id is bad input.
            if (!resyncing) return;
            known->listed = true;
            update(info.uniqueid, *known, info);
            return;
        }
        Channel* ch = create(info, listed);
        if (!ch || !ch->call || ch->call->rebuilding) return;
        if (ch->info.state == pbx::ChannelState::ringing) {
            ring(*ch->call, info.uniqueid, *ch);
        } else if (listed && ch->info.state == pbx::ChannelState::up) {
            // Listed by a resync already talking in a call we track: it was
            // answered while the link was down.
            answer(*ch->call, info.uniqueid, *ch);
        }
    }

    /// Folds `from` into `into` (pre-12: dials, Local halves and bridges tie
    /// channels that carry no Linkedid). A call that has been reported is
    /// never folded away: it must still end under its own id.
    void merge(Call* into, Call* from) {
        if (!into || !from || into == from) return;
        if (from->started && !into->started) std::swap(into, from);
        if (from->started) return;
        if (into->has_linkedid && from->has_linkedid) return;
        for (const auto& uid : from->channels) {
            if (Channel* ch = find(uid)) {
                ch->call = into;
                into->channels.push_back(uid);
                consider_root(*into, uid, *ch);
            }
        }
        into->in_queue = into->in_queue || from->in_queue;
        into->abandoned = into->abandoned || from->abandoned;
        into->busy = into->busy || from->busy;
        into->failed = into->failed || from->failed;
        if (!into->snap.queue) into->snap.queue = from->snap.queue;
        into->rebuilding = into->rebuilding && from->rebuilding;
        const std::string gone = from->key;
        calls.erase(gone);  // destroys *from
        refresh_caller(*into);
    }

    void remove_channel(const std::string& uid, int cause) {
        auto it = channels.find(uid);
        if (it == channels.end()) return;
        Channel& ch = it->second;
        hung_up.add(uid);
        if (ch.device) remember_gone(uid, *ch.device);
        Call* c = ch.call;
        if (c) {
            if (ch.device && uid != c->root) {
                StopReason why = StopReason::no_answer;
                const Leg* ringing = leg_of(*c, *ch.device);
                if (cause == 17) why = StopReason::busy;
                else if (cause == 21) why = StopReason::rejected;
                else if (cause == 26) why = StopReason::answered_elsewhere;
                else if (c->root_gone || (ringing && ringing->uniqueid == uid && ringing->cancelled))
                    why = StopReason::caller_hung_up;
                stop(*c, uid, ch, why);
                if (Leg* l = leg_of(*c, *ch.device);
                    l && l->uniqueid == uid && l->state == LegState::answered && !l->ended_at)
                    l->ended_at = ev->at;
            }
            if (cause == 17) c->busy = true;
            if (uid == c->root) {
                c->root_gone = true;
                c->root_cause = cause;
                if (c->in_queue && !c->answered) c->abandoned = true;
            }
            std::erase(c->channels, uid);
        }
        channels.erase(it);
        if (c && c->channels.empty()) end(*c);
    }

    void end(Call& c) {
        if (c.started) {
            for (auto& l : c.legs) {
                if (l.state != LegState::ringing) continue;
                l.state = LegState::stopped;
                out->push_back(effect::StoppedRinging{c.snap, l.ext, StopReason::caller_hung_up, ev->at});
            }
            CallStatus outcome = CallStatus::missed;
            if (c.answered) outcome = CallStatus::answered;
            else if (c.abandoned) outcome = CallStatus::abandoned;
            else if (c.busy) outcome = CallStatus::busy;
            else if (c.failed && c.legs.empty()) outcome = CallStatus::failed;
            effect::Ended ended{c.snap, outcome, ev->at, c.root_cause, {}};
            ended.hangup_by = c.hangup_by;
            ended.hangup_ext = c.hangup_ext;
            ended.legs.reserve(c.legs.size());
            for (const auto& l : c.legs) {
                LegSnapshot s{l.ext, l.rang_at, l.answered_at, l.ended_at, l.transferred_by};
                if (s.answered_at && !s.ended_at) s.ended_at = ev->at;
                ended.legs.push_back(std::move(s));
            }
            out->push_back(std::move(ended));
            --started_calls;
        }
        const std::string key = c.key;
        if (c.started) ended_calls.add(key);
        calls.erase(key);  // frees the call's state
    }

    // ---- resync

    void resync_begin() {
        resyncing = true;
        for (auto& [uid, ch] : channels) ch.listed = false;
    }

    void resync_end() {
        if (!resyncing) return;
        resyncing = false;
        // Calls first seen in this resync: now that every channel is known the
        // root is the Linkedid's own channel (listing order is arbitrary).
        std::vector<Call*> rebuilt;
        for (auto& [key, c] : calls)
            if (c->rebuilding) rebuilt.push_back(c.get());
        for (Call* c : rebuilt) {
            c->rebuilding = false;
            maybe_start(*c, true);
            if (!c->started) continue;
            const auto uids = c->channels;
            for (const auto& uid : uids) {
                Channel* ch = find(uid);
                if (!ch || !ch->device || uid == c->root) continue;
                if (ch->info.state == pbx::ChannelState::ringing) ring(*c, uid, *ch);
            }
            for (const auto& uid : uids) {
                Channel* ch = find(uid);
                if (!ch || !ch->device || uid == c->root) continue;
                if (ch->info.state == pbx::ChannelState::up) answer(*c, uid, *ch);
            }
        }
        // Channels the PBX no longer has hung up while the link was down.
        std::vector<std::string> gone;
        for (const auto& [uid, ch] : channels)
            if (!ch.listed) gone.push_back(uid);
        for (const auto& uid : gone) remove_channel(uid, 0);
    }

    // ---- event handlers

    void on(const pbx::ChannelCreated& e) { on_created(e.ch, e.listed); }

    void on(const pbx::ChannelUpdated& e) {
        if (Channel* ch = find(e.ch.uniqueid)) update(e.ch.uniqueid, *ch, e.ch);
    }

    void on(const pbx::ChannelRenamed& e) {
        Channel* ch = find(e.uniqueid);
        if (!ch || e.new_channel.empty()) return;
        ch->info.channel = e.new_channel;
        ch->local = pbx::is_local_channel(e.new_channel);
        ch->device = ch->local ? std::nullopt : pbx::device_extension(e.new_channel);
    }

    void on(const pbx::DialBegin& e) {
        Channel* caller = find(e.caller.uniqueid);
        if (caller) update(e.caller.uniqueid, *caller, e.caller);
        Channel* dest = find(e.dest.uniqueid);
        if (!dest && caller && caller->call && !e.dest.uniqueid.empty()) {
            pbx::ChannelInfo info = e.dest;
            if (info.linkedid.empty() && caller->call->has_linkedid) info.linkedid = caller->call->key;
            dest = create(info);  // `caller` stays valid: the map is node-based
        }
        if (!dest) return;
        // Asterisk re-dials a phone that picked the call up (Pickup follows):
        // the picker is already Up on the call it made to the pickup code.
        if (caller && caller->call && dest->call && dest->info.state == pbx::ChannelState::up)
            adopt_picker(*caller->call, e.dest.uniqueid, *dest);
        if (caller && caller->call && e.caller.uniqueid == caller->call->root && caller->call->snap.caller_device &&
            !caller->call->caller_frozen && (caller->call->snap.dialed.empty() || caller->call->snap.dialed == "s") &&
            !e.dest.caller_num.empty()) {
            // A phone's call that sits at exten `s` (an Originate's first
            // channel) called what it dials: the destination's number.
            caller->call->snap.dialed = e.dest.caller_num;
        }
        if (caller && caller->call != dest->call) merge(caller->call, dest->call);
        if (caller && caller->call) maybe_start(*caller->call, true);
        dest->dialled = true;
        if (dest->call) ring(*dest->call, e.dest.uniqueid, *dest);
    }

    void on(const pbx::DialEnd& e) {
        Channel* dest = find(e.dest_uniqueid);
        Channel* caller = find(e.caller_uniqueid);
        Call* c = dest ? dest->call : (caller ? caller->call : nullptr);
        if (!c) return;
        // A blonde transfer hands this dial to the caller, who dials the same phone next.
        const auto& moved = c->moved_dialers;
        if (e.status != pbx::DialStatus::answer && std::ranges::find(moved, e.caller_uniqueid) != moved.end()) return;
        if (!e.forward.empty()) {
            // The phone forwarded the call (SIP 302); the forward's target is dialled next.
            if (dest) stop(*c, e.dest_uniqueid, *dest, StopReason::no_answer);
            return;
        }
        switch (e.status) {
        case pbx::DialStatus::answer:
            if (dest) answer(*c, e.dest_uniqueid, *dest);
            return;
        case pbx::DialStatus::cancel:
            // Wait for the phone's hangup to say why: a pickup cancels the
            // ringing phone before the picker is answered.
            if (dest && dest->device)
                if (Leg* l = leg_of(*c, *dest->device); l && l->state == LegState::ringing && l->uniqueid == e.dest_uniqueid) {
                    l->cancelled = true;
                    return;
                }
            break;
        case pbx::DialStatus::noanswer:
            // From a phone's own call (a consultation): wait for the phone's
            // hangup, or for the AttendedTransfer that hands the dial over.
            if (dest && dest->device && caller && calls_from_phone(*c, e.caller_uniqueid, *caller))
                if (Leg* l = leg_of(*c, *dest->device); l && l->state == LegState::ringing && l->uniqueid == e.dest_uniqueid) {
                    l->no_answer_pending = true;
                    return;
                }
            break;
        case pbx::DialStatus::busy: c->busy = true; break;
        case pbx::DialStatus::chanunavail:
        case pbx::DialStatus::congestion: c->failed = true; break;
        default: break;
        }
        if (dest) stop(*c, e.dest_uniqueid, *dest, stop_reason_of(e.status));
    }

    /// `uid` is the root of its call and a phone calling (its own
    /// extension, or a short number, as its caller id).
    static bool calls_from_phone(const Call& c, const std::string& uid, const Channel& ch) {
        if (uid != c.root || !ch.device) return false;
        const auto& n = ch.info.caller_num;
        return n == ch.device->value() ||
               (!n.empty() && n.size() < 6 && n.find_first_not_of("0123456789") == std::string::npos);
    }

    void on(const pbx::LocalPair& e) {
        Channel* a = find(e.uniqueid1);
        Channel* b = find(e.uniqueid2);
        if (a && b && a->call != b->call) merge(a->call, b->call);
    }

    void on(const pbx::BridgeEnter&) {}
    void on(const pbx::BridgeLeave&) {}

    void on(const pbx::BridgeLink& e) {
        if (!e.linked) return;
        Channel* a = find(e.uniqueid1);
        Channel* b = find(e.uniqueid2);
        if (a && b && a->call != b->call) merge(a->call, b->call);
    }

    void on(const pbx::Hangup& e) {
        note_hangup(e.uniqueid, std::nullopt, e.order_known);
        remove_channel(e.uniqueid, e.cause);
    }

    void on(const pbx::HangupRequest& e) { note_hangup(e.uniqueid, e.by_pbx, true); }

    // ---- hang-up side (issue 4)

    /// A new conversation (a phone rings or answers): whoever leaves next decides.
    static void hangup_reset(Call& c) {
        c.hangup_decided = false;
        c.hangup_by.reset();
        c.hangup_ext.reset();
    }

    static void decide_hangup(Call& c, HangupBy by, std::optional<Extension> ext = std::nullopt) {
        c.hangup_decided = true;
        c.hangup_by = by;
        c.hangup_ext = by == HangupBy::agent ? std::move(ext) : std::nullopt;
    }

    /// The party a channel stands for: the caller's root channel, or an
    /// agent phone that answered and is still on the call. The transferer's
    /// phone leaving after a transfer is nobody's hang-up.
    std::optional<HangupBy> party_of(const Call& c, const std::string& uid, const Channel& ch) const {
        if (c.transferred && ch.device && ch.device == c.transfer_by) return std::nullopt;
        if (uid == c.root) return HangupBy::caller;
        if (!ch.device) return std::nullopt;
        for (const auto& l : c.legs)
            if (l.uniqueid == uid && l.state == LegState::answered && !l.ended_at) return HangupBy::agent;
        return std::nullopt;
    }

    /// A channel is going (by_pbx set: the PBX said who asked; unset: its
    /// Hangup, in the order the PBX sent them). The first party to go since
    /// the last ring or answer decides; a request the PBX states wins over
    /// the order of the hangups that follow it.
    void note_hangup(const std::string& uid, std::optional<bool> by_pbx, bool order_known) {
        Channel* ch = find(uid);
        if (!ch || !ch->call) return;
        Call& c = *ch->call;
        if (!c.started || c.hangup_decided) return;
        const auto party = party_of(c, uid, *ch);
        if (!party) return;
        if (by_pbx && *by_pbx) return decide_hangup(c, HangupBy::system);
        if (*party == HangupBy::agent) {
            if (by_pbx || order_known) decide_hangup(c, HangupBy::agent, ch->device);
            return;
        }
        if (c.answered || by_pbx) {
            if (by_pbx || order_known) decide_hangup(c, HangupBy::caller);
            return;
        }
        decide_unanswered(c);
    }

    /// Nobody answered and the caller's channel ends without the PBX saying
    /// who asked: the call's course tells who gave up.
    static void decide_unanswered(Call& c) {
        if (c.abandoned || c.in_queue) return decide_hangup(c, HangupBy::caller);
        for (const auto& l : c.legs)
            if (l.state == LegState::ringing) return decide_hangup(c, HangupBy::caller);
        // Left the queue without abandoning it: the queue timed out.
        if (c.snap.queued_at) return decide_hangup(c, HangupBy::system);
        if (c.last_stop) {
            switch (*c.last_stop) {
            case StopReason::caller_hung_up: return decide_hangup(c, HangupBy::caller);
            case StopReason::busy:
            case StopReason::rejected: return decide_hangup(c, HangupBy::agent, c.last_stop_ext);
            case StopReason::no_answer: return decide_hangup(c, HangupBy::system);
            case StopReason::answered_elsewhere: return;
            }
        }
        if (c.failed) return decide_hangup(c, HangupBy::system);
        decide_hangup(c, HangupBy::caller);  // no phone rang (announcement, IVR): the caller left
    }

    void on(const pbx::QueueJoin& e) {
        Channel* ch = find(e.uniqueid);
        if (!ch || !ch->call) return;
        Call& c = *ch->call;
        c.in_queue = true;
        if (!e.queue.empty()) c.snap.queue = e.queue;
        if (!c.snap.queued_at) {
            // The first queue the caller joined: position and hold time count from there.
            c.snap.queued_at = ev->at;
            if (e.position > 0) c.snap.queue_position = e.position;
        }
        maybe_start(c, true);
        if (c.started) out->push_back(effect::Queued{c.snap, e.queue, e.position, ev->at});
    }

    void on(const pbx::QueueLeave& e) {
        Channel* ch = find(e.uniqueid);
        if (ch && ch->call) ch->call->in_queue = false;
    }

    void on(const pbx::QueueAbandon& e) {
        Channel* ch = find(e.uniqueid);
        if (!ch || !ch->call) return;
        Call& c = *ch->call;
        if (!c.answered) c.abandoned = true;
        if (!e.queue.empty() && !c.snap.queue) c.snap.queue = e.queue;
        // No QueueCallerJoin seen (joined before we connected, or not sent):
        // the PBX's hold time says when the caller joined.
        if (!c.snap.queued_at && e.hold_seconds > 0) c.snap.queued_at = ev->at - std::chrono::seconds(e.hold_seconds);
    }

    void on(const pbx::AgentCalled& e) {
        Channel* dest = find(e.dest_uniqueid);
        if (!dest || !dest->call) return;
        if (!e.queue.empty() && !dest->call->snap.queue) dest->call->snap.queue = e.queue;
        dest->dialled = true;
        ring(*dest->call, e.dest_uniqueid, *dest);
    }

    void on(const pbx::AgentConnect& e) {
        Channel* dest = find(e.dest_uniqueid);
        if (dest && dest->call) answer(*dest->call, e.dest_uniqueid, *dest);
    }

    /// Blind: the transferee's call goes on (same Linkedid); its next rings
    /// name the transferer. Attended / blonde: the consultation call (the
    /// target's) is joined into the transferee's call, whose id, caller and
    /// record carry on; the target's leg moves over and is reported on it.
    /// Blonde, as Asterisk 13 tells it: the consultation channel is the
    /// target, its still-ringing phones move over as ringing legs, and its
    /// DialEnd NOANSWER to each (followed by the caller's DialBegin to the
    /// same phone) leaves them ringing.
    void on(const pbx::Transfer& e) {
        Channel* by = find(e.transferer_uniqueid);
        std::optional<Extension> by_ext = by ? by->device : std::nullopt;
        // The transferer's leg may be gone already (FreeSWITCH hangs it up
        // before the transfer shows): the phone it was is remembered.
        if (!by)
            if (auto g = gone_devices.find(e.transferer_uniqueid); g != gone_devices.end()) by_ext = g->second;
        if (!by_ext && !e.transferer_exten.empty()) by_ext = Extension(e.transferer_exten);
        Channel* tee = find(e.transferee_uniqueid);
        Call* into = tee && tee->call ? tee->call : (by ? by->call : nullptr);
        if (!into) return;
        if (e.attended) {
            // Evidence that cannot tell transferee from target (a bridge of
            // two calls' legs): the customer's call is the one that goes on.
            Channel* t = find(e.target_uniqueid);
            if (t && t->call && t->call != into && into->snap.caller_device && !t->call->snap.caller_device)
                into = t->call;
        }
        into->transferred = true;
        into->transfer_by = by_ext;
        if (!e.attended) return;
        Channel* target = find(e.target_uniqueid);
        if (target && target->call == into && tee && tee->call && tee->call != into) target = tee;
        if (!target || !target->call) return;
        // Blonde (Asterisk 13: DestType App, no target named): the
        // consultation channel stands for the target; the phones it dials
        // ring on, redialled by the caller's channel.
        if (e.dial_moved && into->moved_dialers.size() < max_legs_per_call)
            into->moved_dialers.push_back(e.target_uniqueid);
        Call* from = target->call;
        if (from == into) {
            if (target->device)
                if (Leg* l = leg_of(*into, *target->device); l && l->ext != by_ext) l->transferred_by = by_ext;
            return;
        }
        join(*into, *from, by_ext);
    }

    /// A phone that dialled a pickup code (a call of its own, Up, with no
    /// other channel) takes over `into`: its call is folded in and it becomes
    /// a leg of `into`. Anything else is left alone.
    void adopt_picker(Call& into, const std::string& uid, Channel& picker) {
        Call* own = picker.call;
        if (!own || own == &into || !picker.device || own->root != uid || own->channels.size() != 1) return;
        if (!into.has_linkedid || !own->has_linkedid) return;
        join(into, *own, std::nullopt);
    }

    void on(const pbx::Pickup& e) {
        Channel* target = find(e.target_uniqueid);
        Channel* picker = find(e.picker_uniqueid);
        if (!target || !picker || !target->call || !picker->device) return;
        Call& c = *target->call;
        adopt_picker(c, e.picker_uniqueid, *picker);
        if (picker->call != &c) return;
        picker->dialled = true;
        if (!leg_of(c, *picker->device)) ring(c, e.picker_uniqueid, *picker);
        answer(c, e.picker_uniqueid, *picker);
    }

    void join(Call& into, Call& from, const std::optional<Extension>& by) {
        if (!into.started) return;
        for (const auto& uid : from.channels) {
            if (Channel* ch = find(uid)) {
                ch->call = &into;
                into.channels.push_back(uid);
            }
        }
        if (from.started) {
            out->push_back(effect::Merged{into.snap, from.snap.id});
            --started_calls;
        }
        for (auto& uid : from.moved_dialers)
            if (into.moved_dialers.size() < max_legs_per_call) into.moved_dialers.push_back(std::move(uid));
        std::vector<Leg> moved = std::move(from.legs);
        calls.erase(from.key);  // destroys `from`
        for (auto& m : moved) {
            if (by && m.ext == *by) continue;  // the transferer's own phone is not a new leg
            m.transferred_by = by;
            Leg* l = leg_of(into, m.ext);
            if (l) {
                *l = m;
            } else {
                if (into.legs.size() >= max_legs_per_call) continue;
                into.legs.push_back(m);
                l = &into.legs.back();
            }
            if (l->state == LegState::ringing || l->state == LegState::answered) hangup_reset(into);
            if (l->state == LegState::ringing) {
                out->push_back(effect::Ringing{into.snap, l->ext, ev->at, by});
            } else if (l->state == LegState::answered) {
                into.answered = true;
                out->push_back(effect::Answered{into.snap, l->ext, ev->at, by});
            }
        }
    }

    void on(const pbx::ResyncBegin&) { resync_begin(); }
    void on(const pbx::ResyncEnd&) { resync_end(); }
    // Nothing is known until the next resync; channels stay as they were.
    void on(const pbx::LinkDown&) {}
};

CallTracker::CallTracker() : impl_(std::make_unique<Impl>()) {}
CallTracker::~CallTracker() = default;
CallTracker::CallTracker(CallTracker&&) noexcept = default;
CallTracker& CallTracker::operator=(CallTracker&&) noexcept = default;

std::vector<Effect> CallTracker::on_event(const pbx::Event& ev) {
    std::vector<Effect> out;
    impl_->out = &out;
    impl_->ev = &ev;
    std::visit([this](const auto& p) { impl_->on(p); }, ev.payload);
    impl_->out = nullptr;
    impl_->ev = nullptr;
    return out;
}

std::size_t CallTracker::active_calls() const { return impl_->started_calls; }

std::vector<CallSnapshot> CallTracker::active_snapshot() const {
    std::vector<CallSnapshot> v;
    for (const auto& [key, c] : impl_->calls)
        if (c->started) v.push_back(c->snap);
    return v;
}

}  // namespace ringside
