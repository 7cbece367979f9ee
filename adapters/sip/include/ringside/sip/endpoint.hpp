#pragma once
// The thin Asio shell of the SIP adapter: a UDP socket and a TCP listener on
// `listen`, plus (mode watch, transport tcp) a TCP connection to the server
// that is re-made with back-off. It only moves bytes and time: every
// protocol decision is in Uas (mode uas) or Watcher (mode watch). Everything
// runs on one strand; the public functions are safe from any thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "ringside/adapters/link_status.hpp"
#include "ringside/core/pbx_event.hpp"
#include "ringside/sip/parser.hpp"

namespace ringside::sip {

enum class Mode { uas, watch };

struct EndpointConfig {
    PbxId pbx;
    Mode mode = Mode::uas;
    std::string listen_host = "0.0.0.0";   // UDP and TCP
    std::uint16_t listen_port = 5060;
    std::string contact_host;               // host for Contact/Via; "" = listen_host, or the route's source address
    // mode watch
    std::string server_host;                // the PBX / presence server SUBSCRIBEs go to
    std::uint16_t server_port = 5060;
    std::string transport = "udp";          // "udp" | "tcp": how SUBSCRIBEs travel
    std::string domain;                     // Request-URI host; "" = server_host
    std::vector<std::string> extensions;    // the phones to watch
    std::chrono::seconds expires{600};
    // mode uas
    std::chrono::seconds max_ring{300};
    // both
    ParserLimits limits{};
    std::size_t max_tcp_connections = 256;
    std::size_t max_write_queue_bytes = 1024 * 1024;   // per TCP connection; beyond it the connection is dropped
    std::chrono::seconds tcp_idle_timeout{600};         // an accepted connection silent this long is closed
};

using adapters::LinkState;
using adapters::LinkStatus;

class Endpoint {
public:
    using EventHandler = std::function<void(pbx::Event)>;

    Endpoint(boost::asio::any_io_executor ex, EndpointConfig config, EventHandler on_event);
    ~Endpoint();
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    /// Binds (retrying every 5 s while the address is taken) and starts.
    void start();
    /// Closes every socket and timer; no event after it has run. Idempotent.
    void stop();
    /// connected: listening (uas) or at least one subscription active (watch).
    LinkStatus status() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace ringside::sip
