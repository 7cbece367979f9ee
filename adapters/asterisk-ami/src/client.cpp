#include "ringside/ami/client.hpp"

#include <array>
#include <cstring>

namespace ringside::ami {
namespace {

// RFC 1321. AMI's challenge login is the only user; libsodium has no MD5.
struct Md5 {
    std::array<std::uint32_t, 4> h{0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};

    static std::uint32_t rotl(std::uint32_t x, int c) { return (x << c) | (x >> (32 - c)); }

    void block(const unsigned char* p) {
        static constexpr std::uint32_t k[64] = {
            0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
            0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
            0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
            0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
            0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
            0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
            0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
            0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
        static constexpr int r[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                      5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                      4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                      6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
        std::uint32_t w[16];
        for (int i = 0; i < 16; ++i)
            w[i] = std::uint32_t(p[i * 4]) | std::uint32_t(p[i * 4 + 1]) << 8 | std::uint32_t(p[i * 4 + 2]) << 16 |
                   std::uint32_t(p[i * 4 + 3]) << 24;
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
        for (int i = 0; i < 64; ++i) {
            std::uint32_t f;
            int g;
            if (i < 16) {
                f = (b & c) | (~b & d);
                g = i;
            } else if (i < 32) {
                f = (d & b) | (~d & c);
                g = (5 * i + 1) % 16;
            } else if (i < 48) {
                f = b ^ c ^ d;
                g = (3 * i + 5) % 16;
            } else {
                f = c ^ (b | ~d);
                g = (7 * i) % 16;
            }
            const std::uint32_t tmp = d;
            d = c;
            c = b;
            b = b + rotl(a + f + k[i] + w[g], r[i]);
            a = tmp;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
    }
};

Message make(std::initializer_list<Field> fields) {
    Message m;
    m.fields.assign(fields.begin(), fields.end());
    return m;
}

void set_action_id(Message& m, const std::string& id) {
    std::vector<Field> fields;
    fields.reserve(m.fields.size() + 1);
    // ActionID right after Action, as Asterisk clients conventionally write it.
    bool placed = false;
    for (auto& f : m.fields) {
        if (iequals(f.key, "ActionID")) continue;
        fields.push_back(std::move(f));
        if (!placed && iequals(fields.back().key, "Action")) {
            fields.push_back(Field{"ActionID", id});
            placed = true;
        }
    }
    if (!placed) fields.insert(fields.begin(), Field{"ActionID", id});
    m.fields = std::move(fields);
}

}  // namespace

std::string md5_hex(std::string_view data) {
    Md5 md;
    const std::uint64_t bit_len = std::uint64_t(data.size()) * 8;
    std::size_t i = 0;
    for (; i + 64 <= data.size(); i += 64) md.block(reinterpret_cast<const unsigned char*>(data.data() + i));
    unsigned char tail[128] = {};
    const std::size_t rest = data.size() - i;
    if (rest) std::memcpy(tail, data.data() + i, rest);
    tail[rest] = 0x80;
    const std::size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
    for (int b = 0; b < 8; ++b) tail[tail_len - 8 + b] = static_cast<unsigned char>(bit_len >> (8 * b));
    md.block(tail);
    if (tail_len == 128) md.block(tail + 64);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (auto word : md.h)
        for (int b = 0; b < 4; ++b) {
            const auto byte = static_cast<unsigned char>(word >> (8 * b));
            out += hex[byte >> 4];
            out += hex[byte & 15];
        }
    return out;
}

Client::Client(PbxId pbx, ClientConfig config)
    : pbx_(pbx), config_(std::move(config)), reader_(config_.limits), mapper_(std::move(pbx)) {}

std::string Client::next_action_id() { return "ringside-" + std::to_string(++action_seq_); }

void Client::write_action(Message action, Purpose purpose, ClientActions& out, std::string* id_out) {
    std::string id = next_action_id();
    set_action_id(action, id);
    pending_[id] = purpose;
    if (id_out) *id_out = id;
    out.push_back(client_action::Write{action.serialize()});
}

ClientActions Client::on_connected(Timestamp now) {
    ClientActions out;
    reader_.reset();
    mapper_.reset();
    pending_.clear();
    greeting_.clear();
    resync_id_.clear();
    resyncing_ = false;
    link_logged_in_ = false;
    ping_sent_.reset();
    ping_id_.clear();
    state_ = State::awaiting_greeting;
    login_deadline_ = now + config_.login_timeout;
    last_rx_ = now;
    return out;
}

void Client::send_login(std::string_view challenge, ClientActions& out) {
    state_ = State::logging_in;
    if (config_.md5) {
        write_action(make({{"Action", "Login"},
                           {"AuthType", "MD5"},
                           {"Username", config_.username},
                           {"Key", md5_hex(std::string(challenge) + config_.secret)},
                           {"Events", "on"}}),
                     Purpose::login, out);
    } else {
        write_action(make({{"Action", "Login"},
                           {"Username", config_.username},
                           {"Secret", config_.secret},
                           {"Events", "on"}}),
                     Purpose::login, out);
    }
}

ClientActions Client::on_bytes(std::string_view bytes, Timestamp now) {
    ClientActions out;
    if (state_ == State::disconnected || state_ == State::closed) return out;
    last_rx_ = now;
    reader_.put(bytes);
    while (auto item = reader_.next()) {
        if (state_ == State::closed) break;
        if (auto* g = std::get_if<Greeting>(&*item)) {
            if (state_ != State::awaiting_greeting) continue;
            greeting_ = g->line;
            if (config_.md5) {
                state_ = State::challenging;
                write_action(make({{"Action", "Challenge"}, {"AuthType", "MD5"}}), Purpose::challenge, out);
            } else {
                send_login({}, out);
            }
        } else if (auto* e = std::get_if<ReadError>(&*item)) {
            out.push_back(client_action::Warning{e->describe()});
        } else {
            auto& m = std::get<Message>(*item);
            on_message(m, now, out);
            reader_.recycle(std::move(m));  // its storage reads the next message
        }
    }
    return out;
}

std::optional<Message> originate_action(const OriginateRequest& r) {
    auto clean = [](const std::string& v) { return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos; };
    if (r.channel.empty() || r.context.empty() || r.exten.empty()) return std::nullopt;
    if (!clean(r.channel) || !clean(r.context) || !clean(r.exten) || !clean(r.caller_id)) return std::nullopt;
    Message m = make({{"Action", "Originate"},
                      {"Channel", r.channel},
                      {"Context", r.context},
                      {"Exten", r.exten},
                      {"Priority", "1"},
                      {"Timeout", std::to_string(r.timeout.count())},
                      {"Async", "true"}});
    if (!r.caller_id.empty()) m.fields.push_back({"CallerID", r.caller_id});
    return m;
}

std::optional<Message> queue_pause_action(const QueuePauseRequest& r) {
    auto clean = [](const std::string& v) { return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos; };
    if (r.interface.empty() || !clean(r.interface) || !clean(r.reason) || !clean(r.queue)) return std::nullopt;
    Message m = make({{"Action", "QueuePause"}, {"Interface", r.interface}, {"Paused", r.paused ? "true" : "false"}});
    if (!r.queue.empty()) m.fields.push_back({"Queue", r.queue});
    if (!r.reason.empty()) m.fields.push_back({"Reason", r.reason});
    return m;
}

namespace {
/// OriginateResponse `Reason` is the last control frame the channel saw.
std::string originate_reason(std::string_view code) {
    if (code == "4") return "answered";
    if (code == "5") return "busy";
    if (code == "8") return "congestion";
    if (code == "1" || code == "3") return "no_answer";
    return "failed";
}
}  // namespace

std::optional<std::string> Client::originate(const OriginateRequest& r, ClientActions& out) {
    auto action = originate_action(r);
    if (!action || state_ != State::logged_in) return std::nullopt;
    std::string id;
    write_action(std::move(*action), Purpose::originate, out, &id);
    return id;
}

void Client::on_message(Message& m, Timestamp now, ClientActions& out) {
    const std::string id(m.get("ActionID"));
    if (!id.empty() && iequals(m.event(), "OriginateResponse")) {
        if (originating_.erase(id)) {
            const bool ok = iequals(m.get("Response"), "Success");
            std::string uid(m.get("Uniqueid"));
            if (uid == "<null>") uid.clear();
            out.push_back(client_action::OriginateResult{id, ok, false,
                                                         ok ? std::string("answered") : originate_reason(m.get("Reason")),
                                                         std::move(uid)});
        }
        return;
    }
    if (m.is_response()) {
        auto it = pending_.find(id);
        if (it != pending_.end()) {
            const Purpose p = it->second;
            pending_.erase(it);
            on_response(std::move(m), p, id, now, out);
        } else if (id.empty() && (state_ == State::challenging || state_ == State::logging_in)) {
            // Some servers drop the ActionID on login replies: take it as the one we wait for.
            on_response(std::move(m), state_ == State::challenging ? Purpose::challenge : Purpose::login, id, now, out);
        }
        return;
    }
    if (!m.is_event() || state_ != State::logged_in) return;
    if (resyncing_ && id == resync_id_ && iequals(m.event(), "CoreShowChannelsComplete")) {
        resyncing_ = false;
        out.push_back(client_action::Emit{pbx::Event{pbx_, now, pbx::ResyncEnd{}}});
        return;
    }
    // A CoreShowChannel for someone else's listing says nothing new.
    if (iequals(m.event(), "CoreShowChannel") && id != resync_id_) return;
    for (auto& ev : mapper_.map(m, now)) out.push_back(client_action::Emit{std::move(ev)});
}

void Client::on_response(Message m, Purpose purpose, const std::string& id, Timestamp now, ClientActions& out) {
    const bool ok = iequals(m.get("Response"), "Success");
    switch (purpose) {
    case Purpose::challenge:
        if (!ok || m.get("Challenge").empty()) {
            std::string msg(m.get("Message"));
            out.push_back(client_action::LoginRefused{msg.empty() ? "MD5 challenge refused" : msg});
            close("AMI login rejected for user " + config_.username + " (" +
                      (msg.empty() ? std::string("MD5 challenge refused") : msg) + ")",
                  out);
            return;
        }
        send_login(m.get("Challenge"), out);
        return;
    case Purpose::login:
        if (!ok) {
            std::string msg(m.get("Message"));
            if (msg.empty()) msg = "no reason given";
            out.push_back(client_action::LoginRefused{msg});
            close("AMI login rejected for user " + config_.username + " (" + msg + ")", out);
            return;
        }
        state_ = State::logged_in;
        link_logged_in_ = true;
        out.push_back(client_action::LoggedIn{greeting_});
        after_login(out);
        return;
    case Purpose::resync:
        if (!ok) {
            // Without the listing nothing is known: end the resync empty-handed
            // rather than hold the tracker in it forever.
            resyncing_ = false;
            out.push_back(client_action::Warning{"AMI CoreShowChannels refused (" + std::string(m.get("Message")) +
                                                 "); calls in progress are unknown"});
            out.push_back(client_action::Emit{pbx::Event{pbx_, now, pbx::ResyncEnd{}}});
        }
        return;
    case Purpose::ping:
        if (id == ping_id_) {
            ping_sent_.reset();
            ping_id_.clear();
        }
        return;
    case Purpose::user:
        out.push_back(client_action::Response{id, std::move(m), false});
        return;
    case Purpose::originate:
        if (!ok) {
            std::string msg(m.get("Message"));
            out.push_back(client_action::OriginateResult{id, false, false, msg.empty() ? "failed" : msg, {}});
        } else {
            if (originating_.size() >= 10'000) originating_.clear();  // a PBX that never answers them
            originating_[id] = true;
        }
        return;
    }
}

void Client::after_login(ClientActions& out) {
    resyncing_ = true;
    out.push_back(client_action::Emit{pbx::Event{pbx_, last_rx_, pbx::ResyncBegin{}}});
    write_action(make({{"Action", "CoreShowChannels"}}), Purpose::resync, out, &resync_id_);
    while (!queued_.empty()) {
        auto [id, action] = std::move(queued_.front());
        queued_.pop_front();
        pending_[id] = Purpose::user;
        out.push_back(client_action::Write{action.serialize()});
    }
}

std::string Client::send_action(Message action, ClientActions& out) {
    if (state_ == State::logged_in) {
        std::string id;
        write_action(std::move(action), Purpose::user, out, &id);
        return id;
    }
    std::string id = next_action_id();
    set_action_id(action, id);
    queued_.emplace_back(id, std::move(action));
    return id;
}

ClientActions Client::on_tick(Timestamp now) {
    ClientActions out;
    switch (state_) {
    case State::awaiting_greeting:
    case State::challenging:
    case State::logging_in:
        if (now >= login_deadline_)
            close(state_ == State::awaiting_greeting ? "AMI peer sent no greeting" : "AMI peer did not answer the login",
                  out);
        break;
    case State::logged_in:
        if (ping_sent_) {
            if (now - *ping_sent_ >= config_.ping_timeout) close("AMI peer did not answer Ping", out);
        } else if (now - last_rx_ >= config_.ping_interval) {
            write_action(make({{"Action", "Ping"}}), Purpose::ping, out, &ping_id_);
            ping_sent_ = now;
        }
        break;
    default:
        break;
    }
    return out;
}

std::optional<Timestamp> Client::next_deadline() const {
    switch (state_) {
    case State::awaiting_greeting:
    case State::challenging:
    case State::logging_in:
        return login_deadline_;
    case State::logged_in:
        if (ping_sent_) return *ping_sent_ + config_.ping_timeout;
        return last_rx_ + config_.ping_interval;
    default:
        return std::nullopt;
    }
}

void Client::close(std::string reason, ClientActions& out) {
    state_ = State::closed;
    out.push_back(client_action::Close{std::move(reason)});
}

ClientActions Client::on_disconnected(Timestamp now) {
    ClientActions out;
    const bool was_up = link_logged_in_;
    link_logged_in_ = false;
    for (auto& [id, purpose] : pending_) {
        if (purpose == Purpose::user) out.push_back(client_action::Response{id, Message{}, true});
        if (purpose == Purpose::originate) out.push_back(client_action::OriginateResult{id, false, true, "link lost", {}});
    }
    for (auto& [id, queued] : originating_) out.push_back(client_action::OriginateResult{id, false, true, "link lost", {}});
    originating_.clear();
    for (auto& [id, action] : queued_) out.push_back(client_action::Response{id, Message{}, true});
    pending_.clear();
    queued_.clear();
    if (was_up) out.push_back(client_action::Emit{pbx::Event{pbx_, now, pbx::LinkDown{}}});
    resyncing_ = false;
    state_ = State::disconnected;
    return out;
}

}  // namespace ringside::ami
