#include "ringside/sip/call_events.hpp"

#include <cstdio>

namespace ringside::sip {

std::string call_key(std::string_view call_id) {
    std::string out;
    out.reserve(std::min<std::size_t>(call_id.size(), 96));
    for (char c : call_id.substr(0, 96)) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        out += ok ? c : '_';
    }
    if (out.empty()) out = "_";
    return out;
}

CallEvents::Call& CallEvents::open_call(const std::string& key, const std::string& ext, const std::string& caller_num,
                                         const std::string& caller_name, const std::string& dialed, Timestamp at,
                                         std::vector<pbx::Event>& out, bool caller_withheld) {
    auto [it, fresh] = calls_.try_emplace(key);
    Call& c = it->second;
    if (!fresh) return c;
    pbx::ChannelInfo root;
    root.uniqueid = key;
    root.linkedid = key;
    // A caller id of 1 to 5 digits is a phone of the PBX (an extension,
    // never an external caller: the normaliser's rule): its root channel is
    // a device channel, so the call is an agent's internal call, or another
    // tenant's phone's (never an inbound customer call), as on AMI and ESL.
    // Anything else is the external caller: no "tech/", never a device.
    const bool phone = !caller_withheld && !caller_num.empty() && caller_num.size() < 6 &&
                       caller_num.find_first_not_of("0123456789") == std::string::npos;
    root.channel = phone ? "SIP/" : "sip-caller";
    if (phone) root.channel.append(caller_num).append("-0");
    root.caller_num = caller_num;
    root.caller_name = caller_name;
    root.caller_withheld = caller_withheld;
    root.exten = dialed.empty() ? ext : dialed;
    root.state = pbx::ChannelState::ring;
    c.root = key;
    c.root_info = root;
    out.push_back(make(at, pbx::ChannelCreated{root, false}));
    return c;
}

void CallEvents::ringing(const std::string& key, const std::string& ext, const std::string& caller_num,
                         const std::string& caller_name, const std::string& dialed, Timestamp at,
                         std::vector<pbx::Event>& out, bool caller_withheld) {
    Call& c = open_call(key, ext, caller_num, caller_name, dialed, at, out, caller_withheld);
    if (c.legs.count(ext)) return;
    char seq[24];
    std::snprintf(seq, sizeof seq, "%08llx", static_cast<unsigned long long>(++seq_));
    pbx::ChannelInfo leg;
    leg.uniqueid = key + "/" + ext;
    leg.linkedid = key;
    leg.channel = "SIP/" + ext + "-" + seq;
    leg.caller_num = ext;
    leg.connected_num = caller_num;
    leg.connected_name = caller_name;
    leg.exten = ext;
    leg.state = pbx::ChannelState::down;
    c.legs[ext].uniqueid = leg.uniqueid;
    out.push_back(make(at, pbx::ChannelCreated{leg, false}));
    out.push_back(make(at, pbx::DialBegin{c.root_info, leg, ext}));
    leg.state = pbx::ChannelState::ringing;
    out.push_back(make(at, pbx::ChannelUpdated{leg}));
}

std::string CallEvents::transferred_ringing(const std::string& key, const std::string& ext, const Referral& via,
                                            const std::string& caller_num, const std::string& caller_name,
                                            const std::string& dialed, Timestamp at, std::vector<pbx::Event>& out,
                                            bool caller_withheld) {
    // The transferee's call that the transferer took and still holds (its
    // dialog stays up until the transfer completes): the ring continues it.
    std::string into = key;
    if (!via.transferer.empty() && !calls_.count(key)) {
        const std::string* found = nullptr;
        int matches = 0;
        for (const auto& [k, c] : calls_) {
            if (k == via.replaced_key || c.root_info.caller_num != caller_num ||
                c.root_info.caller_withheld.value_or(false) != caller_withheld) continue;
            auto l = c.legs.find(via.transferer);
            if (l != c.legs.end() && l->second.answered) {
                found = &k;
                ++matches;
            }
        }
        if (matches == 1) into = *found;
    }
    Call& c = open_call(into, ext, caller_num, caller_name, dialed, at, out, caller_withheld);
    c.answered = false;  // a transfer asks for a new answer: the first one no longer stands for it
    pbx::Transfer t;
    t.transferee_uniqueid = c.root;
    t.transferer_exten = via.transferer;
    if (auto by = c.legs.find(via.transferer); by != c.legs.end()) t.transferer_uniqueid = by->second.uniqueid;

    auto replaced = via.replaced_key.empty() || via.replaced_key == into ? calls_.end() : calls_.find(via.replaced_key);
    if (replaced != calls_.end()) {
        auto leg = replaced->second.legs.find(ext);
        if (leg == replaced->second.legs.end() || leg->second.answered || leg->second.forwarded || c.legs.count(ext))
            replaced = calls_.end();
    }
    if (replaced == calls_.end()) {
        if (!via.transferer.empty()) out.push_back(make(at, std::move(t)));
        ringing(into, ext, caller_num, caller_name, dialed, at, out, caller_withheld);
        return into;
    }
    // Blonde: the consultation call joins this one; its ringing leg of `ext`
    // is this call's from now on (the same channel: it rings on).
    t.attended = true;
    t.target_uniqueid = replaced->second.root;
    out.push_back(make(at, std::move(t)));
    auto leg = replaced->second.legs.find(ext);
    c.legs[ext] = leg->second;
    replaced->second.legs.erase(leg);
    if (replaced->second.legs.empty()) {
        out.push_back(make(at, pbx::Hangup{replaced->second.root, 16, ""}));
        calls_.erase(replaced);
    }
    return into;
}

void CallEvents::answered(const std::string& key, const std::string& ext, Timestamp at, std::vector<pbx::Event>& out) {
    auto it = calls_.find(key);
    if (it == calls_.end()) return;
    auto leg = it->second.legs.find(ext);
    if (leg == it->second.legs.end() || leg->second.answered || leg->second.forwarded) return;
    // Forks of one call all cancelled as "completed elsewhere": the first
    // one reported is taken as the answer, the others only end.
    if (it->second.answered) return;
    it->second.answered = true;
    leg->second.answered = true;
    out.push_back(make(at, pbx::DialEnd{it->second.root, leg->second.uniqueid, pbx::DialStatus::answer}));
}

void CallEvents::ended(const std::string& key, const std::string& ext, int cause, Timestamp at,
                       std::vector<pbx::Event>& out, bool order_known) {
    auto it = calls_.find(key);
    if (it == calls_.end()) return;
    auto leg = it->second.legs.find(ext);
    if (leg == it->second.legs.end()) return;
    if (!leg->second.answered && !leg->second.forwarded) {
        auto status = cause == 17 ? pbx::DialStatus::busy
                      : cause == 19 ? pbx::DialStatus::noanswer
                      : cause == 21 ? pbx::DialStatus::other
                                    : pbx::DialStatus::cancel;
        out.push_back(make(at, pbx::DialEnd{it->second.root, leg->second.uniqueid, status}));
    }
    out.push_back(make(at, pbx::Hangup{leg->second.uniqueid, cause, "", order_known}));
    it->second.legs.erase(leg);
    if (it->second.legs.empty()) {
        out.push_back(make(at, pbx::Hangup{it->second.root, cause == 17 || cause == 21 ? 16 : cause, "", order_known}));
        calls_.erase(it);
    }
}

void CallEvents::forwarded(const std::string& key, const std::string& ext, const std::string& to, Timestamp at,
                           std::vector<pbx::Event>& out) {
    auto it = calls_.find(key);
    if (it == calls_.end()) return;
    auto leg = it->second.legs.find(ext);
    if (leg == it->second.legs.end() || leg->second.answered || leg->second.forwarded) return;
    leg->second.forwarded = true;
    pbx::DialEnd d;
    d.caller_uniqueid = it->second.root;
    d.dest_uniqueid = leg->second.uniqueid;
    d.status = pbx::DialStatus::cancel;
    d.forward = to;
    out.push_back(make(at, std::move(d)));
}

void CallEvents::hangup_request(const std::string& key, const std::string& ext, HangupBy by, Timestamp at,
                                std::vector<pbx::Event>& out) {
    auto it = calls_.find(key);
    if (it == calls_.end()) return;
    auto leg = it->second.legs.find(ext);
    if (leg == it->second.legs.end()) return;
    if (by == HangupBy::agent) {
        out.push_back(make(at, pbx::HangupRequest{leg->second.uniqueid, false}));
        return;
    }
    if (it->second.legs.size() != 1) return;
    out.push_back(make(at, pbx::HangupRequest{it->second.root, by == HangupBy::system}));
}

bool CallEvents::has(const std::string& key, const std::string& ext) const {
    auto it = calls_.find(key);
    return it != calls_.end() && it->second.legs.count(ext);
}

void CallEvents::end_all(Timestamp at, std::vector<pbx::Event>& out) {
    while (!calls_.empty()) {
        auto& [key, c] = *calls_.begin();
        const std::string k = key;
        if (c.legs.empty()) {
            out.push_back(make(at, pbx::Hangup{c.root, 16, ""}));
            calls_.erase(calls_.begin());
            continue;
        }
        ended(k, c.legs.begin()->first, 16, at, out);
    }
}

}  // namespace ringside::sip
