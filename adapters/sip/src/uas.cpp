#include "ringside/sip/uas.hpp"

#include <algorithm>

#include "ringside/core/ascii.hpp"
#include "ringside/sip/grammar.hpp"
#include "ringside/sip/identity.hpp"

namespace ringside::sip {

namespace {

std::string to_tag_of(const Message& m) {
    if (auto to = parse_name_addr(m.get("to"))) return to->param("tag").value_or("");
    return {};
}
std::string from_tag_of(const Message& m) {
    if (auto f = parse_name_addr(m.get("from"))) return f->param("tag").value_or("");
    return {};
}

/// "Reason: SIP ;cause=200 ;text=\"Call completed elsewhere\"" (RFC 3326).
bool completed_elsewhere(const Message& m) {
    for (const auto& h : m.headers) {
        if (h.key != "reason") continue;
        for (auto piece : split_list(h.value)) {
            auto semi = piece.find(';');
            auto proto = piece.substr(0, semi);
            while (!proto.empty() && (proto.back() == ' ' || proto.back() == '\t')) proto.remove_suffix(1);
            if (!iequals(proto, "SIP") || semi == std::string_view::npos) continue;
            auto na = parse_name_addr("sip:x" + std::string(piece.substr(semi)));
            if (na && na->param("cause").value_or("") == "200") return true;
        }
    }
    return false;
}

/// For a Warning header: printable ASCII without quotes or backslashes.
std::string warning_text(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 200)) out += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?';
    return out;
}

}  // namespace

Uas::Uas(PbxId pbx, UasConfig config)
    : pbx_(pbx), config_(std::move(config)), calls_(pbx), rng_(config_.seed ? config_.seed : std::random_device{}()) {}

std::string Uas::tid(const Message& m) const {
    std::string call_id(m.get("call-id"));
    if (auto vias = parse_via(m.get("via")); vias && !vias->empty()) {
        const auto& top = vias->front();
        auto branch = top.param("branch").value_or("");
        if (branch.size() > 7 && branch.compare(0, 7, "z9hG4bK") == 0) return branch + "|" + top.sent_by + "|" + call_id;
    }
    // RFC 2543 peers: no magic cookie; CANCEL and ACK share the INVITE's CSeq number.
    auto cseq = parse_cseq(m.get("cseq"));
    return "2543|" + call_id + "|" + from_tag_of(m) + "|" + std::to_string(cseq ? cseq->number : 0);
}

std::string Uas::new_tag() {
    static constexpr char hex[] = "0123456789abcdef";
    std::string t;
    auto v = rng_();
    for (int i = 0; i < 16; ++i) t += hex[(v >> (i * 4)) & 15];
    return t;
}

std::string Uas::response(const Message& req, int code, std::string_view reason, const std::string& to_tag,
                          std::string_view extra) const {
    std::string r = "SIP/2.0 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
    for (const auto& h : req.headers)
        if (h.key == "via") r += "Via: " + h.value + "\r\n";
    r += "From: " + std::string(req.get("from")) + "\r\n";
    r += "To: " + std::string(req.get("to"));
    if (!to_tag.empty() && to_tag_of(req).empty()) r += ";tag=" + to_tag;
    r += "\r\n";
    r += "Call-ID: " + std::string(req.get("call-id")) + "\r\n";
    r += "CSeq: " + std::string(req.get("cseq")) + "\r\n";
    r += extra;
    r += "Server: " + config_.user_agent + "\r\nContent-Length: 0\r\n\r\n";
    return r;
}

UasOutput Uas::on_item(const Item& item, Origin origin, std::string_view local, std::string_view transport,
                       std::chrono::steady_clock::time_point now, Timestamp wall) {
    UasOutput out;
    if (const auto* rej = std::get_if<Rejected>(&item)) {
        // Answer 400 when there is enough to address a response to.
        const auto& p = rej->partial;
        if (p && p->is_request && p->method != "ACK" && p->find("via") && p->find("from") && p->find("to") &&
            p->find("call-id") && p->find("cseq"))
            out.replies.push_back({origin, response(*p, 400, "Bad Request", new_tag(),
                                                    "Warning: 399 ringside \"" + warning_text(rej->describe()) + "\"\r\n")});
        return out;
    }
    const auto& m = std::get<Message>(item);
    if (!m.is_request) return out;  // mode (b) sends no requests
    if (m.method == "INVITE") on_invite(m, origin, local, transport, now, wall, out);
    else if (m.method == "CANCEL") on_cancel(m, origin, now, wall, out);
    else if (m.method == "BYE") on_bye(m, origin, now, wall, out);
    else if (m.method == "ACK") {
        auto it = invites_.find(tid(m));
        if (it != invites_.end() && !it->second.ringing) invites_.erase(it);
    } else if (m.method == "OPTIONS") {
        out.replies.push_back({origin, response(m, 200, "OK", new_tag(), "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n")});
    } else {
        out.replies.push_back(
            {origin, response(m, 405, "Method Not Allowed", new_tag(), "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n")});
    }
    return out;
}

void Uas::on_invite(const Message& m, Origin origin, std::string_view local, std::string_view transport,
                    std::chrono::steady_clock::time_point now, Timestamp wall, UasOutput& out) {
    const auto id = tid(m);
    if (auto it = invites_.find(id); it != invites_.end()) {  // retransmission
        out.replies.push_back({origin, it->second.last_response});
        return;
    }
    if (!to_tag_of(m).empty()) {  // a re-INVITE: Ringside never has a confirmed dialog
        out.replies.push_back({origin, response(m, 481, "Call/Transaction Does Not Exist", "")});
        return;
    }
    const std::string ext = called_user(m);
    if (ext.empty() || ext.size() > 64 || ext.find_first_of("/;") != std::string::npos) {
        out.replies.push_back({origin, response(m, 404, "Not Found", new_tag())});
        return;
    }
    Invite inv;
    inv.request = m;
    inv.request.body.clear();  // the SDP offer is of no use here
    inv.origin = origin;
    inv.key = call_key(m.get("call-id"));
    inv.ext = ext;
    inv.to_tag = new_tag();
    inv.since = now;
    inv.reliable = !iequals(transport, "UDP");
    out.replies.push_back({origin, response(m, 100, "Trying", "")});
    std::string contact = "Contact: <sip:" + ext + "@" + std::string(local) +
                          (inv.reliable ? ";transport=tcp" : "") + ">\r\n";
    inv.last_response = response(m, 180, "Ringing", inv.to_tag, contact);
    out.replies.push_back({origin, inv.last_response});

    auto who = caller_identity(m);
    auto div = diversion(m);
    // A fork for `ext` sent on by another ringing extension of this call
    // (its phone answered 302): that extension's ring was forwarded.
    for (const auto& from : div.diverted_by)
        if (from != ext) calls_.forwarded(inv.key, from, ext, wall, out.events);
    const std::string dialed = div.original_called.empty() ? ext : div.original_called;
    CallEvents::Referral via{referred_by(m), {}};
    if (auto rep = replaces(m)) {
        // The transferee's INVITE in place of a consultation call that still
        // rings this extension through our fork: matched by Call-ID and the
        // consultation caller's tag. Its to-tag is not compared: the
        // transferor names the early dialog of a branch of its choice, as a
        // rule the phone's, never a tag of ours.
        for (const auto& [other_id, other] : invites_)
            if (other.ringing && other.ext == ext && other.request.get("call-id") == rep->call_id &&
                from_tag_of(other.request) == rep->from_tag) {
                via.replaced_key = other.key;
                break;
            }
    }
    if (via.transferer.empty() && via.replaced_key.empty())
        calls_.ringing(inv.key, ext, who.number, who.name, dialed, wall, out.events, who.anonymous);
    else
        inv.key = calls_.transferred_ringing(inv.key, ext, via, who.number, who.name, dialed, wall, out.events,
                                             who.anonymous);
    invites_.emplace(id, std::move(inv));
}

void Uas::finish(Invite& inv, int code, std::string_view reason, std::chrono::steady_clock::time_point now,
                 UasOutput& out) {
    inv.ringing = false;
    inv.since = now;
    inv.last_response = response(inv.request, code, reason, inv.to_tag);
    inv.next_retransmit = now + inv.retransmit_every;
    out.replies.push_back({inv.origin, inv.last_response});
}

void Uas::on_cancel(const Message& m, Origin origin, std::chrono::steady_clock::time_point now, Timestamp wall,
                    UasOutput& out) {
    auto it = invites_.find(tid(m));
    if (it == invites_.end()) {
        out.replies.push_back({origin, response(m, 481, "Call/Transaction Does Not Exist", new_tag())});
        return;
    }
    Invite& inv = it->second;
    out.replies.push_back({origin, response(m, 200, "OK", inv.to_tag)});
    if (!inv.ringing) return;
    finish(inv, 487, "Request Terminated", now, out);
    const bool elsewhere = completed_elsewhere(m);
    if (elsewhere) calls_.answered(inv.key, inv.ext, wall, out.events);
    else calls_.hangup_request(inv.key, inv.ext, HangupBy::caller, wall, out.events);  // the caller gave up
    calls_.ended(inv.key, inv.ext, 16, wall, out.events, !elsewhere);
}

void Uas::on_bye(const Message& m, Origin origin, std::chrono::steady_clock::time_point now, Timestamp wall,
                 UasOutput& out) {
    const std::string call_id(m.get("call-id"));
    const auto our_tag = to_tag_of(m);
    const auto their_tag = from_tag_of(m);
    for (auto& [id, inv] : invites_) {
        if (inv.to_tag != our_tag || inv.request.get("call-id") != call_id || from_tag_of(inv.request) != their_tag) continue;
        out.replies.push_back({origin, response(m, 200, "OK", "")});
        if (inv.ringing) {
            finish(inv, 487, "Request Terminated", now, out);
            calls_.hangup_request(inv.key, inv.ext, HangupBy::caller, wall, out.events);  // early BYE from the caller
            calls_.ended(inv.key, inv.ext, 16, wall, out.events);
        }
        return;
    }
    out.replies.push_back({origin, response(m, 481, "Call/Transaction Does Not Exist", "")});
}

UasOutput Uas::tick(std::chrono::steady_clock::time_point now, Timestamp wall) {
    UasOutput out;
    for (auto it = invites_.begin(); it != invites_.end();) {
        Invite& inv = it->second;
        if (inv.ringing) {
            if (now - inv.since >= config_.max_ring) {
                finish(inv, 480, "Temporarily Unavailable", now, out);
                calls_.hangup_request(inv.key, inv.ext, HangupBy::system, wall, out.events);  // max ring
                calls_.ended(inv.key, inv.ext, 19, wall, out.events);
            }
        } else if (now - inv.since >= config_.linger) {
            it = invites_.erase(it);
            continue;
        } else if (!inv.reliable && now >= inv.next_retransmit) {
            out.replies.push_back({inv.origin, inv.last_response});
            inv.retransmit_every = std::min(inv.retransmit_every * 2, std::chrono::milliseconds(4000));
            inv.next_retransmit = now + inv.retransmit_every;
        }
        ++it;
    }
    return out;
}

std::optional<std::chrono::steady_clock::time_point> Uas::next_deadline() const {
    std::optional<std::chrono::steady_clock::time_point> at;
    auto consider = [&](std::chrono::steady_clock::time_point t) {
        if (!at || t < *at) at = t;
    };
    for (const auto& [id, inv] : invites_) {
        if (inv.ringing) consider(inv.since + config_.max_ring);
        else {
            consider(inv.since + config_.linger);
            if (!inv.reliable) consider(inv.next_retransmit);
        }
    }
    return at;
}

UasOutput Uas::origin_closed(Origin origin, Timestamp wall) {
    UasOutput out;
    for (auto it = invites_.begin(); it != invites_.end();) {
        if (it->second.origin != origin) {
            ++it;
            continue;
        }
        if (it->second.ringing) calls_.ended(it->second.key, it->second.ext, 16, wall, out.events);
        it = invites_.erase(it);
    }
    return out;
}

}  // namespace ringside::sip
