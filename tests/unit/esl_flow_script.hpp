#pragma once
// Builds FreeSWITCH 1.10 `event plain` wire bytes for whole call flows, leg
// by leg, with the headers FreeSWITCH really sends on the events Ringside
// subscribes to (esl/client.hpp): channel events with Unique-ID,
// Channel-Call-UUID, Call-Direction, Caller-* and Other-* headers; bridges
// with Bridge-A/B-Unique-ID; CHANNEL_EXECUTE with Application and
// Application-Data; channel variables as variable_<name> on the events that
// carry them; CUSTOM events with Event-Subclass (sofia::transferor /
// transferee with att_xfer_* headers; mod_callcenter's callcenter::info with
// CC-Action, CC-Queue, CC-Member-Session-UUID, CC-Agent-UUID, CC-Cause).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "esl_fixtures.hpp"

namespace esl_flow {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Leg {
    std::string uuid;
    std::string call_uuid;  // Channel-Call-UUID
    std::string name;       // Channel-Name
    std::string cid_num, cid_name, dest, context;
    bool outbound = false;
    std::string originator;  // Other-Leg-Unique-ID with Other-Type originator
    std::string state = "DOWN";
    Headers vars;  // channel variables, sent as variable_<name>
};

class Script {
public:
    explicit Script(long long t0_us = 1700000000000000LL) : t_(t0_us) {}

    /// Moves the clock on (seconds).
    void wait(int seconds) { t_ += static_cast<long long>(seconds) * 1'000'000; }

    /// The customer's call arriving from the carrier (inbound a-leg).
    void inbound(const std::string& uuid, const std::string& number, const std::string& dest) {
        legs_[uuid] = leg(uuid, uuid, "sofia/external/" + number + "@198.51.100.7", number, "", dest, "public", false, "");
        channel("CHANNEL_CREATE", uuid, {}, true);
        set_state(uuid, "RINGING");
    }
    /// An agent's phone calling (inbound leg from sofia/internal).
    void from_phone(const std::string& uuid, const std::string& ext, const std::string& dest) {
        legs_[uuid] = leg(uuid, uuid, phone(ext), ext, ext, dest, "default", false, "");
        channel("CHANNEL_CREATE", uuid, {}, true);
        set_state(uuid, "RINGING");
    }
    /// A b-leg to an agent's phone. `originator` "" for a leg originated
    /// without a session (mod_callcenter); vars become variable_* headers.
    void dial_phone(const std::string& uuid, const std::string& originator, const std::string& ext,
                    const std::string& call_uuid, Headers vars = {}) {
        const Leg* a = originator.empty() ? nullptr : &legs_.at(originator);
        Leg l = leg(uuid, call_uuid, phone(ext), a ? a->cid_num : "", a ? a->cid_name : "", ext, "default", true,
                    originator);
        l.vars = std::move(vars);
        legs_[uuid] = l;
        channel("CHANNEL_CREATE", uuid, {}, true);
        channel("CHANNEL_OUTGOING", uuid);
        channel("CHANNEL_PROGRESS", uuid, {}, true);
        set_state(uuid, "RINGING");
    }
    /// A b-leg out through the carrier's gateway (sofia/gateway/<gw>/<number>).
    void dial_out(const std::string& uuid, const std::string& originator, const std::string& number) {
        const Leg& a = legs_.at(originator);
        legs_[uuid] = leg(uuid, a.call_uuid, "sofia/gateway/carrier/" + number, a.cid_num, a.cid_name, number,
                          "default", true, originator);
        channel("CHANNEL_CREATE", uuid, {}, true);
        channel("CHANNEL_OUTGOING", uuid);
        channel("CHANNEL_PROGRESS", uuid, {}, true);
        set_state(uuid, "RINGING");
    }
    void answer(const std::string& uuid) {
        channel("CHANNEL_ANSWER", uuid, {}, true, "ACTIVE");
        set_state(uuid, "ACTIVE");
    }
    void bridge(const std::string& a, const std::string& b) {
        channel("CHANNEL_BRIDGE", a, {{"Bridge-A-Unique-ID", a}, {"Bridge-B-Unique-ID", b}, {"Other-Leg-Unique-ID", b}}, true);
    }
    void unbridge(const std::string& a, const std::string& b) {
        channel("CHANNEL_UNBRIDGE", a, {{"Bridge-A-Unique-ID", a}, {"Bridge-B-Unique-ID", b}, {"Other-Leg-Unique-ID", b}},
                true);
    }
    void execute(const std::string& uuid, const std::string& app, const std::string& data) {
        channel("CHANNEL_EXECUTE", uuid,
                {{"Application", app}, {"Application-Data", data}, {"Application-UUID", uuid + "-app" + std::to_string(seq_)}},
                true);
    }
    void set_var(const std::string& uuid, const std::string& name, const std::string& value) {
        auto& v = legs_.at(uuid).vars;
        for (auto& [k, val] : v)
            if (k == name) {
                val = value;
                return;
            }
        v.emplace_back(name, value);
    }
    /// The whole end of a leg as FreeSWITCH sends it: CHANNEL_HANGUP,
    /// CHANNEL_HANGUP_COMPLETE, then as the session is destroyed a
    /// CHANNEL_CALLSTATE from HANGUP to DOWN (state CS_DESTROY) and CHANNEL_DESTROY.
    void hangup(const std::string& uuid, const std::string& cause) {
        legs_.at(uuid).state = "HANGUP";
        channel("CHANNEL_HANGUP", uuid, {{"Hangup-Cause", cause}}, true, "HANGUP");
        channel("CHANNEL_HANGUP_COMPLETE", uuid, {{"Hangup-Cause", cause}}, true, "HANGUP");
        legs_.at(uuid).state = "DOWN";
        channel("CHANNEL_CALLSTATE", uuid, {{"Original-Channel-Call-State", "HANGUP"}}, false, "DOWN", "CS_DESTROY");
        channel("CHANNEL_DESTROY", uuid, {}, true, "HANGUP", "CS_REPORTING");
    }
    /// CUSTOM event with the channel's data (switch_channel_event_set_data).
    void custom(const std::string& subclass, const std::string& uuid, Headers extra) {
        extra.insert(extra.begin(), {"Event-Subclass", subclass});
        channel("CUSTOM", uuid, std::move(extra), true);
    }
    /// mod_callcenter's callcenter::info (no channel data of its own).
    void callcenter(Headers h) {
        Headers all = common("CUSTOM");
        all.emplace_back("Event-Subclass", "callcenter::info");
        for (auto& x : h) all.push_back(std::move(x));
        wire += esl_fixtures::wire_event(all);
    }
    long long epoch() const { return t_ / 1'000'000; }

    std::string wire;

private:
    static std::string phone(const std::string& ext) {
        return "sofia/internal/" + ext + "@10.0.0." + ext.substr(ext.size() - 2) + ":5060";
    }
    static Leg leg(std::string uuid, std::string call_uuid, std::string name, std::string num, std::string cname,
                   std::string dest, std::string context, bool outbound, std::string originator) {
        Leg l;
        l.uuid = std::move(uuid);
        l.call_uuid = std::move(call_uuid);
        l.name = std::move(name);
        l.cid_num = std::move(num);
        l.cid_name = std::move(cname);
        l.dest = std::move(dest);
        l.context = std::move(context);
        l.outbound = outbound;
        l.originator = std::move(originator);
        return l;
    }
    Headers common(const std::string& name) {
        t_ += 20'000;
        return {{"Event-Name", name},
                {"Core-UUID", "2f5dcf01-d1c2-4b77-abe4-dca29127416b"},
                {"FreeSWITCH-Hostname", "pbx1"},
                {"FreeSWITCH-Switchname", "pbx1"},
                {"Event-Date-Timestamp", std::to_string(t_)},
                {"Event-Sequence", std::to_string(++seq_)}};
    }
    void set_state(const std::string& uuid, const std::string& state) {
        Leg& l = legs_.at(uuid);
        const std::string old = l.state;
        l.state = state;
        channel("CHANNEL_CALLSTATE", uuid, {{"Original-Channel-Call-State", old}});
    }
    void channel(const std::string& name, const std::string& uuid, Headers extra = {}, bool with_vars = false,
                 const std::string& state_override = "", const std::string& channel_state = "") {
        const Leg& l = legs_.at(uuid);
        Headers h = common(name);
        const std::string st = state_override.empty() ? l.state : state_override;
        h.emplace_back("Channel-State", !channel_state.empty() ? channel_state
                                        : st == "HANGUP"       ? "CS_HANGUP"
                                                               : "CS_EXECUTE");
        h.emplace_back("Channel-Call-State", st);
        h.emplace_back("Channel-Name", l.name);
        h.emplace_back("Unique-ID", l.uuid);
        h.emplace_back("Call-Direction", l.outbound ? "outbound" : "inbound");
        h.emplace_back("Answer-State", st == "ACTIVE" ? "answered" : (st == "HANGUP" ? "hangup" : "ringing"));
        h.emplace_back("Channel-Call-UUID", l.call_uuid);
        h.emplace_back("Caller-Direction", l.outbound ? "outbound" : "inbound");
        h.emplace_back("Caller-Username", l.outbound ? "" : l.cid_num);
        h.emplace_back("Caller-Caller-ID-Name", l.cid_name);
        h.emplace_back("Caller-Caller-ID-Number", l.cid_num);
        h.emplace_back("Caller-Destination-Number", l.dest);
        h.emplace_back("Caller-Unique-ID", l.uuid);
        h.emplace_back("Caller-Context", l.context);
        h.emplace_back("Caller-Channel-Name", l.name);
        if (!l.originator.empty()) {
            h.emplace_back("Other-Type", "originator");
            h.emplace_back("Other-Leg-Unique-ID", l.originator);
        }
        for (auto& x : extra) h.push_back(std::move(x));
        if (with_vars) {
            h.emplace_back("variable_uuid", l.uuid);
            h.emplace_back("variable_direction", l.outbound ? "outbound" : "inbound");
            for (const auto& [k, v] : l.vars) h.emplace_back("variable_" + k, v);
        }
        wire += esl_fixtures::wire_event(h);
    }

    long long t_;
    int seq_ = 4000;
    std::map<std::string, Leg> legs_;
};

}  // namespace esl_flow
