#include "ringside/sim/server_session.hpp"

#include <boost/uuid/detail/md5.hpp>

#include <cstdio>

#include "ringside/sim/call_script.hpp"

namespace ringside::sim {
namespace {

// astman_send_response_full: Response, ActionID (if any), then Message.
std::string response(const ami::Message& action, std::string_view resp, std::string_view message) {
    std::string out = "Response: ";
    out += resp;
    out += "\r\n";
    if (auto id = action.get("ActionID"); !id.empty()) {
        out += "ActionID: ";
        out += id;
        out += "\r\n";
    }
    if (!message.empty()) {
        out += "Message: ";
        out += message;
        out += "\r\n";
    }
    out += "\r\n";
    return out;
}

std::string ack_start(const ami::Message& action) {
    std::string out = "Response: Success\r\n";
    if (auto id = action.get("ActionID"); !id.empty()) {
        out += "ActionID: ";
        out += id;
        out += "\r\n";
    }
    return out;
}

}  // namespace

std::string md5_hex(std::string_view data) {
    boost::uuids::detail::md5 h;
    h.process_bytes(data.data(), data.size());
    boost::uuids::detail::md5::digest_type d;
    h.get_digest(d);
    // Boost 1.74 hands the digest out as four words whose bytes are in
    // big-endian order relative to the RFC 1321 byte string.
    std::string out;
    char buf[3];
    for (auto word : d) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>((word >> shift) & 0xff));
            out += buf;
        }
    }
    return out;
}

ServerSession::ServerSession(std::vector<Credentials> users, std::string challenge)
    : users_(std::move(users)), challenge_(std::move(challenge)) {}

bool ServerSession::check_login(const ami::Message& a) const {
    const auto user = a.get("Username");
    for (const auto& c : users_) {
        if (!ami::iequals(c.username, user)) continue;  // Asterisk matches users case-insensitively
        if (ami::iequals(a.get("AuthType"), "MD5")) {
            if (!challenge_sent_) return false;
            return ami::iequals(a.get("Key"), md5_hex(challenge_ + c.secret));
        }
        return a.get("Secret") == c.secret;
    }
    return false;
}

void ServerSession::set_event_mask(std::string_view mask) {
    if (mask.empty()) return;
    events_on_ = !ami::iequals(mask, "off");
}

ServerSession::Reply ServerSession::handle(const ami::Message& a, const ChannelTable& channels, Timestamp now,
                                           bool close_on_auth_failure) {
    Reply r;
    const auto action = a.get("Action");
    if (action.empty()) {
        r.bytes = response(a, "Error", "Missing action in request");
        return r;
    }
    if (ami::iequals(action, "Challenge")) {
        if (!ami::iequals(a.get("AuthType"), "MD5")) {
            r.bytes = response(a, "Error", "Must specify AuthType");
            return r;
        }
        challenge_sent_ = true;
        r.bytes = ack_start(a) + "Challenge: " + challenge_ + "\r\n\r\n";
        return r;
    }
    if (ami::iequals(action, "Login")) {
        if (authenticated_) {
            r.bytes = response(a, "Success", "Already authenticated");
            return r;
        }
        if (!check_login(a)) {
            r.bytes = response(a, "Error", "Authentication failed");
            r.delay = true;
            r.close = close_on_auth_failure;
            return r;
        }
        authenticated_ = true;
        username_ = std::string(a.get("Username"));
        set_event_mask(a.get("Events"));
        r.logged_in = true;
        r.bytes = response(a, "Success", "Authentication accepted");
        // action_login appends FullyBooted itself (no manager_event, so no Timestamp).
        r.bytes += "Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n";
        return r;
    }
    if (ami::iequals(action, "Logoff")) {
        r.bytes = response(a, "Goodbye", "Thanks for all the fish.");
        r.close = true;
        return r;
    }
    if (!authenticated_) {
        r.bytes = response(a, "Error", "Permission denied");
        return r;
    }
    if (ami::iequals(action, "Ping")) {
        r.bytes = ack_start(a) + "Ping: Pong\r\nTimestamp: " + format_ami_timestamp(now) + "\r\n\r\n";
        return r;
    }
    if (ami::iequals(action, "Events")) {
        set_event_mask(a.get("EventMask"));
        r.bytes = ack_start(a) + (events_on_ ? "Events: On\r\n\r\n" : "Events: Off\r\n\r\n");
        return r;
    }
    if (ami::iequals(action, "CoreShowChannels")) {
        const auto id = a.get("ActionID");
        // astman_send_listack, one event per channel, then the list-complete event.
        r.bytes = ack_start(a) + "EventList: start\r\nMessage: Channels will follow\r\n\r\n";
        const auto list = channels.core_show_channels(id, now);
        for (const auto& m : list) r.bytes += m.serialize();
        r.bytes += "Event: CoreShowChannelsComplete\r\n";
        if (!id.empty()) r.bytes += "ActionID: " + std::string(id) + "\r\n";
        r.bytes += "EventList: Complete\r\nListItems: " + std::to_string(list.size()) + "\r\n\r\n";
        return r;
    }
    if (ami::iequals(action, "Originate")) {
        // action_originate: Channel is tech/data; Exten runs in Context at
        // Priority (Application is not simulated). Async answers at once and
        // reports the outcome in OriginateResponse.
        const auto channel = a.get("Channel");
        if (channel.empty()) {
            r.bytes = response(a, "Error", "Channel not specified");
            return r;
        }
        if (channel.find('/') == std::string_view::npos || channel.front() == '/' || channel.back() == '/') {
            r.bytes = response(a, "Error", "Invalid channel");
            return r;
        }
        if (a.get("Exten").empty() || !a.get("Application").empty()) {
            r.bytes = response(a, "Error", "Exten not specified");
            return r;
        }
        OriginatePlan p;
        p.channel = std::string(channel);
        if (auto ctx = a.get("Context"); !ctx.empty()) p.context = std::string(ctx);
        p.exten = std::string(a.get("Exten"));
        p.caller_id = std::string(a.get("CallerID"));
        p.action_id = std::string(a.get("ActionID"));
        if (auto t = a.get("Timeout"); !t.empty()) {
            long long ms = 0;
            for (char ch : t) ms = (ch >= '0' && ch <= '9' && ms < 10'000'000) ? ms * 10 + (ch - '0') : ms;
            if (ms > 0) p.timeout = std::chrono::milliseconds(ms);
        }
        r.originate = std::move(p);
        r.bytes = response(a, "Success", "Originate successfully queued");
        return r;
    }
    if (ami::iequals(action, "QueuePause")) {
        // manager_queue_member_pause: Interface and Paused are required; every
        // device counts as a member of the simulated queues.
        const auto iface = a.get("Interface");
        const auto paused = a.get("Paused");
        if (iface.empty()) {
            r.bytes = response(a, "Error", "Need 'Interface' parameter.");
            return r;
        }
        if (paused.empty()) {
            r.bytes = response(a, "Error", "Need 'Paused' parameter.");
            return r;
        }
        if (iface.find('/') == std::string_view::npos) {
            r.bytes = response(a, "Error", "Interface not found");
            return r;
        }
        const bool on = ami::iequals(paused, "true") || ami::iequals(paused, "yes") || paused == "1";
        r.queue_pause = Reply::QueuePause{std::string(iface), on, std::string(a.get("Reason"))};
        r.bytes = response(a, "Success", on ? "Interface paused successfully" : "Interface unpaused successfully");
        return r;
    }
    r.bytes = response(a, "Error",
                       "Invalid/unknown command: " + std::string(action) +
                           ". Use Action: ListCommands to show available commands.");
    return r;
}

}  // namespace ringside::sim
