#include "ringside/esl/mapper.hpp"

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

namespace ringside::esl {
namespace {

// Bound against a switch that never sends a hangup for some channels; a
// reconnect (reset) clears it.
constexpr std::size_t max_channels = 200'000;

struct CauseName {
    std::string_view name;
    int q850;
};

constexpr std::array<CauseName, 58> causes = {{
    {"UNSPECIFIED", 0}, {"UNALLOCATED_NUMBER", 1}, {"NO_ROUTE_TRANSIT_NET", 2}, {"NO_ROUTE_DESTINATION", 3},
    {"CHANNEL_UNACCEPTABLE", 6}, {"CALL_AWARDED_DELIVERED", 7}, {"NORMAL_CLEARING", 16}, {"USER_BUSY", 17},
    {"NO_USER_RESPONSE", 18}, {"NO_ANSWER", 19}, {"SUBSCRIBER_ABSENT", 20}, {"CALL_REJECTED", 21},
    {"NUMBER_CHANGED", 22}, {"REDIRECTION_TO_NEW_DESTINATION", 23}, {"EXCHANGE_ROUTING_ERROR", 25},
    {"DESTINATION_OUT_OF_ORDER", 27}, {"INVALID_NUMBER_FORMAT", 28}, {"FACILITY_REJECTED", 29},
    {"RESPONSE_TO_STATUS_ENQUIRY", 30}, {"NORMAL_UNSPECIFIED", 31}, {"NORMAL_CIRCUIT_CONGESTION", 34},
    {"NETWORK_OUT_OF_ORDER", 38}, {"NORMAL_TEMPORARY_FAILURE", 41}, {"SWITCH_CONGESTION", 42},
    {"ACCESS_INFO_DISCARDED", 43}, {"REQUESTED_CHAN_UNAVAIL", 44}, {"PRE_EMPTED", 45},
    {"FACILITY_NOT_SUBSCRIBED", 50}, {"OUTGOING_CALL_BARRED", 52}, {"INCOMING_CALL_BARRED", 54},
    {"BEARERCAPABILITY_NOTAUTH", 57}, {"BEARERCAPABILITY_NOTAVAIL", 58}, {"SERVICE_UNAVAILABLE", 63},
    {"BEARERCAPABILITY_NOTIMPL", 65}, {"CHAN_NOT_IMPLEMENTED", 66}, {"FACILITY_NOT_IMPLEMENTED", 69},
    {"SERVICE_NOT_IMPLEMENTED", 79}, {"INVALID_CALL_REFERENCE", 81}, {"INCOMPATIBLE_DESTINATION", 88},
    {"INVALID_MSG_UNSPECIFIED", 95}, {"MANDATORY_IE_MISSING", 96}, {"MESSAGE_TYPE_NONEXIST", 97},
    {"WRONG_MESSAGE", 98}, {"IE_NONEXIST", 99}, {"INVALID_IE_CONTENTS", 100}, {"WRONG_CALL_STATE", 101},
    {"RECOVERY_ON_TIMER_EXPIRE", 102}, {"MANDATORY_IE_LENGTH_ERROR", 103}, {"PROTOCOL_ERROR", 111},
    {"INTERWORKING", 127},
    // FreeSWITCH's own causes, by their nearest Q.850 meaning.
    {"ORIGINATOR_CANCEL", 16}, {"LOSE_RACE", 26}, {"PICKED_OFF", 26}, {"ATTENDED_TRANSFER", 16},
    {"BLIND_TRANSFER", 16}, {"MANAGER_REQUEST", 16}, {"ALLOTTED_TIMEOUT", 102}, {"MEDIA_TIMEOUT", 41},
}};

pbx::ChannelState state_of(std::string_view call_state, std::string_view direction, std::string_view event) {
    const bool outbound = iequals(direction, "outbound");
    if (iequals(event, "CHANNEL_ANSWER")) return pbx::ChannelState::up;
    if (iequals(event, "CHANNEL_PROGRESS") || iequals(event, "CHANNEL_PROGRESS_MEDIA"))
        return outbound ? pbx::ChannelState::ringing : pbx::ChannelState::ring;
    if (iequals(call_state, "DOWN")) return pbx::ChannelState::down;
    if (iequals(call_state, "DIALING")) return pbx::ChannelState::dialing;
    if (iequals(call_state, "RINGING") || iequals(call_state, "EARLY") || iequals(call_state, "RING_WAIT"))
        return outbound ? pbx::ChannelState::ringing : pbx::ChannelState::ring;
    if (iequals(call_state, "ACTIVE") || iequals(call_state, "HELD") || iequals(call_state, "UNHELD"))
        return pbx::ChannelState::up;
    return pbx::ChannelState::unknown;
}

/// Event-Date-Timestamp: microseconds since the epoch.
std::optional<Timestamp> event_time(std::string_view us) {
    if (us.empty() || us.size() > 19) return std::nullopt;
    long long v = 0;
    for (char c : us) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    if (v == 0) return std::nullopt;
    return Timestamp(std::chrono::milliseconds(v / 1000));
}

pbx::ChannelInfo info_of(const Event& e) {
    pbx::ChannelInfo ch;
    ch.uniqueid = std::string(e.get("Unique-ID"));
    if (ch.uniqueid.empty()) ch.uniqueid = std::string(e.get("Caller-Unique-ID"));
    ch.linkedid = std::string(e.get("Channel-Call-UUID"));
    ch.channel = std::string(e.get("Channel-Name"));
    ch.caller_num = std::string(e.get("Caller-Caller-ID-Number"));
    ch.caller_name = std::string(e.get("Caller-Caller-ID-Name"));
    ch.connected_num = std::string(e.get("Caller-Callee-ID-Number"));
    ch.connected_name = std::string(e.get("Caller-Callee-ID-Name"));
    ch.exten = std::string(e.get("Caller-Destination-Number"));
    ch.context = std::string(e.get("Caller-Context"));
    auto direction = e.get("Call-Direction");
    if (direction.empty()) direction = e.get("Caller-Direction");
    ch.state = state_of(e.get("Channel-Call-State"), direction, e.name());
    // The caller asked to hide their number (a trunk's Privacy: id, or the
    // dialplan's privacy=number): FreeSWITCH still carries it in
    // Caller-Caller-ID-Number.
    if (auto hide = e.get("Caller-Privacy-Hide-Number"); !hide.empty())
        ch.caller_withheld = iequals(hide, "true") || iequals(hide, "yes");
    return ch;
}

std::string str_field(const nlohmann::json& row, const char* key) {
    auto it = row.find(key);
    if (it == row.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

}  // namespace

int q850_cause(std::string_view name) noexcept {
    for (const auto& c : causes)
        if (iequals(c.name, name)) return c.q850;
    return 0;
}

EventMapper::EventMapper(PbxId pbx) : pbx_(std::move(pbx)) {}

void EventMapper::reset() { channels_.clear(); }

void EventMapper::maybe_dial(const Event& e, Known& k, std::vector<pbx::Event>& out, Timestamp at) {
    if (k.dial_reported) return;
    auto direction = e.get("Call-Direction");
    if (direction.empty()) direction = e.get("Caller-Direction");
    if (!iequals(direction, "outbound")) {
        k.dial_reported = true;  // an inbound leg is dialled by nobody here
        return;
    }
    // Who dialled this leg: its originator, else the call's first leg.
    std::string a_leg;
    if (iequals(e.get("Other-Type"), "originator")) a_leg = std::string(e.get("Other-Leg-Unique-ID"));
    if (a_leg.empty() && !k.info.linkedid.empty() && k.info.linkedid != k.info.uniqueid) a_leg = k.info.linkedid;
    if (a_leg.empty() || a_leg == k.info.uniqueid) return;
    auto it = channels_.find(a_leg);
    if (it == channels_.end()) return;  // not known (yet): a later event of this leg may tell
    k.dial_reported = true;
    if (k.info.linkedid.empty() || k.info.linkedid == k.info.uniqueid) k.info.linkedid = it->second.info.linkedid;
    pbx::DialBegin d;
    d.caller = it->second.info;
    d.dest = k.info;
    d.dialstring = k.info.exten;
    out.push_back(pbx::Event{pbx_, at, std::move(d)});
}

std::vector<pbx::Event> EventMapper::map(const Event& e, Timestamp received_at) {
    std::vector<pbx::Event> out;
    const auto name = e.name();
    const Timestamp at = event_time(e.get("Event-Date-Timestamp")).value_or(received_at);
    // Transfers and mod_callcenter (transfer_mapper.cpp) come first: a
    // bridge's transfer must precede its link, a hangup's channel still be known.
    map_transfers(e, at, out);

    if (iequals(name, "CHANNEL_BRIDGE") || iequals(name, "CHANNEL_UNBRIDGE")) {
        std::string a(e.get("Bridge-A-Unique-ID")), b(e.get("Bridge-B-Unique-ID"));
        if (a.empty()) a = std::string(e.get("Unique-ID"));
        if (b.empty()) b = std::string(e.get("Other-Leg-Unique-ID"));
        if (a.empty() || b.empty() || a == b) return out;
        out.push_back(pbx::Event{pbx_, at, pbx::BridgeLink{std::move(a), std::move(b), iequals(name, "CHANNEL_BRIDGE")}});
        return out;
    }
    if (iequals(name, "CHANNEL_HANGUP") || iequals(name, "CHANNEL_HANGUP_COMPLETE")) {
        pbx::Hangup h;
        h.uniqueid = std::string(e.get("Unique-ID"));
        if (h.uniqueid.empty()) return out;
        h.cause_txt = std::string(e.get("Hangup-Cause"));
        h.cause = q850_cause(h.cause_txt);
        // With all variables on, FreeSWITCH states the Q.850 number itself.
        if (auto q = e.get("variable_hangup_cause_q850"); !q.empty() && q.size() <= 3) {
            int v = 0;
            bool ok = true;
            for (char c : q) {
                if (c < '0' || c > '9') ok = false;
                else v = v * 10 + (c - '0');
            }
            if (ok) h.cause = v;
        }
        // Hang-up side (issue 4): whether FreeSWITCH received the BYE,
        // CANCEL or refusal from this leg's party (recv_*) or sent it (send_*).
        {
            auto disp = e.get("Hangup-Disposition");
            if (disp.empty()) disp = e.get("variable_sip_hangup_disposition");
            if (disp.empty()) disp = e.get("variable_hangup_disposition");
            if (disp.starts_with("recv_") || disp.starts_with("send_"))
                out.push_back(pbx::Event{pbx_, at, pbx::HangupRequest{h.uniqueid, disp.starts_with("send_")}});
        }
        channels_.erase(h.uniqueid);
        hung_up_.add(h.uniqueid);
        // A second Hangup (HANGUP then HANGUP_COMPLETE) names a channel the
        // tracker already forgot: it is ignored there.
        out.push_back(pbx::Event{pbx_, at, std::move(h)});
        return out;
    }

    const bool create = iequals(name, "CHANNEL_CREATE");
    const bool update = iequals(name, "CHANNEL_CALLSTATE") || iequals(name, "CHANNEL_STATE") ||
                        iequals(name, "CHANNEL_PROGRESS") || iequals(name, "CHANNEL_PROGRESS_MEDIA") ||
                        iequals(name, "CHANNEL_ANSWER") || iequals(name, "CHANNEL_OUTGOING");
    if (!create && !update) return out;
    pbx::ChannelInfo info = info_of(e);
    if (info.uniqueid.empty()) return out;
    // Late news of a leg that hung up (its CHANNEL_CALLSTATE DOWN as the
    // session is destroyed): never a new channel.
    if (hung_up_.contains(info.uniqueid)) return out;
    // CHANNEL_STATE in a hangup state says nothing new; the hangup events do.
    if (iequals(e.get("Channel-Call-State"), "HANGUP")) return out;

    auto it = channels_.find(info.uniqueid);
    if (it == channels_.end()) {
        if (channels_.size() >= max_channels) return out;
        it = channels_.emplace(info.uniqueid, Known{}).first;
        if (info.linkedid.empty() && iequals(e.get("Other-Type"), "originator")) {
            // No Channel-Call-UUID (FreeSWITCH before 1.2): the call is the originator's.
            if (auto a = channels_.find(std::string(e.get("Other-Leg-Unique-ID"))); a != channels_.end())
                info.linkedid = a->second.info.linkedid;
        }
        if (info.linkedid.empty()) info.linkedid = info.uniqueid;
    } else if (info.linkedid.empty()) {
        info.linkedid = it->second.info.linkedid;
    }
    // A mod_callcenter agent leg is originated on its own; it belongs to the
    // member's call, which dials it (maybe_dial: the a-leg is the linkedid).
    if (auto m = channels_.find(std::string(e.get("variable_cc_member_session_uuid")));
        m != channels_.end() && m->first != info.uniqueid) {
        info.linkedid = m->second.info.linkedid;
        it->second.queue_leg = true;
    } else if (it->second.queue_leg) {
        info.linkedid = it->second.info.linkedid;
    }
    Known& k = it->second;
    const bool first = k.info.uniqueid.empty();
    k.info = info;
    if (create || first) {
        out.push_back(pbx::Event{pbx_, at, pbx::ChannelCreated{k.info, false}});
        maybe_dial(e, k, out, at);
        return out;
    }
    maybe_dial(e, k, out, at);
    out.push_back(pbx::Event{pbx_, at, pbx::ChannelUpdated{k.info}});
    return out;
}

std::vector<pbx::Event> EventMapper::map_channel_list(std::string_view text, Timestamp now, std::string* error) {
    std::vector<pbx::Event> out;
    auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        if (error) *error = "FreeSWITCH channel list is not JSON";
        return out;
    }
    auto rows = doc.find("rows");
    if (rows == doc.end() || !rows->is_array()) return out;  // {"row_count":0}: no channels
    for (const auto& row : *rows) {
        if (!row.is_object()) continue;
        pbx::ChannelInfo ch;
        ch.uniqueid = str_field(row, "uuid");
        // A leg whose hangup came in while the list was being written is over.
        if (ch.uniqueid.empty() || hung_up_.contains(ch.uniqueid)) continue;
        ch.linkedid = str_field(row, "call_uuid");
        if (ch.linkedid.empty()) ch.linkedid = ch.uniqueid;
        ch.channel = str_field(row, "name");
        ch.caller_num = str_field(row, "cid_num");
        ch.caller_name = str_field(row, "cid_name");
        ch.connected_num = str_field(row, "callee_num");
        ch.connected_name = str_field(row, "callee_name");
        ch.exten = str_field(row, "dest");
        ch.context = str_field(row, "context");
        ch.state = state_of(str_field(row, "callstate"), str_field(row, "direction"), "");
        if (channels_.size() < max_channels || channels_.count(ch.uniqueid))
            channels_[ch.uniqueid] = Known{ch, true};  // listed legs need no DialBegin
        out.push_back(pbx::Event{pbx_, now, pbx::ChannelCreated{std::move(ch), true}});
    }
    return out;
}

}  // namespace ringside::esl
