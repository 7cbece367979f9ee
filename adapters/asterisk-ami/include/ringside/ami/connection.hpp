#pragma once
// The thin Asio shell around ami::Client: connects, reads continuously,
// writes through a queue, runs the client's timers, reconnects forever with
// back-off. All protocol decisions are the Client's. Everything runs on one
// strand of the given executor; the public functions are safe from any thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "ringside/adapters/link_status.hpp"
#include "ringside/ami/client.hpp"
#include "ringside/core/pbx_event.hpp"

namespace ringside::ami {

struct ConnectionConfig {
    PbxId pbx;                                           // "main": in logs and on every event
    std::string host = "127.0.0.1";
    std::uint16_t port = 5038;
    std::string username;
    std::string secret;
    bool md5 = false;                                    // Challenge/MD5 login
    std::chrono::milliseconds ping_interval{15'000};     // Ping after this long without traffic
    std::chrono::milliseconds ping_timeout{10'000};      // no Pong within this: reconnect
    std::chrono::milliseconds connect_timeout{5'000};    // resolve + TCP connect
    std::chrono::milliseconds login_timeout{10'000};     // greeting + login
    std::chrono::milliseconds write_timeout{10'000};     // one queued write must finish within this
    std::chrono::milliseconds backoff_initial{500};      // first reconnect delay; doubles per failure
    std::chrono::milliseconds backoff_max{30'000};       // cap; reset after a good login
    std::size_t max_write_queue_bytes = 4 * 1024 * 1024; // beyond this the link is dropped, not memory grown
    ReaderLimits limits{};
};

/// The link state and status snapshot are the same for every PBX protocol
/// (ringside/adapters/link_status.hpp): "connecting", "connected",
/// "login_refused", "reconnecting", "stopped".
using adapters::LinkState;
using adapters::LinkStatus;
using adapters::to_string;

class Connection {
public:
    /// Called on the connection's strand for every event, in order. Must not
    /// block: the app posts to the engine strand.
    using EventHandler = std::function<void(pbx::Event)>;
    /// The response to send_action(); `lost` when the link went down first.
    using ResponseHandler = std::function<void(const client_action::Response&)>;

    Connection(boost::asio::any_io_executor ex, ConnectionConfig config, EventHandler on_event);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Starts connecting; reconnects until stop().
    void start();
    /// Closes the link and cancels every timer; no event is delivered after
    /// the stop has run on the strand. Idempotent.
    void stop();
    /// Sends an action (Originate, ...) now or right after the next login.
    void send_action(Message action, ResponseHandler on_response);
    /// Click-to-dial outcome: called once, on the connection's strand.
    using OriginateHandler = std::function<void(const client_action::OriginateResult&)>;
    /// Originate (see ami::Client::originate). Answers at once with lost=true
    /// and reason "PBX link is down" when the link is not logged in, or with
    /// reason "invalid request" when the request cannot be sent.
    void originate(OriginateRequest request, OriginateHandler on_done);
    LinkStatus status() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace ringside::ami
