#pragma once
// The HTTP and WebSocket front door: the routes of docs/interface.md, the static
// agent page, and /ws fed by the PopHub. Runs on the caller's io_context (any
// number of threads); each connection has its own strand.
//
// /ws: for 500 ms after the upgrade, live messages wait for the browser's
// first message, so that a `resume` sent first is answered strictly in seq
// order; any first message ends the wait. Client messages: `resume`
// (after_seq), `ping` (answered `pong`); anything else gets an `error`
// message and the connection stays open.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "ringside/core/agent_state.hpp"
#include "ringside/core/call_service.hpp"
#include "ringside/core/dialer.hpp"
#include "ringside/core/queue_pause.hpp"
#include "ringside/core/directory.hpp"
#include "ringside/core/phone.hpp"
#include "ringside/server/pbx_control.hpp"
#include "ringside/server/pop_hub.hpp"
#include "ringside/storage/store.hpp"

namespace ringside::server {

struct ServerOptions {
    /// host:port to listen on; "[::1]:8080" for IPv6; port 0 picks a free port (see Server::port()).
    std::string listen = "127.0.0.1:8080";
    /// Directory served for GET of any path no route claims; empty: no static files.
    std::filesystem::path web_root;
    /// Lifetime of a login session (cookie Max-Age and stored expiry).
    std::chrono::seconds session_ttl = std::chrono::hours(12);
    /// Largest request body accepted by every route but the imports; larger
    /// answers 413 naming the limit (before the body is read when its
    /// Content-Length says so).
    std::size_t max_body_bytes = 64 * 1024;
    /// Largest body of POST /api/customers/import and /api/orders/import (a CSV file).
    std::size_t import_body_bytes = 1024 * 1024;
    /// Connections open at once, HTTP and WebSocket alike; one more is closed
    /// as soon as it is accepted. Kept below the open-files limit by the caller.
    std::size_t max_connections = 4096;
    /// Connections open at once from one client address (the forwarded
    /// client for a trusted proxy's connections; the proxy itself is not capped).
    std::size_t max_connections_per_address = 256;
    /// From the first byte of a request (from accept for a connection's
    /// first request) to the end of its headers; a client slower than this
    /// is dropped. Keep-alive idleness between requests is keep_alive_timeout.
    std::chrono::seconds header_timeout = std::chrono::seconds(10);
    /// How long a kept-alive connection may sit idle between requests.
    std::chrono::seconds keep_alive_timeout = std::chrono::seconds(30);
    /// Addresses and CIDR blocks ("127.0.0.1", "10.0.0.0/8") of proxies whose
    /// X-Forwarded-For (else Forwarded: for=) names the client: that client
    /// then counts for the sign-in limits, the per-address connection cap,
    /// the audit log and /metrics' locality. Throws invalid_argument at
    /// construction for an entry that is not one.
    std::vector<std::string> trusted_proxies;
    /// Messages waiting to be written to one WebSocket; one more closes it
    /// ("send queue full") so the browser reconnects and resumes.
    std::size_t ws_queue_limit = 256;
    /// Largest message a browser may send over /ws.
    std::size_t ws_max_message_bytes = 64 * 1024;
    /// Deadline of each HTTP body read and write (a client that stops reading is dropped after it).
    std::chrono::seconds io_timeout = std::chrono::seconds(30);
    /// /metrics without credentials from 127.0.0.0/8 and ::1; otherwise admin only.
    bool metrics_trust_loopback = true;
    /// Adds `Secure` to the session cookie (set when served behind HTTPS).
    /// Always on when the server speaks TLS itself (tls_certificate set).
    bool cookie_secure = false;
    /// PEM files of the certificate chain and its private key: both set,
    /// `listen` speaks only HTTPS and WSS (HSTS on every answer, the cookie
    /// Secure); both empty, plain HTTP. Re-read by reload_tls().
    std::filesystem::path tls_certificate;
    std::filesystem::path tls_private_key;
    /// From accept to the end of the TLS handshake; a client that takes
    /// longer (or never speaks) is dropped.
    std::chrono::seconds tls_handshake_timeout = std::chrono::seconds(10);
    /// Origins besides the service's own (its scheme plus the request's Host)
    /// whose pages may open /ws or write with the session cookie.
    std::vector<std::string> allowed_origins;
    /// WebSockets one user may hold open at once; one more is refused with 429.
    std::size_t ws_per_user = 16;
    /// Sign-in attempts allowed in login_window before 429, counted as they
    /// start: this many for one user from one address (then locked, for
    /// twice as long each time); four times as many for one address, and
    /// for one user from addresses it has not signed in from in 30 days.
    std::size_t login_max_failures = 5;
    std::chrono::seconds login_window = std::chrono::seconds(60);
    /// Sign-ins waiting for (or in) their password check; one more answers 503.
    std::size_t login_queue_limit = 32;
    /// `[reports] service_level_seconds`: a call answered within this many
    /// seconds counts toward the wallboard's service level.
    int service_level_seconds = 20;
    /// How often the wallboard recomputes agents' presence and the day's
    /// figures while a supervisor is connected.
    std::chrono::milliseconds wallboard_tick = std::chrono::seconds(1);
    /// How often changed calls go out to supervisors (`board.changes`,
    /// one per flush): a call that changed several times in one
    /// window goes out once, with its latest state.
    std::chrono::milliseconds board_flush = std::chrono::milliseconds(250);
    /// `[agent_states]`: the not-ready reasons and the wrap-up after calls.
    AgentStateRules agent_states;
    /// Chart.js served at /vendor/chart.js (Debian's libjs-chart.js); empty or missing: 404.
    std::filesystem::path chart_js = "/usr/share/javascript/chart.js/chart.min.js";
    /// [customers] tiers: the tiers a customer may be given.
    std::vector<std::string> customer_tiers{"gold", "silver", "bronze"};
    /// [auth.ldap]: names that are not local users sign in against it; null:
    /// local users only. Its calls block, so they run on a pool of their own.
    std::shared_ptr<Directory> directory;
    /// A directory user's session is checked against the directory again
    /// when a request comes this long after its last check (or sign-in).
    std::chrono::seconds directory_recheck = std::chrono::seconds(60);
};

using EngineStrand = boost::asio::strand<boost::asio::io_context::executor_type>;

class Server {
public:
    /// Everything passed by reference must outlive the Server. `calls` is only
    /// touched on `engine` (set_disposition, stats). `extra_metrics` returns
    /// Prometheus text appended to /metrics (PBX link state, ...); called on
    /// an HTTP session's strand, so it must be thread-safe.
    Server(boost::asio::io_context& ioc, ServerOptions options, Storage& storage, PopHub& hub, CallService& calls,
           EngineStrand engine, const PhoneNormalizer& phones, std::function<std::string()> extra_metrics = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// The admin page's PBX routes and the webhook routes go to `control`
    /// (they answer 503 without one). Call before start().
    void set_pbx_control(std::shared_ptr<PbxControl> control);

    /// Binds and starts accepting. Throws std::runtime_error naming the
    /// address when listen is malformed, the port is in use, or binding is
    /// refused, and naming the file when the TLS certificate or key cannot be used.
    void start();

    struct TlsReload {
        bool ok = false;
        /// ok: the certificate now served (subject, expiry, fingerprint);
        /// else why the files were refused (naming the file), or that TLS is off.
        std::string message;
    };
    /// Re-reads tls_certificate and tls_private_key (any thread). New
    /// connections get the new certificate; open ones (calls, WebSockets)
    /// keep theirs. Files that cannot be used change nothing.
    TlsReload reload_tls();
    /// Whether this server speaks TLS (tls_certificate is set).
    bool tls() const;
    /// The bound port (useful with port 0); 0 before start().
    std::uint16_t port() const;
    /// Stops accepting, closes every open HTTP and WebSocket connection, and
    /// waits for running CSV exports and password checks to finish. Idempotent.
    void stop();

    /// POST /api/calls/dial goes through `dialer` (which must outlive the
    /// Server); without one the route answers 503. Call before start().
    void set_dialer(Dialer* dialer);
    /// Agent states are applied on the PBX through `pauser` (which must
    /// outlive the Server); without one they are applied nowhere.
    void set_queue_pauser(QueuePauser* pauser);
    /// An agent's state now (ready since the start for one never changed).
    /// Any thread; never waits for the engine.
    AgentStatus agent_state(const AgentId& agent) const;
    /// Applies every agent's known state on this PBX again (its link has
    /// just logged in: a restarted PBX has forgotten them). Any thread.
    void reapply_agent_states(const PbxId& pbx);

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace ringside::server
