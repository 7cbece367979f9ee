#include "ringside/webhook/mapper.hpp"

#include <cstdio>

namespace ringside::webhook {

Mapper::Mapper(PbxId pbx, std::size_t max_calls) : pbx_(std::move(pbx)), max_calls_(max_calls) {}

namespace {

// Phones one call may ring at once; a PBX ringing more (a huge ring group)
// has the rest refused. An answer or a transfer target, which name one
// phone the call goes to, is always taken, up to twice as many legs in all.
constexpr std::size_t max_ringing_legs = 64;
constexpr std::size_t max_legs = 2 * max_ringing_legs;

std::string hex_seq(std::uint64_t n) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(n));
    return buf;
}

}  // namespace

std::vector<pbx::Event> Mapper::map(const Event& e, Timestamp received_at) {
    std::vector<pbx::Event> out;
    const Timestamp at = e.at.value_or(received_at);
    auto emit = [&](pbx::Payload p) { out.push_back(pbx::Event{pbx_, at, std::move(p)}); };

    auto it = calls_.find(e.call_id);
    switch (e.type) {
    case EventType::ringing: {
        if (it == calls_.end()) {
            if (ended_.contains(e.call_id)) return out;  // late news of a call that ended: never a new call
            if (calls_.size() >= max_calls_) return out;  // a PBX that never ends its calls: refuse new ones
            Call c;
            c.caller.uniqueid = e.call_id;
            c.caller.linkedid = e.call_id;
            c.caller.channel = "Webhook/trunk-" + hex_seq(next_seq_++);
            c.caller.caller_num = e.from;
            c.caller.caller_name = e.from_name;
            if (e.anonymous) c.caller.caller_withheld = true;
            c.caller.exten = e.to;
            c.caller.state = pbx::ChannelState::ring;
            it = calls_.emplace(e.call_id, std::move(c)).first;
            emit(pbx::ChannelCreated{it->second.caller, false});
        }
        for (const auto& ext : e.extensions) ring(it->second, ext, out, at);
        break;
    }
    case EventType::answered: {
        if (it == calls_.end()) return out;
        Call& c = it->second;
        // Answered with no ring seen (a pickup, a phone beyond the ring cap):
        // the answer is taken all the same.
        if (!c.legs.count(e.extension)) ring(c, e.extension, out, at, true);
        auto found = c.legs.find(e.extension);
        if (found == c.legs.end()) return out;  // beyond max_legs: a PBX gone wrong, refused without a throw
        Leg& leg = found->second;
        if (leg.state == LegState::answered) return out;
        leg.state = LegState::answered;
        leg.info.state = pbx::ChannelState::up;
        emit(pbx::ChannelUpdated{leg.info});
        emit(pbx::DialEnd{c.caller.uniqueid, leg.info.uniqueid, pbx::DialStatus::answer});
        std::vector<std::string> others;
        for (const auto& [ext, l] : c.legs)
            if (ext != e.extension && l.state == LegState::ringing) others.push_back(ext);
        for (const auto& ext : others) hangup_leg(c, ext, 26, pbx::DialStatus::cancel, out, at);
        if (c.caller.state != pbx::ChannelState::up) {
            c.caller.state = pbx::ChannelState::up;
            c.caller.connected_num = e.extension;
            emit(pbx::ChannelUpdated{c.caller});
        }
        if (c.bridge.empty()) {
            c.bridge = "webhook-bridge-" + e.call_id;
            emit(pbx::BridgeEnter{c.bridge, c.caller.uniqueid});
        }
        emit(pbx::BridgeEnter{c.bridge, leg.info.uniqueid});
        break;
    }
    case EventType::transferred: {
        if (it == calls_.end()) return out;
        Call& c = it->second;
        auto by = c.legs.find(e.extension);
        emit(pbx::Transfer{false, by != c.legs.end() ? by->second.info.uniqueid : std::string(), c.caller.uniqueid, "",
                           e.target});
        if (by != c.legs.end()) {
            if (!c.bridge.empty() && by->second.state == LegState::answered)
                emit(pbx::BridgeLeave{c.bridge, by->second.info.uniqueid});
            hangup_leg(c, e.extension, 16, pbx::DialStatus::cancel, out, at);
        }
        ring(c, e.target, out, at, true);
        break;
    }
    case EventType::ended: {
        if (it == calls_.end()) return out;
        Call& c = it->second;
        const int cause = q850(e.cause);
        pbx::DialStatus status = pbx::DialStatus::cancel;
        switch (e.cause) {
        case EndCause::busy: status = pbx::DialStatus::busy; break;
        case EndCause::no_answer: status = pbx::DialStatus::noanswer; break;
        case EndCause::failed: status = pbx::DialStatus::chanunavail; break;
        default: break;
        }
        // Hang-up side (issue 4): the PBX's word, when it gives it, comes
        // before the hangups; without it the hangups of an answered call
        // below come in an order of our own.
        const bool order_known = e.hangup_by.has_value();
        if (e.hangup_by == HangupBy::agent) {
            auto leg = c.legs.find(e.extension);
            if (leg == c.legs.end())
                for (auto l = c.legs.begin(); l != c.legs.end() && leg == c.legs.end(); ++l)
                    if (l->second.state == LegState::answered) leg = l;
            if (leg != c.legs.end()) emit(pbx::HangupRequest{leg->second.info.uniqueid, false});
        } else if (e.hangup_by) {
            emit(pbx::HangupRequest{c.caller.uniqueid, *e.hangup_by == HangupBy::system});
        }
        // A caller who gave up hangs up first, so the phones stop because of it.
        if (e.cause == EndCause::cancelled) {
            emit(pbx::Hangup{c.caller.uniqueid, cause, to_string(e.cause)});
            std::vector<std::string> legs;
            for (const auto& [ext, l] : c.legs) legs.push_back(ext);
            for (const auto& ext : legs) hangup_leg(c, ext, cause, status, out, at);
        } else {
            std::vector<std::string> legs;
            for (const auto& [ext, l] : c.legs) legs.push_back(ext);
            for (const auto& ext : legs) {
                const bool answered = c.legs.at(ext).state == LegState::answered;
                hangup_leg(c, ext, answered ? 16 : cause, status, out, at, order_known);
            }
            emit(pbx::Hangup{c.caller.uniqueid, cause, to_string(e.cause), order_known});
        }
        ended_.add(e.call_id);
        calls_.erase(it);
        break;
    }
    }
    return out;
}

void Mapper::ring(Call& c, const std::string& ext, std::vector<pbx::Event>& out, Timestamp at, bool always) {
    if (c.legs.count(ext) || c.legs.size() >= (always ? max_legs : max_ringing_legs)) return;
    Leg leg;
    leg.info.uniqueid = c.caller.uniqueid + "/" + ext;
    leg.info.linkedid = c.caller.linkedid;
    leg.info.channel = "Webhook/" + ext + "-" + hex_seq(next_seq_++);
    leg.info.caller_num = ext;
    leg.info.connected_num = c.caller.caller_num;
    leg.info.connected_name = c.caller.caller_name;
    leg.info.exten = ext;
    leg.info.state = pbx::ChannelState::down;
    out.push_back(pbx::Event{pbx_, at, pbx::ChannelCreated{leg.info, false}});
    out.push_back(pbx::Event{pbx_, at, pbx::DialBegin{c.caller, leg.info, ext}});
    leg.info.state = pbx::ChannelState::ringing;
    out.push_back(pbx::Event{pbx_, at, pbx::ChannelUpdated{leg.info}});
    c.legs.emplace(ext, std::move(leg));
}

void Mapper::hangup_leg(Call& c, const std::string& ext, int cause, pbx::DialStatus status,
                        std::vector<pbx::Event>& out, Timestamp at, bool order_known) {
    auto it = c.legs.find(ext);
    if (it == c.legs.end()) return;
    if (it->second.state == LegState::ringing)
        out.push_back(pbx::Event{pbx_, at, pbx::DialEnd{c.caller.uniqueid, it->second.info.uniqueid, status}});
    out.push_back(pbx::Event{pbx_, at, pbx::Hangup{it->second.info.uniqueid, cause, "", order_known}});
    c.legs.erase(it);
}

}  // namespace ringside::webhook
