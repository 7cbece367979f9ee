#include "ringside/sim/call_script.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>

namespace ringside::sim {
namespace {

using std::chrono::milliseconds;

// One channel as Asterisk describes it in every channel-carrying event
// (ast_manager_build_channel_state_string: this header set, this order).
struct Chan {
    std::string name;
    std::string uniqueid;
    std::string linkedid;
    int state = 0;
    std::string cid_num = "<unknown>";
    std::string cid_name = "<unknown>";
    std::string conn_num = "<unknown>";
    std::string conn_name = "<unknown>";
    std::string context;
    std::string exten;
    int priority = 1;
};

std::string or_unknown(const std::string& s) { return s.empty() ? std::string("<unknown>") : s; }

std::string hex8(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(v & 0xffffffffULL));
    return buf;
}

std::uint64_t splitmix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Bridge ids are UUIDs in Asterisk; derived from the call so scripts stay deterministic.
std::string bridge_uuid(const CallPlan& p, int k) {
    std::uint64_t a = splitmix(static_cast<std::uint64_t>(p.epoch_seconds) * 1000003ULL + p.first_id * 31ULL + static_cast<std::uint64_t>(k));
    std::uint64_t b = splitmix(a);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-%04llx-%012llx",
                  static_cast<unsigned long long>(a >> 32), static_cast<unsigned long long>((a >> 16) & 0xffff),
                  static_cast<unsigned long long>(a & 0xfff), static_cast<unsigned long long>(0x8000 | ((b >> 48) & 0x3fff)),
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    return buf;
}

struct Member {
    std::string ext;
    Chan local1;   // Local/<ext>@<ctx>-<seq>;1, dialled by the trunk channel (or the queue)
    Chan local2;   // ;2, runs Dial(SIP/<ext>)
    Chan device;   // SIP/<ext>-<seq>
    bool via_local = false;
};

class Builder {
public:
    explicit Builder(const CallPlan& p) : p_(p) {}

    Chan make_chan(std::string name, std::string context, std::string exten) {
        Chan c;
        c.name = std::move(name);
        c.uniqueid = std::to_string(p_.epoch_seconds) + "." + std::to_string(p_.first_id + ids_used_);
        ++ids_used_;
        c.linkedid = linkedid();
        c.context = std::move(context);
        c.exten = std::move(exten);
        return c;
    }
    std::string next_seq() { return hex8(p_.first_channel_seq + seqs_used_++); }
    std::string linkedid() const { return std::to_string(p_.epoch_seconds) + "." + std::to_string(p_.first_id); }

    void at(milliseconds t) { now_ = std::max(now_, t); }
    void later(milliseconds dt) { now_ += dt; }
    milliseconds now() const { return now_; }

    ami::Message begin(std::string_view event, std::string_view privilege = "call,all") {
        ami::Message m;
        m.fields.push_back({"Event", std::string(event)});
        m.fields.push_back({"Privilege", std::string(privilege)});
        m.fields.push_back({"Timestamp", format_ami_timestamp(p_.start + now_)});
        return m;
    }
    static void add(ami::Message& m, std::string key, std::string value) {
        m.fields.push_back({std::move(key), std::move(value)});
    }
    static void chan_fields(ami::Message& m, const Chan& c, const std::string& prefix = {}) {
        add(m, prefix + "Channel", c.name);
        add(m, prefix + "ChannelState", std::to_string(c.state));
        add(m, prefix + "ChannelStateDesc", channel_state_desc(c.state));
        add(m, prefix + "CallerIDNum", c.cid_num);
        add(m, prefix + "CallerIDName", c.cid_name);
        add(m, prefix + "ConnectedLineNum", c.conn_num);
        add(m, prefix + "ConnectedLineName", c.conn_name);
        add(m, prefix + "Language", "en");
        add(m, prefix + "AccountCode", "");
        add(m, prefix + "Context", c.context);
        add(m, prefix + "Exten", c.exten);
        add(m, prefix + "Priority", std::to_string(c.priority));
        add(m, prefix + "Uniqueid", c.uniqueid);
        add(m, prefix + "Linkedid", c.linkedid);
    }
    void emit(ami::Message m) { events_.push_back({now_, std::move(m)}); }

    void chan_event(std::string_view name, const Chan& c) {
        auto m = begin(name);
        chan_fields(m, c);
        emit(std::move(m));
    }
    void newchannel(const Chan& c) { chan_event("Newchannel", c); }
    void newstate(Chan& c, int state) {
        c.state = state;
        chan_event("Newstate", c);
    }
    void newexten(Chan& c, int priority, std::string_view app, std::string_view data) {
        c.priority = priority;
        auto m = begin("Newexten", "dialplan,all");
        chan_fields(m, c);
        add(m, "Extension", c.exten);
        add(m, "Application", std::string(app));
        add(m, "AppData", std::string(data));
        emit(std::move(m));
    }
    void newcallerid(const Chan& c) {
        auto m = begin("NewCallerid");
        chan_fields(m, c);
        add(m, "CID-CallingPres", "0 (Presentation Allowed, Not Screened)");
        emit(std::move(m));
    }
    void dial_begin(const Chan& from, const Chan& to, std::string dialstring) {
        auto m = begin("DialBegin");
        chan_fields(m, from);
        chan_fields(m, to, "Dest");
        add(m, "DialString", std::move(dialstring));
        emit(std::move(m));
    }
    void dial_end(const Chan& from, const Chan& to, std::string_view status) {
        auto m = begin("DialEnd");
        chan_fields(m, from);
        chan_fields(m, to, "Dest");
        add(m, "DialStatus", std::string(status));
        emit(std::move(m));
    }
    void hangup(const Chan& c, int cause) {
        auto m = begin("Hangup");
        chan_fields(m, c);
        add(m, "Cause", std::to_string(cause));
        add(m, "Cause-txt", cause_text(cause));
        emit(std::move(m));
    }
    void hangup_request(const Chan& c) { chan_event("HangupRequest", c); }
    void local_bridge(const Chan& one, const Chan& two) {
        auto m = begin("LocalBridge");
        chan_fields(m, one, "LocalOne");
        chan_fields(m, two, "LocalTwo");
        add(m, "Context", one.context);
        add(m, "Exten", one.exten);
        add(m, "LocalOptimization", "No");
        emit(std::move(m));
    }
    void bridge_fields(ami::Message& m, const std::string& id, int count) {
        add(m, "BridgeUniqueid", id);
        add(m, "BridgeType", "basic");
        add(m, "BridgeTechnology", "simple_bridge");
        add(m, "BridgeCreator", "<unknown>");
        add(m, "BridgeName", "<unknown>");
        add(m, "BridgeNumChannels", std::to_string(count));
        add(m, "BridgeVideoSourceMode", "none");
    }
    void bridge(std::string_view event, const std::string& id, int count) {
        auto m = begin(event);
        bridge_fields(m, id, count);
        emit(std::move(m));
    }
    void bridge_chan(std::string_view event, const std::string& id, int count, const Chan& c) {
        auto m = begin(event);
        bridge_fields(m, id, count);
        chan_fields(m, c);
        emit(std::move(m));
    }
    /// Two channels are bridged: BridgeCreate, then BridgeEnter of each in turn.
    void bridge_two(const std::string& id, const Chan& first, const Chan& second) {
        bridge("BridgeCreate", id, 0);
        bridge_chan("BridgeEnter", id, 1, first);
        bridge_chan("BridgeEnter", id, 2, second);
    }
    /// A two-channel bridge comes apart: BridgeLeave of each in turn, then BridgeDestroy.
    void unbridge_two(const std::string& id, const Chan& first, const Chan& second) {
        bridge_chan("BridgeLeave", id, 1, first);
        bridge_chan("BridgeLeave", id, 0, second);
        bridge("BridgeDestroy", id, 0);
    }
    /// `who` hangs up a two-channel bridge: its HangupRequest, the bridge
    /// comes apart, and the other side is hung up (Normal Clearing).
    void hang_up_bridged(const Chan& who, const std::string& id, const Chan& other) {
        hangup_request(who);
        unbridge_two(id, who, other);
        hangup(other, 16);
    }
    void queue_event(std::string_view event, const Chan& caller, const Member* member,
                     std::vector<std::pair<std::string, std::string>> extra) {
        auto m = begin(event, "agent,all");
        chan_fields(m, caller);
        if (member) chan_fields(m, member->local1, "Dest");
        if (member) {
            add(m, "Queue", *p_.queue);
            add(m, "MemberName", member->ext);
            add(m, "Interface", "Local/" + member->ext + "@from-queue/n");
        }
        for (auto& [k, v] : extra) add(m, std::move(k), std::move(v));
        emit(std::move(m));
    }

    CallScript finish() {
        CallScript s;
        s.events = std::move(events_);
        s.linkedid = linkedid();
        s.ids_used = ids_used_;
        s.channel_seqs_used = seqs_used_;
        return s;
    }

private:
    const CallPlan& p_;
    milliseconds now_{0};
    std::vector<TimedEvent> events_;
    std::uint64_t ids_used_ = 0;
    std::uint64_t seqs_used_ = 0;
};

constexpr int up = 6, ring = 4, ringing = 5;

}  // namespace

const char* to_string(Outcome o) noexcept {
    switch (o) {
        case Outcome::answered: return "answered";
        case Outcome::caller_cancels: return "caller_cancels";
        case Outcome::busy: return "busy";
        case Outcome::no_answer: return "no_answer";
    }
    return "answered";
}

CallScript script_originate(const OriginatePlan& o) {
    CallPlan p;  // the Builder's ids, channel numbers and clock
    p.epoch_seconds = o.epoch_seconds;
    p.first_id = o.first_id;
    p.first_channel_seq = o.first_channel_seq;
    p.start = o.start;
    Builder b(p);
    // "Ringside <1001>" -> name and number, as ast_callerid_parse splits it.
    std::string cid_name, cid_num = o.caller_id;
    if (auto lt = o.caller_id.find('<'); lt != std::string::npos && o.caller_id.back() == '>') {
        cid_num = o.caller_id.substr(lt + 1, o.caller_id.size() - lt - 2);
        cid_name = o.caller_id.substr(0, lt);
        while (!cid_name.empty() && (cid_name.back() == ' ' || cid_name.back() == '"')) cid_name.pop_back();
        while (!cid_name.empty() && cid_name.front() == '"') cid_name.erase(0, 1);
    }
    // Asterisk allocates the originated channel at exten `s`; it reaches the
    // number in the dialplan only once the phone answers.
    Chan phone = b.make_chan(o.channel + "-" + b.next_seq(), o.context, "s");
    phone.cid_num = or_unknown(cid_num);
    phone.cid_name = or_unknown(cid_name);
    b.newchannel(phone);
    b.later(milliseconds(40));
    b.newstate(phone, ringing);

    auto originate_response = [&](bool ok, int reason, const std::string& uniqueid) {
        auto m = b.begin("OriginateResponse");
        if (!o.action_id.empty()) Builder::add(m, "ActionID", o.action_id);
        Builder::add(m, "Response", ok ? "Success" : "Failure");
        Builder::add(m, "Channel", ok ? phone.name : o.channel);
        Builder::add(m, "Context", o.context);
        Builder::add(m, "Exten", o.exten);
        Builder::add(m, "Application", "");
        Builder::add(m, "Data", "");
        Builder::add(m, "Reason", std::to_string(reason));
        Builder::add(m, "Uniqueid", uniqueid);
        Builder::add(m, "CallerIDNum", phone.cid_num);
        Builder::add(m, "CallerIDName", phone.cid_name);
        b.emit(std::move(m));
    };

    if (!o.agent_answers) {
        b.at(o.timeout);
        b.hangup(phone, 19);
        originate_response(false, 3, "<null>");
        return b.finish();
    }
    b.at(o.ring_time);
    b.newstate(phone, up);
    originate_response(true, 4, phone.uniqueid);
    b.later(milliseconds(2));
    phone.exten = o.exten;
    b.newexten(phone, 1, "Dial", o.trunk + "/" + o.exten + ",60,T");
    Chan far = b.make_chan(o.trunk + "-" + b.next_seq(), "from-trunk", "s");
    b.newchannel(far);
    far.cid_num = o.exten;
    far.conn_num = phone.cid_num;
    far.conn_name = phone.cid_name;
    b.newcallerid(far);
    b.dial_begin(phone, far, "trunk/" + o.exten);
    b.later(milliseconds(60));
    b.newstate(far, ringing);
    b.at(b.now() + o.far_ring_time);
    b.newstate(far, up);
    b.dial_end(phone, far, "ANSWER");
    const std::string bridge = bridge_uuid(p, 0);
    b.bridge_two(bridge, phone, far);
    b.at(b.now() + o.talk_time);
    b.hang_up_bridged(phone, bridge, far);
    b.hangup(phone, 16);
    return b.finish();
}

const char* cause_text(int cause) noexcept {
    switch (cause) {
        case 0: return "Unknown";
        case 1: return "Unallocated (unassigned) number";
        case 16: return "Normal Clearing";
        case 17: return "User busy";
        case 18: return "No user responding";
        case 19: return "User alerting, no answer";
        case 21: return "Call Rejected";
        case 26: return "Answered elsewhere";
        case 34: return "Circuit/channel congestion";
        case 127: return "Interworking, unspecified";
        default: return "Unknown";
    }
}

const char* channel_state_desc(int state) noexcept {
    switch (state) {
        case 0: return "Down";
        case 1: return "Rsrvd";
        case 2: return "OffHook";
        case 3: return "Dialing";
        case 4: return "Ring";
        case 5: return "Ringing";
        case 6: return "Up";
        case 7: return "Busy";
        case 8: return "Dialing Offhook";
        case 9: return "Pre-ring";
        default: return "Unknown";
    }
}

std::string format_ami_timestamp(Timestamp t) {
    auto ms = t.time_since_epoch().count();
    long long sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    long long frac = ms - sec * 1000;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%lld.%06lld", sec, frac * 1000);
    return buf;
}

namespace {

/// The answering agent (`agent`, in bridge `bridge` with the caller) hands the
/// caller to p.transfer_to: blind or attended, as Asterisk 13+ reports it
/// (cacofonisk xfer_blind / xfer_attended shapes), until the target has
/// talked transfer_talk_time and the caller hangs up (the trunk's own Hangup
/// is left to the caller of this function).
void script_transfer(Builder& b, const CallPlan& p, Chan& trunk, Chan& agent, const std::string& bridge) {
    const std::string& target_ext = *p.transfer_to;
    auto target_device = [&](const Chan& from, const std::string& linkedid) {
        Chan t = b.make_chan("SIP/" + target_ext + "-" + b.next_seq(), "from-internal", "s");
        t.linkedid = linkedid;
        b.newchannel(t);
        t.cid_num = target_ext;
        t.conn_num = from.cid_num;
        t.conn_name = from.cid_name;
        t.exten = target_ext;
        b.newcallerid(t);
        b.chan_event("NewConnectedLine", t);
        b.dial_begin(from, t, target_ext);
        b.later(milliseconds(40));
        b.newstate(t, ringing);
        return t;
    };
    const std::string second = bridge_uuid(p, 2);
    if (!p.transfer_attended) {
        auto m = b.begin("BlindTransfer");
        Builder::add(m, "Result", "Success");
        Builder::chan_fields(m, agent, "Transferer");
        Builder::chan_fields(m, trunk, "Transferee");
        b.bridge_fields(m, bridge, 2);
        Builder::add(m, "IsExternal", "Yes");
        Builder::add(m, "Context", "from-internal");
        Builder::add(m, "Extension", target_ext);
        b.emit(std::move(m));
        b.bridge_chan("BridgeLeave", bridge, 1, agent);
        trunk.exten = target_ext;
        trunk.context = "from-internal";
        b.bridge_chan("BridgeLeave", bridge, 0, trunk);
        b.hangup(agent, 16);
        b.bridge("BridgeDestroy", bridge, 0);
        b.later(milliseconds(2));
        b.newexten(trunk, 1, "Dial", "SIP/" + target_ext + ",30,tT");
        Chan t = target_device(trunk, trunk.linkedid);
        b.at(b.now() + p.ring_time);
        b.newstate(t, up);
        b.dial_end(trunk, t, "ANSWER");
        trunk.conn_num = target_ext;
        b.chan_event("NewConnectedLine", trunk);
        b.bridge_two(second, t, trunk);
        b.at(b.now() + p.transfer_talk_time);
        b.hang_up_bridged(trunk, second, t);
        return;
    }
    // The agent's phone calls the target: a call of its own.
    Chan consult = b.make_chan("SIP/" + agent.cid_num + "-" + b.next_seq(), "from-internal", target_ext);
    consult.linkedid = consult.uniqueid;
    consult.cid_num = agent.cid_num;
    consult.state = ring;
    b.newchannel(consult);
    b.newexten(consult, 1, "Dial", "SIP/" + target_ext + ",30,tT");
    Chan t = target_device(consult, consult.linkedid);
    b.at(b.now() + p.ring_time);
    b.newstate(t, up);
    b.dial_end(consult, t, "ANSWER");
    b.newstate(consult, up);
    b.bridge_two(second, t, consult);
    b.at(b.now() + p.consult_time);
    auto m = b.begin("AttendedTransfer");
    Builder::add(m, "Result", "Success");
    Builder::chan_fields(m, agent, "OrigTransferer");
    b.bridge_fields(m, bridge, 2);
    for (auto& f : m.fields)
        if (f.key.rfind("Bridge", 0) == 0) f.key = "Orig" + f.key;
    Builder::chan_fields(m, consult, "SecondTransferer");
    ami::Message second_bridge;
    b.bridge_fields(second_bridge, second, 2);
    for (auto& f : second_bridge.fields) m.fields.push_back({"Second" + f.key, f.value});
    Builder::chan_fields(m, trunk, "Transferee");
    Builder::chan_fields(m, t, "TransferTarget");
    Builder::add(m, "IsExternal", "No");
    Builder::add(m, "DestType", "Bridge");
    Builder::add(m, "DestBridgeUniqueid", second);
    b.emit(std::move(m));
    b.bridge_chan("BridgeLeave", bridge, 1, trunk);
    b.bridge_chan("BridgeEnter", second, 3, trunk);
    b.bridge_chan("BridgeLeave", bridge, 0, agent);
    b.bridge("BridgeDestroy", bridge, 0);
    b.bridge_chan("BridgeLeave", second, 2, consult);
    b.hangup(consult, 16);
    b.hangup(agent, 16);
    trunk.conn_num = target_ext;
    b.chan_event("NewConnectedLine", trunk);
    b.at(b.now() + p.transfer_talk_time);
    b.hang_up_bridged(trunk, second, t);
}

}  // namespace

CallScript script_call(const CallPlan& p) {
    Builder b(p);
    if (p.extensions.empty()) return b.finish();
    const bool queue = p.queue.has_value();
    const bool via_local = queue || p.extensions.size() > 1;
    const std::size_t answered_by = std::min(p.answered_by, p.extensions.size() - 1);
    const std::string member_ctx = queue ? "from-queue" : "from-internal";

    // The trunk channel: caller id as the provider presents it.
    Chan trunk = b.make_chan(p.trunk + "-" + b.next_seq(), p.context, p.dialed);
    trunk.cid_num = or_unknown(p.caller_number);
    trunk.cid_name = or_unknown(p.caller_name);
    b.newchannel(trunk);
    b.newstate(trunk, ring);
    b.later(milliseconds(2));
    b.newexten(trunk, 1, "NoOp", "Inbound call on " + p.dialed);
    b.newexten(trunk, 2, "Set", "__FROM_DID=" + p.dialed);
    b.newexten(trunk, 3, "Set", "CDR(did)=" + p.dialed);

    std::vector<Member> members;
    std::string dial_targets;
    for (const auto& ext : p.extensions) {
        if (!dial_targets.empty()) dial_targets += '&';
        dial_targets += via_local ? "Local/" + ext + "@" + member_ctx + "/n" : "SIP/" + ext;
    }
    const milliseconds queue_joined = b.now();
    if (queue) {
        b.newexten(trunk, 4, "Answer", "");
        b.newstate(trunk, up);
        b.later(milliseconds(5));
        b.newexten(trunk, 5, "Queue", *p.queue + ",t,,,30");
        b.queue_event("QueueCallerJoin", trunk, nullptr, {{"Queue", *p.queue}, {"Position", "1"}, {"Count", "1"}});
    } else {
        b.newexten(trunk, 4, "Dial", dial_targets + ",30,tT");
    }

    // Every member starts ringing.
    for (const auto& ext : p.extensions) {
        b.later(milliseconds(3));
        Member m;
        m.ext = ext;
        m.via_local = via_local;
        if (via_local) {
            const std::string local = "Local/" + ext + "@" + member_ctx + "-" + b.next_seq();
            m.local1 = b.make_chan(local + ";1", member_ctx, ext);
            m.local2 = b.make_chan(local + ";2", member_ctx, ext);
            m.local2.state = ring;
            b.newchannel(m.local1);
            b.newchannel(m.local2);
            m.local1.conn_num = trunk.cid_num;
            m.local1.conn_name = trunk.cid_name;
            m.local2.cid_num = trunk.cid_num;
            m.local2.cid_name = trunk.cid_name;
            b.newcallerid(m.local2);
            b.local_bridge(m.local1, m.local2);
            if (queue) b.queue_event("AgentCalled", trunk, &m, {});
            b.dial_begin(trunk, m.local1, ext + "@" + member_ctx + "/n");
            b.newexten(m.local2, 1, "Dial", "SIP/" + ext + ",,tT");
        }
        const Chan& dialer = via_local ? m.local2 : trunk;
        m.device = b.make_chan("SIP/" + ext + "-" + b.next_seq(), "from-internal", "s");
        b.newchannel(m.device);
        // The dialled phone's own caller id is its extension; the caller shows as connected line.
        m.device.cid_num = ext;
        m.device.conn_num = trunk.cid_num;
        m.device.conn_name = trunk.cid_name;
        m.device.exten = ext;
        b.newexten(m.device, 1, "AppDial", "(Outgoing Line)");
        b.newcallerid(m.device);
        b.chan_event("NewConnectedLine", m.device);
        b.dial_begin(dialer, m.device, ext);
        members.push_back(std::move(m));
    }
    const milliseconds dialled_at = b.now();

    if (p.outcome != Outcome::busy) {
        b.later(milliseconds(40));
        for (auto& m : members) {
            b.newstate(m.device, ringing);
            if (m.via_local) b.newstate(m.local1, ringing);
        }
    }

    auto end_member = [&](Member& m, std::string_view status, int device_cause, int local_cause) {
        if (m.via_local) {
            b.dial_end(trunk, m.local1, status);
            b.dial_end(m.local2, m.device, status);
            b.hangup(m.device, device_cause);
            b.hangup(m.local2, local_cause);
            b.hangup(m.local1, local_cause);
        } else {
            b.dial_end(trunk, m.device, status);
            b.hangup(m.device, device_cause);
        }
    };
    // The caller's channel runs the h extension before it goes.
    auto hangup_trunk = [&](int cause, std::string_view dialstatus) {
        b.later(milliseconds(2));
        trunk.exten = "h";
        b.newexten(trunk, 1, "NoOp", "Call ended");
        b.newexten(trunk, 2, "Set", "CDR(dialstatus)=" + std::string(dialstatus));
        b.hangup(trunk, cause);
    };
    auto secs = [](milliseconds d) { return std::to_string(d.count() / 1000); };

    switch (p.outcome) {
        case Outcome::answered: {
            b.at(dialled_at + p.ring_time);
            std::size_t answering = answered_by;
            if (p.forward_to && !via_local) {
                // The first phone does not take it: the call goes on to the forward's target.
                Member& f = members[0];
                if (p.forward_by_phone) {
                    auto m = b.begin("DialEnd");
                    Builder::chan_fields(m, trunk);
                    Builder::chan_fields(m, f.device, "Dest");
                    Builder::add(m, "DialStatus", "CANCEL");
                    Builder::add(m, "Forward", "SIP/" + *p.forward_to);
                    b.emit(std::move(m));
                    b.hangup(f.device, 16);
                } else {
                    end_member(f, "NOANSWER", 19, 19);
                    b.later(milliseconds(2));
                    b.newexten(trunk, 5, "Dial", "SIP/" + *p.forward_to + ",30,tT");
                }
                Member t;
                t.ext = *p.forward_to;
                t.device = b.make_chan("SIP/" + t.ext + "-" + b.next_seq(), "from-internal", "s");
                b.newchannel(t.device);
                t.device.cid_num = t.ext;
                t.device.conn_num = trunk.cid_num;
                t.device.conn_name = trunk.cid_name;
                t.device.exten = t.ext;
                b.newcallerid(t.device);
                b.dial_begin(trunk, t.device, p.forward_by_phone ? "SIP/" + t.ext : t.ext);
                b.later(milliseconds(40));
                b.newstate(t.device, ringing);
                members = {std::move(t)};
                answering = 0;
                b.at(b.now() + p.ring_time);
            }
            Member& a = members[answering];
            if (p.picked_up_by) {
                // Another phone dials the pickup code: a call of its own, answered by Asterisk.
                Chan pk = b.make_chan("SIP/" + *p.picked_up_by + "-" + b.next_seq(), "from-internal", p.pickup_code);
                pk.linkedid = pk.uniqueid;
                pk.cid_num = *p.picked_up_by;
                b.newchannel(pk);
                b.newstate(pk, ring);
                b.newexten(pk, 1, "Pickup", p.pickup_code == "*8" ? "" : a.ext + "@PICKUPMARK");
                b.newstate(pk, up);
                const Chan& dialer = a.via_local ? a.local2 : trunk;
                b.dial_end(dialer, a.device, "CANCEL");
                b.dial_begin(dialer, pk, a.ext);
                auto m = b.begin("Pickup");
                Builder::chan_fields(m, pk);
                Builder::chan_fields(m, a.device, "Target");
                b.emit(std::move(m));
                pk.conn_num = trunk.cid_num;
                pk.conn_name = trunk.cid_name;
                pk.linkedid = b.linkedid();  // the picker now belongs to the call it took
                b.hangup(a.device, 26);
                b.dial_end(dialer, pk, "ANSWER");
                a.device = pk;
                a.ext = *p.picked_up_by;
                if (a.via_local) {
                    b.newstate(a.local2, up);
                    b.newstate(a.local1, up);
                }
            } else {
                b.newstate(a.device, up);
                if (a.via_local) {
                    b.dial_end(a.local2, a.device, "ANSWER");
                    b.newstate(a.local2, up);
                    b.newstate(a.local1, up);
                }
            }
            b.dial_end(trunk, a.via_local ? a.local1 : a.device, "ANSWER");
            // The caller now sees who answered.
            trunk.conn_num = a.ext;
            trunk.conn_name = "<unknown>";
            b.chan_event("NewConnectedLine", trunk);
            for (std::size_t i = 0; i < members.size(); ++i)
                if (i != answering) end_member(members[i], "CANCEL", 26, 26);
            if (queue) {
                b.queue_event("AgentConnect", trunk, &a,
                              {{"HoldTime", secs(b.now() - queue_joined)}, {"RingTime", secs(p.ring_time)}});
                b.queue_event("QueueCallerLeave", trunk, nullptr, {{"Queue", *p.queue}, {"Position", "1"}, {"Count", "0"}});
            } else {
                b.newstate(trunk, up);
            }
            const std::string outer = bridge_uuid(p, 0);
            const std::string inner = bridge_uuid(p, 1);
            if (a.via_local) b.bridge_two(inner, a.device, a.local2);
            b.bridge("BridgeCreate", outer, 0);
            if (!a.via_local) b.newexten(a.device, 1, "AppDial", "(Outgoing Line)");
            b.bridge_chan("BridgeEnter", outer, 1, a.via_local ? a.local1 : a.device);
            b.bridge_chan("BridgeEnter", outer, 2, trunk);

            if (p.transfer_to && !a.via_local && !p.picked_up_by && !p.forward_to) {
                b.at(b.now() + p.talk_time);
                script_transfer(b, p, trunk, a.device, outer);
                hangup_trunk(16, "ANSWER");
                break;
            }
            // The caller hangs up after talk_time.
            b.at(b.now() + p.talk_time);
            b.hangup_request(trunk);
            if (queue)
                b.queue_event("AgentComplete", trunk, &a,
                              {{"HoldTime", secs(dialled_at + p.ring_time - queue_joined)},
                               {"TalkTime", secs(p.talk_time)},
                               {"Reason", "caller"}});
            b.unbridge_two(outer, trunk, a.via_local ? a.local1 : a.device);
            if (a.via_local) {
                b.hangup(a.local1, 16);
                b.unbridge_two(inner, a.local2, a.device);
                b.hangup(a.local2, 16);
            }
            b.hangup(a.device, 16);
            hangup_trunk(16, "ANSWER");
            break;
        }
        case Outcome::caller_cancels: {
            b.at(dialled_at + p.ring_time);
            b.hangup_request(trunk);
            for (auto& m : members) end_member(m, "CANCEL", 16, 16);
            if (queue)
                b.queue_event("QueueCallerAbandon", trunk, nullptr,
                              {{"Queue", *p.queue}, {"Position", "1"}, {"OriginalPosition", "1"},
                               {"HoldTime", secs(b.now() - queue_joined)}});
            hangup_trunk(16, "CANCEL");
            break;
        }
        case Outcome::busy: {
            b.later(milliseconds(300));
            for (auto& m : members) end_member(m, "BUSY", 17, 17);
            if (queue) {
                // app_queue keeps the caller waiting for its timeout when every member is busy.
                b.at(dialled_at + p.ring_time);
                b.queue_event("QueueCallerLeave", trunk, nullptr, {{"Queue", *p.queue}, {"Position", "1"}, {"Count", "0"}});
            }
            hangup_trunk(17, "BUSY");
            break;
        }
        case Outcome::no_answer: {
            b.at(dialled_at + p.ring_time);
            for (auto& m : members) {
                if (queue) b.queue_event("AgentRingNoAnswer", trunk, &m, {{"RingTime", secs(p.ring_time)}});
                end_member(m, "NOANSWER", 16, 16);
            }
            if (queue) b.queue_event("QueueCallerLeave", trunk, nullptr, {{"Queue", *p.queue}, {"Position", "1"}, {"Count", "0"}});
            hangup_trunk(19, "NOANSWER");
            break;
        }
    }
    return b.finish();
}

}  // namespace ringside::sim
