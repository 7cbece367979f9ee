#include "ringside/sip/watcher.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "ringside/core/ascii.hpp"
#include "ringside/core/phone.hpp"
#include "ringside/sip/dialog_info.hpp"
#include "ringside/sip/grammar.hpp"

namespace ringside::sip {

namespace {

std::string tag_of(std::string_view name_addr) {
    if (auto na = parse_name_addr(name_addr)) return na->param("tag").value_or("");
    return {};
}

std::optional<long> number(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    long v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec != std::errc{} || r.ptr == s.data()) return std::nullopt;
    return v;
}

/// Q.850 cause for a terminated dialog.
int cause_of(const DialogState& d) {
    if (d.code == 486 || d.code == 600) return 17;
    if (d.event == "rejected") return 21;
    if (d.event == "timeout") return 19;
    return 16;
}

}  // namespace

Watcher::Watcher(PbxId pbx, WatcherConfig config)
    : pbx_(pbx), config_(std::move(config)), calls_(pbx), rng_(config_.seed ? config_.seed : std::random_device{}()) {
    if (config_.domain.empty()) {
        auto hp = config_.server;
        if (!hp.empty() && hp.front() == '[') config_.domain = hp.substr(0, hp.find(']') + 1);
        else config_.domain = hp.substr(0, hp.rfind(':'));
    }
    for (const auto& e : config_.extensions) {
        Sub s;
        s.ext = e;
        s.ask = config_.expires;
        subs_.push_back(std::move(s));
    }
}

std::string Watcher::random_hex(int n) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string t;
    while (static_cast<int>(t.size()) < n) {
        auto v = rng_();
        for (int i = 0; i < 16 && static_cast<int>(t.size()) < n; ++i) t += hex[(v >> (i * 4)) & 15];
    }
    return t;
}

WatcherOutput Watcher::start(std::chrono::steady_clock::time_point now) {
    WatcherOutput out;
    for (auto& s : subs_) subscribe(s, now, out, false);
    return out;
}

void Watcher::subscribe(Sub& s, std::chrono::steady_clock::time_point now, WatcherOutput& out, bool refresh) {
    if (!refresh) {
        s.call_id = random_hex(20) + "@ringside";
        s.from_tag = random_hex(12);
        s.to_tag.clear();
        s.cseq = 0;
        s.version.reset();
        s.state = SubState::pending;
    }
    ++s.cseq;
    const bool tcp = iequals(config_.transport, "TCP");
    std::string r;
    r += "SUBSCRIBE sip:" + s.ext + "@" + config_.domain + " SIP/2.0\r\n";
    r += "Via: SIP/2.0/" + std::string(tcp ? "TCP " : "UDP ") + config_.local + ";branch=z9hG4bK" + random_hex(16) + ";rport\r\n";
    r += "Max-Forwards: 70\r\n";
    r += "From: <sip:ringside@" + config_.domain + ">;tag=" + s.from_tag + "\r\n";
    r += "To: <sip:" + s.ext + "@" + config_.domain + ">";
    if (!s.to_tag.empty()) r += ";tag=" + s.to_tag;
    r += "\r\n";
    r += "Call-ID: " + s.call_id + "\r\n";
    r += "CSeq: " + std::to_string(s.cseq) + " SUBSCRIBE\r\n";
    r += "Contact: <sip:ringside@" + config_.local + (tcp ? ";transport=tcp" : "") + ">\r\n";
    r += "Event: dialog\r\nAccept: application/dialog-info+xml\r\n";
    r += "Expires: " + std::to_string(s.ask.count()) + "\r\n";
    r += "User-Agent: " + config_.user_agent + "\r\nContent-Length: 0\r\n\r\n";
    s.pending_request = r;
    s.sent_at = now;
    s.retransmit_every = std::chrono::milliseconds(500);
    s.next_retransmit = now + s.retransmit_every;
    out.requests.push_back(std::move(r));
}

void Watcher::restart_later(Sub& s, std::chrono::steady_clock::time_point at, Timestamp, WatcherOutput&) {
    s.state = SubState::idle;
    s.pending_request.clear();
    s.next_action = at;
}

std::string Watcher::reply(const Message& req, int code, std::string_view reason) const {
    std::string r = "SIP/2.0 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
    for (const auto& h : req.headers)
        if (h.key == "via") r += "Via: " + h.value + "\r\n";
    r += "From: " + std::string(req.get("from")) + "\r\nTo: " + std::string(req.get("to")) + "\r\n";
    r += "Call-ID: " + std::string(req.get("call-id")) + "\r\nCSeq: " + std::string(req.get("cseq")) + "\r\n";
    r += "Server: " + config_.user_agent + "\r\nContent-Length: 0\r\n\r\n";
    return r;
}

WatcherOutput Watcher::on_item(const Item& item, Origin origin, std::chrono::steady_clock::time_point now,
                               Timestamp wall) {
    WatcherOutput out;
    if (const auto* rej = std::get_if<Rejected>(&item)) {
        const auto& p = rej->partial;
        if (p && p->is_request && p->method != "ACK" && p->find("via") && p->find("call-id") && p->find("cseq"))
            out.replies.push_back({origin, reply(*p, 400, "Bad Request")});
        out.warnings.push_back("a message from the SIP server was rejected: " + rej->describe());
        return out;
    }
    const auto& m = std::get<Message>(item);
    if (!m.is_request) on_response(m, now, wall, out);
    else if (m.method == "NOTIFY") on_notify(m, origin, now, wall, out);
    else if (m.method == "OPTIONS") out.replies.push_back({origin, reply(m, 200, "OK")});
    else if (m.method != "ACK") out.replies.push_back({origin, reply(m, 405, "Method Not Allowed")});
    return out;
}

void Watcher::on_response(const Message& m, std::chrono::steady_clock::time_point now, Timestamp wall,
                          WatcherOutput& out) {
    auto cseq = parse_cseq(m.get("cseq"));
    if (!cseq || cseq->method != "SUBSCRIBE") return;
    auto it = std::find_if(subs_.begin(), subs_.end(), [&](const Sub& s) { return s.call_id == m.get("call-id"); });
    if (it == subs_.end() || it->cseq != cseq->number || it->pending_request.empty()) return;
    Sub& s = *it;
    if (m.status < 200) {
        s.next_retransmit = now + std::chrono::seconds(4);  // provisional: keep quiet until T2
        return;
    }
    s.pending_request.clear();
    if (m.status < 300) {
        if (s.to_tag.empty()) s.to_tag = tag_of(m.get("to"));
        s.state = SubState::active;
        s.auth_warned = false;
        auto granted = number(m.get("expires")).value_or(static_cast<long>(s.ask.count()));
        granted = std::clamp<long>(granted, 1, static_cast<long>(s.ask.count()));
        s.next_action = now + std::chrono::milliseconds(granted * 750);  // refresh at 3/4 of the granted time
        return;
    }
    if (m.status == 423) {
        if (auto min = number(m.get("min-expires")); min && *min > s.ask.count() && *min <= 86400) {
            s.ask = std::chrono::seconds(*min);
            subscribe(s, now, out, false);
            return;
        }
    }
    if (m.status == 481) {  // the refresh found no subscription: start a new one
        subscribe(s, now, out, false);
        return;
    }
    if (m.status == 401 || m.status == 407) {
        if (!s.auth_warned)
            out.warnings.push_back("the SIP server asks Ringside to authenticate its SUBSCRIBE for extension " + s.ext +
                                   "; Ringside does not do digest authentication: allow its address without it");
        s.auth_warned = true;
    } else {
        out.warnings.push_back("the SIP server refused the SUBSCRIBE for extension " + s.ext + ": " +
                               std::to_string(m.status) + " " + m.reason.substr(0, 80));
    }
    restart_later(s, now + config_.retry_after, wall, out);
}

void Watcher::on_notify(const Message& m, Origin origin, std::chrono::steady_clock::time_point now, Timestamp wall,
                        WatcherOutput& out) {
    const auto our_tag = tag_of(m.get("to"));
    auto it = std::find_if(subs_.begin(), subs_.end(),
                           [&](const Sub& s) { return s.call_id == m.get("call-id") && s.from_tag == our_tag; });
    if (it == subs_.end()) {
        out.replies.push_back({origin, reply(m, 481, "Subscription Does Not Exist")});
        return;
    }
    Sub& s = *it;
    out.replies.push_back({origin, reply(m, 200, "OK")});
    if (s.to_tag.empty()) s.to_tag = tag_of(m.get("from"));

    auto ctype = m.get("content-type");
    if (!m.body.empty() && ctype.size() >= 25 && iequals(ctype.substr(0, 25), "application/dialog-info+x")) {
        std::string why;
        if (auto info = parse_dialog_info(m.body, &why)) {
            const bool stale = s.version && info->version <= *s.version && !info->full;
            if (!stale) {
                s.version = info->version;
                std::set<std::string> listed;
                for (const auto& d : info->dialogs) {
                    listed.insert(d.id);
                    if (d.direction == "initiator") continue;
                    auto known = s.dialogs.find(d.id);
                    if (d.state == "terminated") {
                        if (known != s.dialogs.end()) {
                            // Hang-up side (issue 4): the watched phone (the agent) or its peer sent the BYE.
                            if (d.event == "local-bye" || d.event == "remote-bye")
                                calls_.hangup_request(known->second.key, s.ext,
                                                      d.event == "local-bye" ? HangupBy::agent : HangupBy::caller,
                                                      wall, out.events);
                            calls_.ended(known->second.key, s.ext, cause_of(d), wall, out.events);
                            s.dialogs.erase(known);
                        }
                        continue;
                    }
                    if (known == s.dialogs.end()) {
                        std::string num = uri_user(d.remote_uri);
                        std::string name = d.remote_display;
                        const bool anonymous =
                            is_withheld_number(num) || iequals(uri_host(d.remote_uri), "anonymous.invalid");
                        if (anonymous) {
                            // Only a masked text ("anonymous") goes on, never a number.
                            if (!is_withheld_number(num)) num.clear();
                            name.clear();
                        }
                        Known k{call_key(d.call_id.empty() ? s.ext + "-" + d.id : d.call_id), false};
                        // A transferee's dialog (RFC 4235 <referred-by>, <replaces>):
                        // a transfer; it replaces a dialog of this phone still
                        // ringing (a consultation call) in a blonde transfer.
                        CallEvents::Referral via{uri_user(d.referred_by), {}};
                        if (!d.replaces_call_id.empty()) {
                            const auto replaced = call_key(d.replaces_call_id);
                            for (const auto& [other_id, other] : s.dialogs)
                                if (other.key == replaced && !other.answered) via.replaced_key = replaced;
                        }
                        if (via.transferer.size() > 64) via.transferer.clear();
                        if (via.transferer.empty() && via.replaced_key.empty())
                            calls_.ringing(k.key, s.ext, num, name, s.ext, wall, out.events, anonymous);
                        else
                            k.key = calls_.transferred_ringing(k.key, s.ext, via, num, name, s.ext, wall, out.events,
                                                               anonymous);
                        known = s.dialogs.emplace(d.id, std::move(k)).first;
                    }
                    if (d.state == "confirmed" && !known->second.answered) {
                        known->second.answered = true;
                        calls_.answered(known->second.key, s.ext, wall, out.events);
                    }
                }
                if (info->full) {
                    for (auto k = s.dialogs.begin(); k != s.dialogs.end();) {
                        if (listed.count(k->first)) {
                            ++k;
                            continue;
                        }
                        calls_.ended(k->second.key, s.ext, 16, wall, out.events);
                        k = s.dialogs.erase(k);
                    }
                }
            }
        } else {
            out.warnings.push_back("a dialog-info NOTIFY for extension " + s.ext + " could not be read: " + why);
        }
    }

    auto state = m.get("subscription-state");
    if (state.size() >= 10 && iequals(state.substr(0, 10), "terminated")) {
        bool soon = state.find("deactivated") != std::string_view::npos || state.find("timeout") != std::string_view::npos;
        restart_later(s, soon ? now + std::chrono::seconds(1) : now + config_.retry_after, wall, out);
    } else if (s.state == SubState::pending && state.size() >= 6 && iequals(state.substr(0, 6), "active") &&
               s.pending_request.empty()) {
        s.state = SubState::active;
    }
}

WatcherOutput Watcher::tick(std::chrono::steady_clock::time_point now, Timestamp wall) {
    WatcherOutput out;
    const bool udp = !iequals(config_.transport, "TCP");
    for (auto& s : subs_) {
        if (!s.pending_request.empty()) {
            if (now - s.sent_at >= std::chrono::seconds(32)) {
                out.warnings.push_back("no answer from the SIP server to the SUBSCRIBE for extension " + s.ext);
                restart_later(s, now + config_.retry_after, wall, out);
            } else if (udp && now >= s.next_retransmit) {
                out.requests.push_back(s.pending_request);
                s.retransmit_every = std::min(s.retransmit_every * 2, std::chrono::milliseconds(4000));
                s.next_retransmit = now + s.retransmit_every;
            }
            continue;
        }
        if (now < s.next_action) continue;
        if (s.state == SubState::active) subscribe(s, now, out, true);
        else if (s.state == SubState::idle) subscribe(s, now, out, false);
    }
    return out;
}

std::optional<std::chrono::steady_clock::time_point> Watcher::next_deadline() const {
    std::optional<std::chrono::steady_clock::time_point> at;
    auto consider = [&](std::chrono::steady_clock::time_point t) {
        if (!at || t < *at) at = t;
    };
    const bool udp = !iequals(config_.transport, "TCP");
    for (const auto& s : subs_) {
        if (!s.pending_request.empty()) {
            consider(s.sent_at + std::chrono::seconds(32));
            if (udp) consider(s.next_retransmit);
        } else if (s.state != SubState::pending) {
            consider(s.next_action);
        }
    }
    return at;
}

WatcherOutput Watcher::reset(std::chrono::steady_clock::time_point now, Timestamp) {
    WatcherOutput out;
    for (auto& s : subs_) subscribe(s, now, out, false);
    return out;
}

std::size_t Watcher::active_subscriptions() const {
    return static_cast<std::size_t>(std::count_if(subs_.begin(), subs_.end(), [](const Sub& s) { return s.state == SubState::active; }));
}

}  // namespace ringside::sip
