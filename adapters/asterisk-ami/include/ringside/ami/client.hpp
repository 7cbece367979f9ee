#pragma once
// Sans-I/O AMI client protocol (in the style of Boost.Redis reader_fsm): the
// I/O shell reports what happened (connected, bytes arrived, time passed,
// link lost) and gets back a list of actions to carry out in order. No
// sockets and no clocks here: every call takes `now`.
//
// Per link: wait for the greeting; log in (plain, or MD5 challenge); then
// resynchronise (ResyncBegin, CoreShowChannels listed as ChannelCreated,
// ResyncEnd); map every event; Ping when nothing was received for
// ping_interval and close the link when a Ping is not answered in ping_timeout.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "ringside/ami/mapper.hpp"
#include "ringside/ami/message.hpp"
#include "ringside/ami/reader.hpp"
#include "ringside/core/pbx_event.hpp"

namespace ringside::ami {

struct ClientConfig {
    std::string username;
    std::string secret;
    bool md5 = false;                                    // Challenge/MD5 login: the secret never goes on the wire
    std::chrono::milliseconds ping_interval{15'000};     // Ping after this long without receiving anything
    std::chrono::milliseconds ping_timeout{10'000};      // ... and give up on the link if no answer within this
    std::chrono::milliseconds login_timeout{10'000};     // greeting + login must complete within this
    ReaderLimits limits{};
};

/// Click-to-dial as AMI does it: Originate rings the agent's own phone
/// (`channel`), and once it answers runs the dialplan at context/exten, which
/// dials the number. Async, so the response comes at once and the outcome
/// later in an OriginateResponse event carrying the same ActionID.
struct OriginateRequest {
    std::string channel;    // the agent's device: "PJSIP/1001", "SIP/1001"
    std::string context;    // the dialplan context that dials out: "from-internal"
    std::string exten;      // the number to dial, as the dialplan expects it ("+989121234567")
    std::string caller_id;  // shown on the agent's phone while it rings: "Ringside <1001>"
    std::chrono::milliseconds timeout{30'000};  // how long the agent's phone may ring
};

/// The Originate action for `r` (no ActionID: send_action/originate set it).
/// nullopt when a field is empty (caller_id may be) or any value holds a
/// CR, LF or NUL that would let it inject AMI lines.
std::optional<Message> originate_action(const OriginateRequest& r);

/// An agent's state on the PBX as app_queue takes it: QueuePause pauses (or
/// unpauses) the member `interface` in every queue it is in (or only in
/// `queue`), with a reason shown in `queue show` and the queue log.
struct QueuePauseRequest {
    std::string interface;  // the member's device: "PJSIP/1001", "SIP/1001"
    bool paused = false;
    std::string reason;     // "lunch", "wrap_up"; may be empty
    std::string queue;      // "" : every queue the interface is a member of
};

/// The QueuePause action for `r` (no ActionID). nullopt when the interface
/// is empty or any value holds a CR, LF or NUL.
std::optional<Message> queue_pause_action(const QueuePauseRequest& r);

namespace client_action {
/// Send these bytes, in order with the other writes.
struct Write { std::string bytes; };
/// Hand this event to the engine.
struct Emit { pbx::Event event; };
/// Close the link; `reason` is in operator words. Nothing else follows.
struct Close { std::string reason; };
/// Login accepted: the link is usable (the shell resets its back-off).
struct LoggedIn { std::string greeting; };
/// Asterisk refused the login; `message` is Asterisk's ("Authentication failed").
/// A Close follows.
struct LoginRefused { std::string message; };
/// The response to an action sent with send_action(), matched by ActionID.
/// On link loss every pending one ends with `lost = true` and an empty response.
struct Response { std::string action_id; Message response; bool lost = false; };
/// Something odd that does not stop the link (a reader limit crossed); log it.
struct Warning { std::string what; };
/// How an originate() ended: refused at once (Response: Error), lost with the
/// link, or Asterisk's OriginateResponse (ok when the agent's phone answered
/// and the dialplan started; reason "answered", "no_answer", "busy",
/// "congestion" or "failed"). Exactly one per originate().
struct OriginateResult {
    std::string action_id;
    bool ok = false;
    bool lost = false;
    std::string reason;
    std::string uniqueid;  // the agent's channel, when Asterisk names it
};
}  // namespace client_action

using ClientAction = std::variant<client_action::Write, client_action::Emit, client_action::Close,
                                  client_action::LoggedIn, client_action::LoginRefused, client_action::Response,
                                  client_action::Warning, client_action::OriginateResult>;
using ClientActions = std::vector<ClientAction>;

class Client {
public:
    enum class State { disconnected, awaiting_greeting, challenging, logging_in, logged_in, closed };

    Client(PbxId pbx, ClientConfig config);

    /// A new link is up: start over (reader, mapper, login). ActionIDs keep
    /// counting so they are never reused, on this link or any other.
    ClientActions on_connected(Timestamp now);
    /// Bytes from the peer, any split.
    ClientActions on_bytes(std::string_view bytes, Timestamp now);
    /// Time passed; call at next_deadline() at the latest.
    ClientActions on_tick(Timestamp now);
    /// The link is gone (closed by either side). Emits LinkDown if the link
    /// was logged in, and ends pending send_action() calls as lost.
    ClientActions on_disconnected(Timestamp now);

    /// Sends an action (e.g. Originate) and reports its response with a
    /// client_action::Response carrying the returned ActionID. Any ActionID
    /// in `action` is replaced. Before login the action waits and is sent
    /// right after it.
    std::string send_action(Message action, ClientActions& out);

    /// Sends `originate_action(r)` and reports one OriginateResult for it
    /// (see there). Returns the ActionID; nullopt (and nothing sent) when the
    /// request is invalid or the link is not logged in.
    std::optional<std::string> originate(const OriginateRequest& r, ClientActions& out);

    /// When on_tick must be called next; nullopt when no timer runs.
    std::optional<Timestamp> next_deadline() const;
    State state() const noexcept { return state_; }
    const Reader& reader() const noexcept { return reader_; }

private:
    enum class Purpose { challenge, login, resync, ping, user, originate };

    std::string next_action_id();
    void write_action(Message action, Purpose purpose, ClientActions& out, std::string* id_out = nullptr);
    void send_login(std::string_view challenge, ClientActions& out);
    /// May move m away (a response handed on); the caller recycles what is left.
    void on_message(Message& m, Timestamp now, ClientActions& out);
    void on_response(Message m, Purpose purpose, const std::string& id, Timestamp now, ClientActions& out);
    void after_login(ClientActions& out);
    void close(std::string reason, ClientActions& out);

    PbxId pbx_;
    ClientConfig config_;
    Reader reader_;
    EventMapper mapper_;
    State state_ = State::disconnected;
    std::uint64_t action_seq_ = 0;
    std::unordered_map<std::string, Purpose> pending_;  // ActionID -> why we sent it
    std::deque<std::pair<std::string, Message>> queued_;  // user actions (ActionID set) sent after login
    std::string greeting_;
    std::string resync_id_;
    bool resyncing_ = false;
    bool link_logged_in_ = false;  // this link got past login: its loss is a LinkDown
    Timestamp login_deadline_{};
    Timestamp last_rx_{};
    std::optional<Timestamp> ping_sent_;
    std::string ping_id_;
    // Originates Asterisk queued: their OriginateResponse is still to come.
    std::unordered_map<std::string, bool> originating_;
};

/// Lower-case hex MD5 of `data` (RFC 1321), for the AMI challenge login only.
std::string md5_hex(std::string_view data);

}  // namespace ringside::ami
