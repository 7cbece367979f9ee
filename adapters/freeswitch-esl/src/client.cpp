#include "ringside/esl/client.hpp"

#include <cstdio>
#include <utility>

namespace ringside::esl {
namespace {

bool is_ok(std::string_view reply) noexcept { return reply.size() >= 3 && reply.substr(0, 3) == "+OK"; }

/// First line of a body or reply, trimmed, for an operator message.
std::string first_line(std::string_view s) {
    while (!s.empty() && (s.front() == '\n' || s.front() == '\r' || s.front() == ' ')) s.remove_prefix(1);
    auto nl = s.find_first_of("\r\n");
    if (nl != std::string_view::npos) s = s.substr(0, nl);
    if (s.size() > 200) s = s.substr(0, 200);
    return std::string(s);
}

/// Characters an originate slot may hold: nothing that ends a token, a
/// variable list or the command line.
bool slot_safe(std::string_view v) {
    if (v.empty()) return false;
    for (char c : v) {
        const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
                        c == '*' || c == '#' || c == '_' || c == '.' || c == '@' || c == '/' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string originate_reason(std::string_view body) {
    auto line = first_line(body);
    if (line.starts_with("+OK")) return "answered";
    std::string_view cause = line;
    if (cause.starts_with("-ERR")) cause.remove_prefix(4);
    while (!cause.empty() && cause.front() == ' ') cause.remove_prefix(1);
    if (cause == "NO_ANSWER" || cause == "NO_USER_RESPONSE" || cause == "ORIGINATOR_CANCEL") return "no_answer";
    if (cause == "USER_BUSY") return "busy";
    if (cause.empty()) return "failed";
    std::string out;
    for (char c : cause.substr(0, 64)) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return out;
}

}  // namespace

std::optional<std::string> originate_command(const OriginateRequest& r, std::string_view job_uuid) {
    if (!slot_safe(r.endpoint) || !slot_safe(r.context) || !slot_safe(r.number)) return std::nullopt;
    if (!r.caller_id_number.empty() && !slot_safe(r.caller_id_number)) return std::nullopt;
    if (!job_uuid.empty() && !slot_safe(job_uuid)) return std::nullopt;
    std::string cmd = "bgapi originate {originate_timeout=" + std::to_string(r.timeout.count()) + ",ignore_early_media=true";
    if (!r.caller_id_number.empty()) cmd += ",origination_caller_id_number=" + r.caller_id_number;
    cmd += "}" + r.endpoint + " " + r.number + " XML " + r.context;
    if (!job_uuid.empty()) cmd += "\nJob-UUID: " + std::string(job_uuid);
    return cmd;
}

std::optional<std::string> Client::originate(const OriginateRequest& r, ClientActions& out) {
    if (state_ != State::ready) return std::nullopt;
    // A UUID-shaped id (FreeSWITCH keeps 36 characters): "ring" in hex, then a counter.
    char id[40];
    std::snprintf(id, sizeof id, "72696e67-0000-4000-8000-%012llx", static_cast<unsigned long long>(++job_seq_));
    auto cmd = originate_command(r, id);
    if (!cmd) return std::nullopt;
    originate_sent_.emplace_back(id);
    send(std::move(*cmd), Purpose::originate, out);
    return std::string(id);
}

Client::Client(PbxId pbx, ClientConfig config)
    : pbx_(std::move(pbx)), config_(std::move(config)), reader_(config_.limits), mapper_(pbx_) {}

ClientActions Client::on_connected(Timestamp now) {
    reader_.reset();
    mapper_.reset();
    pending_.clear();
    authenticated_ = false;
    ping_sent_.reset();
    state_ = State::awaiting_auth_request;
    login_deadline_ = now + config_.login_timeout;
    last_rx_ = now;
    return {};
}

void Client::send(std::string command, Purpose why, ClientActions& out) {
    pending_.push_back(why);
    command += "\n\n";
    out.push_back(client_action::Write{std::move(command)});
}

void Client::close(std::string reason, ClientActions& out) {
    state_ = State::closed;
    out.push_back(client_action::Close{std::move(reason)});
}

ClientActions Client::on_bytes(std::string_view bytes, Timestamp now) {
    ClientActions out;
    if (state_ == State::disconnected || state_ == State::closed) return out;
    last_rx_ = now;
    reader_.put(bytes);
    while (auto item = reader_.next()) {
        if (state_ == State::closed) break;
        if (auto* err = std::get_if<ReadError>(&*item)) {
            out.push_back(client_action::Warning{err->describe()});
            continue;
        }
        on_message(std::get<Message>(std::move(*item)), now, out);
    }
    return out;
}

void Client::on_message(Message m, Timestamp now, ClientActions& out) {
    const auto type = m.content_type();
    if (iequals(type, "auth/request")) {
        if (state_ != State::awaiting_auth_request) return;
        state_ = State::authenticating;
        send("auth " + config_.password, Purpose::auth, out);
        return;
    }
    if (iequals(type, "text/disconnect-notice")) {
        const auto why = first_line(m.body);
        return close("FreeSWITCH ended the event socket session" + (why.empty() ? std::string() : ": " + why), out);
    }
    if (iequals(type, "text/rude-rejection")) {
        const auto why = first_line(m.body);
        out.push_back(client_action::LoginRefused{why});
        return close("FreeSWITCH rejected this address (event socket ACL)" +
                         (why.empty() ? std::string() : ": " + why),
                     out);
    }
    if (iequals(type, "command/reply") || iequals(type, "api/response")) {
        // FreeSWITCH answers in order; a command gets a command/reply, an
        // `api` an api/response. Anything else is a reply nobody here asked
        // for (another client's habit in a capture): ignored.
        if (pending_.empty()) return;
        const bool api_reply = iequals(type, "api/response");
        const bool api_sent = pending_.front() == Purpose::resync || pending_.front() == Purpose::ping;
        if (api_reply != api_sent) return;
        const Purpose why = pending_.front();
        pending_.pop_front();
        return on_reply(why, m, now, out);
    }
    if (iequals(type, "text/event-plain")) {
        if (!m.event || !authenticated_) return;
        if (iequals(m.event->name(), "BACKGROUND_JOB")) {
            const std::string job(m.event->get("Job-UUID"));
            if (originating_.erase(job)) {
                const auto reason = originate_reason(m.event->body);
                out.push_back(client_action::OriginateResult{job, reason == "answered", false, reason});
            }
            return;
        }
        for (auto& ev : mapper_.map(*m.event, now)) out.push_back(client_action::Emit{std::move(ev)});
        return;
    }
    // text/event-json, text/event-xml, log/data: not subscribed to; ignored.
}

void Client::on_reply(Purpose why, const Message& m, Timestamp now, ClientActions& out) {
    switch (why) {
    case Purpose::auth: {
        const auto reply = m.reply_text();
        if (!is_ok(reply)) {
            std::string said = first_line(reply.empty() ? std::string_view(m.body) : reply);
            out.push_back(client_action::LoginRefused{said});
            return close("FreeSWITCH refused the event socket password (" + (said.empty() ? "no reason" : said) + ")",
                         out);
        }
        authenticated_ = true;
        state_ = State::subscribing;
        out.push_back(client_action::LoggedIn{});
        send("event plain " + std::string(subscribed_events), Purpose::subscribe, out);
        return;
    }
    case Purpose::subscribe:
        if (!is_ok(m.reply_text()))
            return close("FreeSWITCH refused the event subscription (" + first_line(m.reply_text()) + ")", out);
        state_ = State::ready;
        // Live events from here on are live; the listing rebuilds the rest.
        out.push_back(client_action::Emit{pbx::Event{pbx_, now, pbx::ResyncBegin{}}});
        send("api show channels as json", Purpose::resync, out);
        return;
    case Purpose::resync: {
        std::string error;
        auto listed = mapper_.map_channel_list(m.body, now, &error);
        if (!error.empty())
            out.push_back(client_action::Warning{error + " (" + first_line(m.body) + "); channels not rebuilt"});
        for (auto& ev : listed) out.push_back(client_action::Emit{std::move(ev)});
        out.push_back(client_action::Emit{pbx::Event{pbx_, now, pbx::ResyncEnd{}}});
        return;
    }
    case Purpose::ping:
        ping_sent_.reset();
        return;
    case Purpose::originate: {
        if (originate_sent_.empty()) return;
        std::string job = std::move(originate_sent_.front());
        originate_sent_.pop_front();
        const auto reply = m.reply_text();
        if (!is_ok(reply)) {
            auto said = first_line(reply);
            out.push_back(client_action::OriginateResult{job, false, false, said.empty() ? "failed" : said});
            return;
        }
        if (originating_.size() >= 10'000) originating_.clear();  // a peer that never reports its jobs
        originating_[job] = true;
        return;
    }
    }
}

ClientActions Client::on_tick(Timestamp now) {
    ClientActions out;
    switch (state_) {
    case State::awaiting_auth_request:
    case State::authenticating:
        if (now >= login_deadline_) close("FreeSWITCH did not complete the event socket login in time", out);
        return out;
    case State::subscribing:
    case State::ready:
        if (ping_sent_) {
            if (now - *ping_sent_ >= config_.ping_timeout)
                close("FreeSWITCH did not answer the keep-alive in time", out);
            return out;
        }
        if (now - last_rx_ >= config_.ping_interval) {
            ping_sent_ = now;
            send("api status", Purpose::ping, out);
        }
        return out;
    default: return out;
    }
}

ClientActions Client::on_disconnected(Timestamp now) {
    ClientActions out;
    if (authenticated_) out.push_back(client_action::Emit{pbx::Event{pbx_, now, pbx::LinkDown{}}});
    for (auto& job : originate_sent_) out.push_back(client_action::OriginateResult{job, false, true, "link lost"});
    for (auto& [job, waiting] : originating_) out.push_back(client_action::OriginateResult{job, false, true, "link lost"});
    originate_sent_.clear();
    originating_.clear();
    authenticated_ = false;
    pending_.clear();
    ping_sent_.reset();
    state_ = State::disconnected;
    return out;
}

std::optional<Timestamp> Client::next_deadline() const {
    switch (state_) {
    case State::awaiting_auth_request:
    case State::authenticating: return login_deadline_;
    case State::subscribing:
    case State::ready:
        if (ping_sent_) return *ping_sent_ + config_.ping_timeout;
        return last_rx_ + config_.ping_interval;
    default: return std::nullopt;
    }
}

}  // namespace ringside::esl
