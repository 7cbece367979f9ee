#pragma once
// The thin Asio shell around esl::Client: connects, reads continuously,
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
#include "ringside/core/pbx_event.hpp"
#include "ringside/esl/client.hpp"

namespace ringside::esl {

struct ConnectionConfig {
    PbxId pbx;                                           // "fs": in logs and on every event
    std::string host = "127.0.0.1";
    std::uint16_t port = 8021;                           // mod_event_socket's default
    std::string password;                                // event_socket.conf.xml `password`
    std::chrono::milliseconds ping_interval{15'000};     // keep-alive after this long without traffic
    std::chrono::milliseconds ping_timeout{10'000};      // no answer within this: reconnect
    std::chrono::milliseconds connect_timeout{5'000};    // resolve + TCP connect
    std::chrono::milliseconds login_timeout{10'000};     // auth/request + auth reply
    std::chrono::milliseconds write_timeout{10'000};     // one queued write must finish within this
    std::chrono::milliseconds backoff_initial{500};      // first reconnect delay; doubles per failure
    std::chrono::milliseconds backoff_max{30'000};       // cap; reset after a good login
    std::size_t max_write_queue_bytes = 1024 * 1024;     // beyond this the link is dropped
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
    /// Called on the connection's strand for every event, in order. Must not block.
    using EventHandler = std::function<void(pbx::Event)>;

    Connection(boost::asio::any_io_executor ex, ConnectionConfig config, EventHandler on_event);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Starts connecting; reconnects until stop().
    void start();
    /// Closes the link and cancels every timer; no event is delivered after
    /// the stop has run on the strand. Idempotent.
    void stop();
    LinkStatus status() const;

    /// Click-to-dial outcome: called once, on the connection's strand.
    using OriginateHandler = std::function<void(const OriginateResult&)>;
    /// bgapi originate (see esl::Client::originate). Answers at once with
    /// lost=true when the link is not ready, or reason "invalid request".
    void originate(OriginateRequest request, OriginateHandler on_done);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace ringside::esl
