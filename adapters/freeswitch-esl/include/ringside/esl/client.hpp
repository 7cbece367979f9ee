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
    "CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE";

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
}  // namespace client_action

using ClientAction = std::variant<client_action::Write, client_action::Emit, client_action::Close,
                                  client_action::LoggedIn, client_action::LoginRefused, client_action::Warning>;
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

    std::optional<Timestamp> next_deadline() const;
    State state() const noexcept { return state_; }
    const Reader& reader() const noexcept { return reader_; }

private:
    enum class Purpose { auth, subscribe, resync, ping };

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
};

}  // namespace ringside::esl
