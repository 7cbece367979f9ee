#include "ringside/sip/endpoint.hpp"

#include <array>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "ringside/sip/uas.hpp"
#include "ringside/sip/watcher.hpp"

namespace ringside::sip {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using error_code = boost::system::error_code;

namespace {
std::string host_port(const asio::ip::address& a, std::uint16_t port) {
    return a.is_v6() ? "[" + a.to_string() + "]:" + std::to_string(port) : a.to_string() + ":" + std::to_string(port);
}
}  // namespace

struct Endpoint::Impl : std::enable_shared_from_this<Impl> {
    struct TcpConn {
        explicit TcpConn(asio::strand<asio::any_io_executor>& s, const ParserLimits& l) : sock(s), parser(l) {}
        tcp::socket sock;
        StreamParser parser;
        std::array<char, 16 * 1024> buf{};
        std::deque<std::string> queue;
        std::size_t queued = 0;
        Origin id = 0;
        bool to_server = false;
        std::chrono::steady_clock::time_point last_read{};
    };

    Impl(asio::any_io_executor ex, EndpointConfig c, EventHandler h)
        : strand_(asio::make_strand(ex)),
          config_(std::move(c)),
          on_event_(std::move(h)),
          udp_(strand_),
          acceptor_(strand_),
          resolver_(strand_),
          tick_(strand_),
          retry_(strand_) {}

    // --- status --------------------------------------------------------------
    mutable std::mutex status_mutex_;
    LinkStatus status_;
    template <class F>
    void update(F f) {
        std::lock_guard lock(status_mutex_);
        f(status_);
    }

    asio::strand<asio::any_io_executor> strand_;
    EndpointConfig config_;
    EventHandler on_event_;
    std::optional<Uas> uas_;
    std::optional<Watcher> watcher_;
    udp::socket udp_;
    tcp::acceptor acceptor_;
    tcp::resolver resolver_;
    asio::steady_timer tick_;
    asio::steady_timer retry_;
    std::array<char, 65536> udp_buf_{};
    udp::endpoint udp_peer_;
    std::map<Origin, udp::endpoint> udp_origins_;
    std::map<udp::endpoint, Origin> udp_ids_;
    std::map<Origin, std::shared_ptr<TcpConn>> tcp_;
    Origin next_origin_ = 1;
    Origin server_conn_ = 0;
    udp::endpoint server_udp_;
    tcp::endpoint server_tcp_;
    bool server_known_ = false;
    std::string local_;                 // "host:port" for Contact / Via
    std::chrono::milliseconds backoff_{500};
    bool stopped_ = false;

    std::string where() const { return "pbx " + config_.pbx.value() + ": "; }

    void warn(const std::string& what) {
        spdlog::warn("{}SIP {}", where(), what);
        update([&](LinkStatus& s) {
            s.last_error = what;
            ++s.protocol_warnings;
        });
    }

    // --- open ----------------------------------------------------------------
    void do_open() {
        if (stopped_) return;
        error_code ec;
        auto addr = asio::ip::make_address(config_.listen_host, ec);
        if (ec) return open_failed("the listen address " + config_.listen_host + " is not an IP address");
        udp::endpoint uep(addr, config_.listen_port);
        udp_.open(uep.protocol(), ec);
        if (!ec) udp_.bind(uep, ec);
        if (ec) return open_failed("cannot listen for SIP on UDP " + host_port(addr, config_.listen_port) + " (" + ec.message() + ")");
        tcp::endpoint tep(addr, udp_.local_endpoint().port());
        acceptor_.open(tep.protocol(), ec);
        if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor_.bind(tep, ec);
        if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
        if (ec) return open_failed("cannot listen for SIP on TCP " + host_port(addr, tep.port()) + " (" + ec.message() + ")");
        const auto port = udp_.local_endpoint().port();
        std::string host = config_.contact_host;
        if (host.empty() && !addr.is_unspecified()) host = host_port(addr, port);
        else if (!host.empty()) host += ":" + std::to_string(port);
        local_ = host;
        spdlog::info("{}SIP listening on UDP and TCP {}", where(), host_port(addr, port));
        do_udp_read();
        do_accept();
        if (config_.mode == Mode::uas) {
            uas_.emplace(config_.pbx, UasConfig{.max_ring = config_.max_ring});
            update([](LinkStatus& s) { s.state = LinkState::connected; });
            arm_tick();
        } else {
            resolve_server();
        }
    }

    void open_failed(const std::string& why) {
        spdlog::error("{}{}; trying again in 5 s", where(), why);
        update([&](LinkStatus& s) {
            s.state = LinkState::reconnecting;
            s.last_error = why;
            ++s.reconnects;
        });
        error_code ignored;
        udp_.close(ignored);
        acceptor_.close(ignored);
        retry_.expires_after(std::chrono::seconds(5));
        retry_.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec) self->do_open();
        });
    }

    /// The address this host uses to reach `to`, as the OS routes it.
    std::string route_source(const asio::ip::address& to) {
        udp::socket probe(strand_);
        error_code ec;
        probe.open(to.is_v6() ? udp::v6() : udp::v4(), ec);
        if (!ec) probe.connect(udp::endpoint(to, 9), ec);
        if (ec) return to.is_v6() ? "::1" : "127.0.0.1";
        return probe.local_endpoint().address().to_string();
    }

    std::string local_for(const asio::ip::address& peer) {
        if (!local_.empty()) return local_;
        auto a = route_source(peer);
        const auto port = std::to_string(udp_.local_endpoint().port());
        return a.find(':') != std::string::npos ? "[" + a + "]:" + port : a + ":" + port;
    }

    // --- watch: the server ------------------------------------------------------
    void resolve_server() {
        resolver_.async_resolve(config_.server_host, std::to_string(config_.server_port),
                                [self = shared_from_this()](error_code ec, tcp::resolver::results_type r) {
                                    if (self->stopped_) return;
                                    if (ec || r.empty()) {
                                        self->warn("cannot resolve the SIP server " + self->config_.server_host + " (" +
                                                   (ec ? ec.message() : std::string("no address")) + ")");
                                        return self->retry_server();
                                    }
                                    self->server_tcp_ = r.begin()->endpoint();
                                    self->server_udp_ = udp::endpoint(self->server_tcp_.address(), self->server_tcp_.port());
                                    self->server_known_ = true;
                                    if (self->local_.empty()) self->local_ = self->local_for(self->server_tcp_.address());
                                    self->start_watch();
                                });
    }

    void retry_server() {
        update([](LinkStatus& s) {
            s.state = LinkState::reconnecting;
            ++s.reconnects;
        });
        retry_.expires_after(backoff_);
        backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(30'000));
        retry_.async_wait([self = shared_from_this()](error_code ec) {
            if (ec || self->stopped_) return;
            if (!self->server_known_) return self->resolve_server();
            self->start_watch();
        });
    }

    bool tcp_transport() const { return config_.transport == "tcp"; }

    void start_watch() {
        if (!watcher_) {
            WatcherConfig wc;
            wc.extensions = config_.extensions;
            wc.server = host_port(server_tcp_.address(), server_tcp_.port());
            wc.domain = config_.domain.empty() ? config_.server_host : config_.domain;
            wc.local = local_;
            wc.transport = tcp_transport() ? "TCP" : "UDP";
            wc.expires = config_.expires;
            watcher_.emplace(config_.pbx, wc);
        }
        if (!tcp_transport()) {
            deliver(watcher_->start(std::chrono::steady_clock::now()));
            arm_tick();
            return;
        }
        auto conn = std::make_shared<TcpConn>(strand_, config_.limits);
        conn->id = next_origin_++;
        conn->to_server = true;
        conn->sock.async_connect(server_tcp_, [self = shared_from_this(), conn](error_code ec) {
            if (self->stopped_) return;
            if (ec) {
                self->warn("cannot reach the SIP server at " + host_port(self->server_tcp_.address(), self->server_tcp_.port()) +
                           " over TCP (" + ec.message() + ")");
                return self->retry_server();
            }
            self->backoff_ = std::chrono::milliseconds(500);
            self->tcp_[conn->id] = conn;
            self->server_conn_ = conn->id;
            conn->last_read = std::chrono::steady_clock::now();
            self->do_tcp_read(conn);
            self->deliver(self->watcher_->reset(std::chrono::steady_clock::now(), now_ms()));
            self->arm_tick();
        });
    }

    // --- UDP -------------------------------------------------------------------
    void do_udp_read() {
        udp_.async_receive_from(asio::buffer(udp_buf_), udp_peer_, [self = shared_from_this()](error_code ec, std::size_t n) {
            if (self->stopped_ || ec == asio::error::operation_aborted) return;
            if (!ec) self->on_datagram(std::string_view(self->udp_buf_.data(), n));
            self->do_udp_read();
        });
    }

    Origin udp_origin(const udp::endpoint& peer) {
        if (auto it = udp_ids_.find(peer); it != udp_ids_.end()) return it->second;
        if (udp_ids_.size() >= 4096) {  // bounded: forget old peers
            udp_ids_.clear();
            udp_origins_.clear();
        }
        Origin id = next_origin_++;
        udp_ids_[peer] = id;
        udp_origins_[id] = peer;
        return id;
    }

    void on_datagram(std::string_view bytes) {
        if (bytes.find_first_not_of("\r\n") == std::string_view::npos) return;  // keep-alive
        auto item = parse_datagram(bytes, config_.limits);
        dispatch(item, udp_origin(udp_peer_), local_for(udp_peer_.address()), "UDP");
    }

    // --- TCP -------------------------------------------------------------------
    void do_accept() {
        acceptor_.async_accept([self = shared_from_this()](error_code ec, tcp::socket s) {
            if (self->stopped_ || ec == asio::error::operation_aborted) return;
            if (!ec) {
                if (self->tcp_.size() >= self->config_.max_tcp_connections) {
                    self->warn("too many SIP TCP connections (" + std::to_string(self->config_.max_tcp_connections) +
                               "); one refused");
                } else {
                    auto conn = std::make_shared<TcpConn>(self->strand_, self->config_.limits);
                    conn->sock = std::move(s);
                    conn->id = self->next_origin_++;
                    conn->last_read = std::chrono::steady_clock::now();
                    self->tcp_[conn->id] = conn;
                    self->do_tcp_read(conn);
                }
            }
            self->do_accept();
        });
    }

    void do_tcp_read(const std::shared_ptr<TcpConn>& conn) {
        conn->sock.async_read_some(asio::buffer(conn->buf), [self = shared_from_this(), conn](error_code ec, std::size_t n) {
            if (self->stopped_ || !self->tcp_.count(conn->id)) return;
            if (ec) return self->close_tcp(conn, ec == asio::error::eof ? "" : ec.message());
            conn->last_read = std::chrono::steady_clock::now();
            conn->parser.put(std::string_view(conn->buf.data(), n));
            error_code lep;
            auto le = conn->sock.local_endpoint(lep);
            const std::string local =
                !self->local_.empty() ? self->local_ : host_port(le.address(), self->udp_.local_endpoint().port());
            while (auto item = conn->parser.next()) {
                if (const auto* r = std::get_if<Rejected>(&*item); r && conn->parser.failed())
                    self->warn("a SIP TCP stream could not be framed: " + r->describe() + "; connection closed");
                self->dispatch(*item, conn->id, local, "TCP");
                if (!self->tcp_.count(conn->id)) return;
            }
            if (conn->parser.failed()) return self->close_tcp(conn, "");
            self->do_tcp_read(conn);
        });
    }

    void close_tcp(const std::shared_ptr<TcpConn>& conn, const std::string& why) {
        if (!tcp_.erase(conn->id)) return;
        error_code ignored;
        conn->sock.close(ignored);
        if (uas_) deliver(uas_->origin_closed(conn->id, now_ms()));
        if (conn->to_server) {
            server_conn_ = 0;
            warn("the TCP connection to the SIP server closed" + (why.empty() ? std::string() : " (" + why + ")"));
            retry_server();
        }
    }

    void send_tcp(const std::shared_ptr<TcpConn>& conn, std::string bytes) {
        conn->queued += bytes.size();
        conn->queue.push_back(std::move(bytes));
        if (conn->queued > config_.max_write_queue_bytes) return close_tcp(conn, "the peer does not read");
        if (conn->queue.size() == 1) do_tcp_write(conn);
    }

    void do_tcp_write(const std::shared_ptr<TcpConn>& conn) {
        asio::async_write(conn->sock, asio::buffer(conn->queue.front()), [self = shared_from_this(), conn](error_code ec, std::size_t) {
            if (self->stopped_ || !self->tcp_.count(conn->id)) return;
            if (ec) return self->close_tcp(conn, ec.message());
            conn->queued -= conn->queue.front().size();
            conn->queue.pop_front();
            if (!conn->queue.empty()) self->do_tcp_write(conn);
        });
    }

    // --- routing ---------------------------------------------------------------
    void send_to(Origin origin, std::string bytes) {
        if (auto it = tcp_.find(origin); it != tcp_.end()) return send_tcp(it->second, std::move(bytes));
        if (auto it = udp_origins_.find(origin); it != udp_origins_.end()) send_udp(it->second, std::move(bytes));
    }

    void send_udp(const udp::endpoint& to, std::string bytes) {
        auto buf = std::make_shared<std::string>(std::move(bytes));
        udp_.async_send_to(asio::buffer(*buf), to, [buf](error_code, std::size_t) {});
    }

    void send_to_server(std::string bytes) {
        if (!server_known_) return;
        if (!tcp_transport()) return send_udp(server_udp_, std::move(bytes));
        if (auto it = tcp_.find(server_conn_); it != tcp_.end()) send_tcp(it->second, std::move(bytes));
    }

    void dispatch(const Item& item, Origin origin, const std::string& local, std::string_view transport) {
        const auto now = std::chrono::steady_clock::now();
        if (const auto* r = std::get_if<Rejected>(&item); r && uas_)
            spdlog::debug("{}SIP message rejected: {}", where(), r->describe());
        if (uas_) deliver(uas_->on_item(item, origin, local, transport, now, now_ms()));
        else if (watcher_) deliver(watcher_->on_item(item, origin, now, now_ms()));
        arm_tick();
    }

    void emit(std::vector<pbx::Event>& events) {
        if (events.empty()) return;
        const auto at = now_ms();
        update([&](LinkStatus& s) {
            s.events_received += events.size();
            s.last_event_at = at;
        });
        for (auto& e : events) on_event_(std::move(e));
    }

    void deliver(UasOutput out) {
        for (auto& r : out.replies) send_to(r.origin, std::move(r.bytes));
        emit(out.events);
    }

    void deliver(WatcherOutput out) {
        for (auto& r : out.requests) send_to_server(std::move(r));
        for (auto& r : out.replies) send_to(r.origin, std::move(r.bytes));
        for (const auto& w : out.warnings) warn(w);
        emit(out.events);
        if (watcher_) {
            const bool up = watcher_->active_subscriptions() > 0;
            update([&](LinkStatus& s) {
                if (up) s.state = LinkState::connected;
                else if (s.state == LinkState::connected) s.state = LinkState::reconnecting;
            });
        }
    }

    // --- timers ----------------------------------------------------------------
    void arm_tick() {
        auto due = std::chrono::steady_clock::now() + std::chrono::seconds(1);  // also the TCP idle sweep
        std::optional<std::chrono::steady_clock::time_point> d;
        if (uas_) d = uas_->next_deadline();
        if (watcher_) d = watcher_->next_deadline();
        if (d && *d < due) due = *d;
        tick_.expires_at(due);
        tick_.async_wait([self = shared_from_this()](error_code ec) {
            if (ec || self->stopped_) return;
            self->on_tick();
        });
    }

    void on_tick() {
        const auto now = std::chrono::steady_clock::now();
        if (uas_) deliver(uas_->tick(now, now_ms()));
        if (watcher_) deliver(watcher_->tick(now, now_ms()));
        std::vector<std::shared_ptr<TcpConn>> idle;
        for (auto& [id, c] : tcp_)
            if (!c->to_server && now - c->last_read > config_.tcp_idle_timeout) idle.push_back(c);
        for (auto& c : idle) close_tcp(c, "idle");
        arm_tick();
    }

    void do_stop() {
        if (stopped_) return;
        stopped_ = true;
        error_code ignored;
        udp_.close(ignored);
        acceptor_.close(ignored);
        resolver_.cancel();
        tick_.cancel();
        retry_.cancel();
        for (auto& [id, c] : tcp_) c->sock.close(ignored);
        tcp_.clear();
        update([](LinkStatus& s) { s.state = LinkState::stopped; });
    }
};

Endpoint::Endpoint(asio::any_io_executor ex, EndpointConfig config, EventHandler on_event)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(config), std::move(on_event))) {}

Endpoint::~Endpoint() { stop(); }

void Endpoint::start() {
    asio::post(impl_->strand_, [self = impl_] { self->do_open(); });
}

void Endpoint::stop() {
    asio::post(impl_->strand_, [self = impl_] { self->do_stop(); });
}

LinkStatus Endpoint::status() const {
    std::lock_guard lock(impl_->status_mutex_);
    return impl_->status_;
}

}  // namespace ringside::sip
