#pragma once
// Sans-I/O FreeSWITCH Event Socket client (inbound mode), in the style of
// Boost.Redis reader_fsm: the I/O shell reports what happened (connected,
// bytes arrived, time passed, link lost) and gets back actions to carry out
// in order. No sockets and no clocks here: every call takes `now`.
//
// Per link: wait for `Content-Type: auth/request`; send `auth PASSWORD`
// (`+OK accepted` / `-ERR invalid`); subscribe with `event plain <channel
// events>`; resynchronise with `api show channels as json` (ResyncBegin,
// ChannelCreated per listed channel, ResyncEnd); map every event. FreeSWITCH
// answers commands strictly in order (command/reply or api/response), so
// replies are matched to a FIFO of what was sent. When nothing was received
// for ping_interval, `api status` is the keep-alive; no answer within
// ping_timeout closes the link. `text/disconnect-notice` and
// `text/rude-rejection` close it with the reason in plain words.
#include <chrono>
#include <deque>
#include <unordered_map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ringside/core/pbx_event.hpp"
#include "ringside/esl/mapper.hpp"
#include "ringside/esl/reader.hpp"

namespace ringside::esl {

struct ClientConfig {
    std::string password;
    std::chrono::milliseconds ping_interval{15'000};   // keep-alive after this long without receiving anything
    std::chrono::milliseconds ping_timeout{10'000};    // ... and give up if it is not answered within this
    std::chrono::milliseconds login_timeout{10'000};   // auth/request + auth reply within this
    ReaderLimits limits{};
};

/// The channel events Ringside subscribes to (`event plain ...`).
inline constexpr std::string_view subscribed_events =
    "CHANNEL_CREATE CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_ANSWER CHANNEL_CALLSTATE "
    "CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB "
    // Transfers and queues (transfer_mapper.cpp).
    "CHANNEL_EXECUTE CUSTOM sofia::transferor sofia::transferee sofia::replaced callcenter::info";

/// Click-to-dial as FreeSWITCH does it: `bgapi originate` rings the agent's
/// phone (`endpoint`), and once it answers transfers it to `number` in the
/// XML dialplan `context`, which calls out. The job's outcome comes in a
/// BACKGROUND_JOB event carrying the Job-UUID Ringside chose.
struct OriginateRequest {
    std::string endpoint;          // the agent's phone: "user/1001"
    std::string context = "default";
    std::string number;            // "+989121234567"
    std::string caller_id_number;  // shown on the agent's phone: their own extension
    std::chrono::seconds timeout{30};  // originate_timeout: how long the agent's phone may ring
};

/// The command bytes (without the closing blank line) for `r` under
/// `job_uuid`: "bgapi originate {vars}user/1001 +98912... XML default\nJob-UUID: ...".
/// nullopt when a field is empty or holds a character that could break out
/// of its slot (space, comma, brace, quote, newline, ...).
std::optional<std::string> originate_command(const OriginateRequest& r, std::string_view job_uuid);

namespace client_action {
/// Send these bytes, in order with the other writes.
struct Write { std::string bytes; };
/// Hand this event to the engine.
struct Emit { pbx::Event event; };
/// Close the link; `reason` is in operator words. Nothing else follows.
struct Close { std::string reason; };
/// Authenticated: the link is usable (the shell resets its back-off).
struct LoggedIn {};
/// FreeSWITCH refused the password or the peer address (rude rejection). A Close follows.
struct LoginRefused { std::string message; };
/// Something odd that does not stop the link (a reader limit crossed); log it.
struct Warning { std::string what; };
/// How an originate() ended: refused at once (-ERR reply), lost with the
/// link, or the BACKGROUND_JOB result (ok: "+OK <uuid>"; reason "answered",
/// "no_answer", "busy", or FreeSWITCH's cause in lower case). One per originate().
struct OriginateResult {
    std::string job_uuid;
    bool ok = false;
    bool lost = false;
    std::string reason;
};
}  // namespace client_action
using client_action::OriginateResult;

using ClientAction = std::variant<client_action::Write, client_action::Emit, client_action::Close,
                                  client_action::LoggedIn, client_action::LoginRefused, client_action::Warning,
                                  client_action::OriginateResult>;
using ClientActions = std::vector<ClientAction>;

class Client {
public:
    enum class State { disconnected, awaiting_auth_request, authenticating, subscribing, ready, closed };

    Client(PbxId pbx, ClientConfig config);

    /// A new link is up: start over (reader, mapper, login).
    ClientActions on_connected(Timestamp now);
    /// Bytes from the peer, any split.
    ClientActions on_bytes(std::string_view bytes, Timestamp now);
    /// Time passed; call at next_deadline() at the latest.
    ClientActions on_tick(Timestamp now);
    /// The link is gone. Emits LinkDown if the link was authenticated.
    ClientActions on_disconnected(Timestamp now);

    /// Sends originate_command(r) under a fresh Job-UUID and reports one
    /// OriginateResult for it. Returns the Job-UUID; nullopt (nothing sent)
    /// when the request is invalid or the link is not ready.
    std::optional<std::string> originate(const OriginateRequest& r, ClientActions& out);

    std::optional<Timestamp> next_deadline() const;
    State state() const noexcept { return state_; }
    const Reader& reader() const noexcept { return reader_; }

private:
    enum class Purpose { auth, subscribe, resync, ping, originate };

    void send(std::string command, Purpose why, ClientActions& out);
    void on_message(Message m, Timestamp now, ClientActions& out);
    void on_reply(Purpose why, const Message& m, Timestamp now, ClientActions& out);
    void close(std::string reason, ClientActions& out);

    PbxId pbx_;
    ClientConfig config_;
    Reader reader_;
    EventMapper mapper_;
    State state_ = State::disconnected;
    std::deque<Purpose> pending_;  // commands sent, oldest first; FreeSWITCH replies in this order
    bool authenticated_ = false;
    Timestamp login_deadline_{};
    Timestamp last_rx_{};
    std::optional<Timestamp> ping_sent_;
    std::deque<std::string> originate_sent_;  // Job-UUIDs of bgapi originates awaiting their command/reply
    std::unordered_map<std::string, bool> originating_;  // accepted jobs awaiting BACKGROUND_JOB
    std::uint64_t job_seq_ = 0;
};

}  // namespace ringside::esl
