// FreeSWITCH transfer and mod_callcenter evidence -> pbx::Transfer, queue
// events and the dial that ties a queue agent's leg to the caller's call.
// See mapper.hpp for what is read from which event.
#include <optional>
#include <string>
#include <utility>

#include "ringside/esl/mapper.hpp"

namespace ringside::esl {
namespace {

/// "sip:1002@pbx.example.com" / "user/1002@default" / "1002 XML default" ->
/// "1002": the user part of the first word, without a scheme or prefix.
std::string target_of(std::string_view data) {
    while (!data.empty() && data.front() == ' ') data.remove_prefix(1);
    if (data.size() > 1 && data.front() == '{') {  // {var=...}user/1002
        const auto close = data.find('}');
        data.remove_prefix(close == std::string_view::npos ? data.size() : close + 1);
    }
    data = data.substr(0, data.find(' '));
    if (auto slash = data.rfind('/'); slash != std::string_view::npos) data.remove_prefix(slash + 1);
    if (auto colon = data.find(':'); colon != std::string_view::npos) data.remove_prefix(colon + 1);
    data = data.substr(0, data.find('@'));
    if (data.size() > 64) return {};
    return std::string(data);
}

/// variable_transfer_history: one "epoch:uuid:kind:dest/context/dialplan"
/// entry, or FreeSWITCH's array form "ARRAY::entry|:entry". Returns the
/// number of entries and the last one.
std::pair<std::size_t, std::string_view> history_of(std::string_view v) {
    if (v.empty()) return {0, {}};
    constexpr std::string_view array = "ARRAY::";
    if (v.substr(0, array.size()) != array) return {1, v};
    v.remove_prefix(array.size());
    std::size_t n = 1;
    std::string_view last = v;
    for (auto pos = v.find("|:"); pos != std::string_view::npos; pos = v.find("|:", pos + 2)) {
        ++n;
        last = v.substr(pos + 2);
    }
    return {n, last};
}

/// "1700000010:uuid:bl_xfer:1002/default/XML" -> "1002" (blind entries only).
std::optional<std::string> blind_destination(std::string_view entry) {
    const auto kind = entry.find(":bl_xfer:");
    if (kind == std::string_view::npos) return std::nullopt;
    auto dest = entry.substr(kind + 9);
    return std::string(dest.substr(0, dest.find('/')));
}

long long epoch_of(std::string_view s) {
    long long v = 0;
    if (s.empty() || s.size() > 12) return 0;
    for (char c : s) {
        if (c < '0' || c > '9') return 0;
        v = v * 10 + (c - '0');
    }
    return v;
}

/// "support@default" -> "support": the queue's name without its domain.
std::string queue_name(std::string_view q) { return std::string(q.substr(0, q.find('@'))); }

}  // namespace

void EventMapper::map_transfers(const Event& e, Timestamp at, std::vector<pbx::Event>& out) {
    const auto name = e.name();
    const std::string uid(e.get("Unique-ID"));
    auto known = [this](const std::string& id) -> Known* {
        if (id.empty()) return nullptr;
        auto it = channels_.find(id);
        return it == channels_.end() ? nullptr : &it->second;
    };
    // The partner a channel is (or was last) bridged to, as the transferer
    // (the call tracker remembers the phone of a leg that already hung up).
    auto transferer_of = [](const Known& k, pbx::Transfer& t) {
        t.transferer_uniqueid = k.partner.empty() ? k.last_partner : k.partner;
    };

    if (iequals(name, "CUSTOM")) {
        const auto sub = e.get("Event-Subclass");
        if (iequals(sub, "callcenter::info")) return map_callcenter(e, at, out);
        pbx::Transfer t;
        t.attended = true;
        if (iequals(sub, "sofia::transferor")) {
            // The transferor's leg got REFER with Replaces: its partner (the
            // caller) goes to the peer of the consultation leg.
            const Known* k = known(uid);
            t.transferer_uniqueid = uid;
            t.transferee_uniqueid = k && !k->partner.empty() ? k->partner : std::string(e.get("Other-Leg-Unique-ID"));
            t.target_uniqueid = std::string(e.get("att_xfer_destination_peer_uuid"));
        } else if (iequals(sub, "sofia::transferee")) {
            // The caller is being joined to someone else; the bridge that follows says to whom.
            const Known* k = known(uid);
            if (!k) return;
            t.transferee_uniqueid = uid;
            transferer_of(*k, t);
        } else if (iequals(sub, "sofia::replaced")) {
            // This leg's dialog was replaced by att_xfer_replaced_by (INVITE
            // with Replaces): the new leg takes over this leg's partner.
            const Known* k = known(uid);
            t.transferer_uniqueid = uid;
            t.transferee_uniqueid = std::string(e.get("att_xfer_replaced_by"));
            if (k) t.target_uniqueid = k->partner.empty() ? k->last_partner : k->partner;
        } else {
            return;
        }
        if (t.transferee_uniqueid.empty()) return;
        out.push_back(pbx::Event{pbx_, at, std::move(t)});
        return;
    }

    // A new blind entry in the channel's transfer history (events that carry
    // channel variables: UNBRIDGE, EXECUTE, BRIDGE, ANSWER, ...), read before
    // a bridge change so that the partner it names is the one it had.
    if (Known* k = known(uid)) {
        const auto [n, last] = history_of(e.get("variable_transfer_history"));
        if (n > k->transfers_seen) {
            k->transfers_seen = n;
            if (auto dest = blind_destination(last)) {
                pbx::Transfer t;
                t.transferee_uniqueid = uid;
                transferer_of(*k, t);
                t.target_exten = *dest;
                out.push_back(pbx::Event{pbx_, at, std::move(t)});
            }
        }
    }

    if (iequals(name, "CHANNEL_BRIDGE") || iequals(name, "CHANNEL_UNBRIDGE")) {
        std::string a(e.get("Bridge-A-Unique-ID")), b(e.get("Bridge-B-Unique-ID"));
        if (a.empty()) a = uid;
        if (b.empty()) b = std::string(e.get("Other-Leg-Unique-ID"));
        Known* ka = known(a);
        Known* kb = known(b);
        if (!ka || !kb || a == b) return;
        if (iequals(name, "CHANNEL_UNBRIDGE")) {
            for (Known* x : {ka, kb}) {
                if (x->partner == (x == ka ? b : a)) x->partner.clear();
                x->last_partner = x == ka ? b : a;
            }
            return;
        }
        if (ka->info.linkedid != kb->info.linkedid && !ka->info.linkedid.empty() && !kb->info.linkedid.empty()) {
            // Legs of two calls joined: an attended (or blonde) transfer. The
            // transferer is the phone one of them was bridged to before.
            pbx::Transfer t;
            t.attended = true;
            t.transferee_uniqueid = a;
            t.target_uniqueid = b;
            if (!ka->last_partner.empty() || !ka->partner.empty()) transferer_of(*ka, t);
            else if (!kb->last_partner.empty() || !kb->partner.empty()) transferer_of(*kb, t);
            if (!t.transferer_uniqueid.empty()) out.push_back(pbx::Event{pbx_, at, std::move(t)});
        }
        for (Known* x : {ka, kb}) {
            if (!x->partner.empty()) x->last_partner = x->partner;
            x->partner = x == ka ? b : a;
        }
        return;
    }

    Known* k = known(uid);
    if (!k) return;
    if (iequals(name, "CHANNEL_EXECUTE")) {
        const auto app = e.get("Application");
        const auto data = e.get("Application-Data");
        pbx::Transfer t;
        if (iequals(app, "transfer") && data.substr(0, 5) == "-bleg") {
            // This leg sends its partner elsewhere.
            t.transferer_uniqueid = uid;
            t.transferee_uniqueid = k->partner;
            t.target_exten = target_of(data.substr(5));
        } else if (iequals(app, "att_xfer")) {
            // This leg calls the target; its partner is joined to it after.
            t.transferer_uniqueid = uid;
            t.transferee_uniqueid = k->partner;
            t.target_exten = target_of(data);
        } else if (iequals(app, "deflect")) {
            // REFER sent out to this leg's far end: it leaves for the target.
            t.transferee_uniqueid = uid;
            transferer_of(*k, t);
            t.target_exten = target_of(data);
        }
        if (!t.transferee_uniqueid.empty()) out.push_back(pbx::Event{pbx_, at, std::move(t)});
    }
}

void EventMapper::map_callcenter(const Event& e, Timestamp at, std::vector<pbx::Event>& out) {
    const auto action = e.get("CC-Action");
    std::string member(e.get("CC-Member-Session-UUID"));
    if (member.empty()) return;
    const std::string queue = queue_name(e.get("CC-Queue"));
    if (iequals(action, "member-queue-start")) {
        out.push_back(pbx::Event{pbx_, at, pbx::QueueJoin{std::move(member), queue, 0}});
    } else if (iequals(action, "member-queue-end")) {
        // Cancel: the caller left the queue (hung up, or broke out); a queue
        // timeout is the queue giving up, which is a missed call, not an abandon.
        const auto reason = e.get("CC-Cancel-Reason");
        if (iequals(e.get("CC-Cause"), "Cancel") && !iequals(reason, "TIMEOUT") && !iequals(reason, "NO_AGENT_TIMEOUT")) {
            const long long joined = epoch_of(e.get("CC-Member-Joined-Time"));
            const long long left = epoch_of(e.get("CC-Member-Leaving-Time"));
            const int hold = joined > 0 && left >= joined && left - joined < 86'400 ? static_cast<int>(left - joined) : 0;
            out.push_back(pbx::Event{pbx_, at, pbx::QueueAbandon{std::move(member), queue, hold}});
        } else {
            out.push_back(pbx::Event{pbx_, at, pbx::QueueLeave{std::move(member), queue}});
        }
    } else if (iequals(action, "bridge-agent-start")) {
        std::string agent(e.get("CC-Agent-UUID"));
        if (agent.empty()) return;
        out.push_back(pbx::Event{pbx_, at, pbx::AgentConnect{std::move(member), std::move(agent), "", queue, 0}});
    }
}

}  // namespace ringside::esl
