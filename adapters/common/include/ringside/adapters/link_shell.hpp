#pragma once
// The thin Asio shell every PBX link shares: connect with a deadline, read
// continuously, write through a bounded queue, run the client FSM's timers
// (next_deadline()), reconnect forever with capped, jittered exponential
// back-off that resets after a good login, and keep a status snapshot under a
// mutex. Protocol decisions stay in the sans-I/O Client; the shell only moves
// bytes and time. Include it from one .cpp per adapter, never from a header
// the app sees: it pulls in Asio.
//
// Traits supplies, per protocol:
//   using Client, ClientActions, Config;         // Config: the adapter's ConnectionConfig
//   using Write, Emit, Close, LoggedIn, LoginRefused, Warning;  // the common client actions
//   using Extras;                                // protocol-only state; handle(A&) for every
//                                                // other action, clear() on stop()
//   static ClientConfig client_config(const Config&);
//   static std::string logged_in(const Config&, const LoggedIn&);  // the info line after login
//   static constexpr const char* name;           // "AMI": short, in log lines
//   static constexpr const char* endpoint;       // "AMI": what could not be reached
//   static constexpr const char* peer;           // "AMI peer": what does not read
//   static constexpr const char* peer_closed;    // the reason when the far end closes
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "ringside/adapters/link_status.hpp"
#include "ringside/core/pbx_event.hpp"
#include "ringside/core/time.hpp"

namespace ringside::adapters {

/// "5 s", "0.5 s": durations in log lines and reasons.
inline std::string seconds_words(std::chrono::milliseconds d) {
    const auto ms = d.count();
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
    return buf;
}

template <class Traits>
struct LinkShell : std::enable_shared_from_this<LinkShell<Traits>> {
    using Client = typename Traits::Client;
    using ClientActions = typename Traits::ClientActions;
    using Config = typename Traits::Config;
    using EventHandler = std::function<void(pbx::Event)>;
    using tcp = boost::asio::ip::tcp;
    using error_code = boost::system::error_code;

    LinkShell(boost::asio::any_io_executor ex, Config config, EventHandler on_event)
        : strand_(boost::asio::make_strand(ex)),
          config_(std::move(config)),
          on_event_(std::move(on_event)),
          client_(config_.pbx, Traits::client_config(config_)),
          resolver_(strand_),
          socket_(strand_),
          timer_(strand_),
          tick_timer_(strand_),
          backoff_(config_.backoff_initial),
          rng_(std::random_device{}()) {}

    // --- the public side: safe from any thread -------------------------------
    void start() {
        boost::asio::post(strand_, [self = this->shared_from_this()] { self->do_connect(); });
    }
    void stop() {
        boost::asio::post(strand_, [self = this->shared_from_this()] { self->do_stop(); });
    }
    LinkStatus status() const {
        std::lock_guard lock(status_mutex_);
        return status_;
    }

    // --- state shared with other threads -------------------------------------
    mutable std::mutex status_mutex_;
    LinkStatus status_;

    template <class F>
    void update(F f) {
        std::lock_guard lock(status_mutex_);
        f(status_);
    }

    // --- strand-only state ---------------------------------------------------
    boost::asio::strand<boost::asio::any_io_executor> strand_;
    Config config_;
    EventHandler on_event_;
    Client client_;
    typename Traits::Extras extras_;
    tcp::resolver resolver_;
    tcp::socket socket_;
    boost::asio::steady_timer timer_;       // connect deadline, then back-off wait
    boost::asio::steady_timer tick_timer_;  // the client's timers and the write deadline
    std::array<char, 16 * 1024> read_buf_{};
    std::deque<std::string> write_queue_;
    std::size_t write_queue_bytes_ = 0;
    std::optional<std::chrono::steady_clock::time_point> write_started_;
    std::chrono::milliseconds backoff_;
    std::mt19937 rng_;
    bool stopped_ = false;
    bool link_up_ = false;   // a socket is connected and owned by the current attempt
    bool refused_ = false;   // the current attempt ended in a refused login
    bool connect_timed_out_ = false;
    std::uint64_t attempt_ = 0;  // guards handlers of an earlier link

    std::string where() const { return "pbx " + config_.pbx.value() + ": "; }

    // --- connect ---------------------------------------------------------------
    void do_connect() {
        if (stopped_) return;
        ++attempt_;
        refused_ = false;
        update([](LinkStatus& s) {
            if (s.state != LinkState::login_refused) s.state = s.reconnects ? LinkState::reconnecting : LinkState::connecting;
        });
        timer_.expires_after(config_.connect_timeout);
        timer_.async_wait([self = this->shared_from_this(), a = attempt_](error_code ec) {
            if (ec || a != self->attempt_ || self->link_up_) return;
            // Cancelling makes the pending resolve/connect complete with operation_aborted.
            self->connect_timed_out_ = true;
            self->resolver_.cancel();
            error_code ignored;
            self->socket_.close(ignored);
        });
        connect_timed_out_ = false;
        resolver_.async_resolve(config_.host, std::to_string(config_.port),
                                [self = this->shared_from_this(), a = attempt_](error_code ec, tcp::resolver::results_type r) {
                                    self->on_resolve(ec, std::move(r), a);
                                });
    }

    void on_resolve(error_code ec, tcp::resolver::results_type results, std::uint64_t a) {
        if (stopped_ || a != attempt_) return;
        if (ec) return connect_failed(ec);
        boost::asio::async_connect(socket_, results, [self = this->shared_from_this(), a](error_code ec2, const tcp::endpoint&) {
            self->on_connect(ec2, a);
        });
    }

    void connect_failed(error_code ec) {
        std::string why = connect_timed_out_ ? "no answer within " + seconds_words(config_.connect_timeout)
                                             : ec.message();
        retry_later(std::string("cannot reach ") + Traits::endpoint + " at " + config_.host + ":" +
                    std::to_string(config_.port) + " (" + why + ")");
    }

    void on_connect(error_code ec, std::uint64_t a) {
        if (stopped_ || a != attempt_) return;
        if (ec) return connect_failed(ec);
        timer_.cancel();
        link_up_ = true;
        error_code ignored;
        socket_.set_option(tcp::no_delay(true), ignored);
        spdlog::debug("{}{} connected to {}:{}", where(), Traits::name, config_.host, config_.port);
        apply(client_.on_connected(now_ms()));
        do_read();
        arm_tick();
    }

    // --- read ------------------------------------------------------------------
    void do_read() {
        socket_.async_read_some(boost::asio::buffer(read_buf_),
                                [self = this->shared_from_this(), a = attempt_](error_code ec, std::size_t n) {
                                    self->on_read(ec, n, a);
                                });
    }

    void on_read(error_code ec, std::size_t n, std::uint64_t a) {
        if (stopped_ || a != attempt_ || !link_up_) return;
        if (ec) {
            if (ec == boost::asio::error::eof)
                return link_lost(Traits::peer_closed);
            return link_lost(std::string(Traits::endpoint) + " connection failed (" + ec.message() + ")");
        }
        apply(client_.on_bytes(std::string_view(read_buf_.data(), n), now_ms()));
        if (link_up_ && a == attempt_) {
            do_read();
            arm_tick();  // the ping deadline moved
        }
    }

    // --- write -----------------------------------------------------------------
    void enqueue(std::string bytes) {
        if (!link_up_) return;
        write_queue_bytes_ += bytes.size();
        write_queue_.push_back(std::move(bytes));
        if (write_queue_bytes_ > config_.max_write_queue_bytes)
            return link_lost(std::string(Traits::peer) + " does not read what Ringside sends (write queue over " +
                             std::to_string(config_.max_write_queue_bytes) + " bytes)");
        if (write_queue_.size() == 1) do_write();
    }

    void do_write() {
        write_started_ = std::chrono::steady_clock::now();
        boost::asio::async_write(socket_, boost::asio::buffer(write_queue_.front()),
                                 [self = this->shared_from_this(), a = attempt_](error_code ec, std::size_t) {
                                     self->on_write(ec, a);
                                 });
        arm_tick();
    }

    void on_write(error_code ec, std::uint64_t a) {
        if (stopped_ || a != attempt_ || !link_up_) return;
        write_started_.reset();
        if (ec) return link_lost(std::string(Traits::name) + " write failed (" + ec.message() + ")");
        write_queue_bytes_ -= write_queue_.front().size();
        write_queue_.pop_front();
        if (!write_queue_.empty()) do_write();
    }

    // --- timers ----------------------------------------------------------------
    void arm_tick() {
        if (!link_up_) return;
        auto now = now_ms();
        auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(60'000);
        if (auto d = client_.next_deadline()) {
            auto wait = *d - now;
            if (wait < std::chrono::milliseconds(0)) wait = std::chrono::milliseconds(0);
            due = std::min(due, std::chrono::steady_clock::now() + wait);
        }
        if (write_started_) due = std::min(due, *write_started_ + config_.write_timeout);
        tick_timer_.expires_at(due);
        tick_timer_.async_wait([self = this->shared_from_this(), a = attempt_](error_code ec) {
            if (ec || self->stopped_ || a != self->attempt_ || !self->link_up_) return;
            self->on_tick();
        });
    }

    void on_tick() {
        if (write_started_ && std::chrono::steady_clock::now() - *write_started_ >= config_.write_timeout)
            return link_lost(std::string(Traits::name) + " write timed out after " + seconds_words(config_.write_timeout));
        apply(client_.on_tick(now_ms()));
        arm_tick();
    }

    // --- client actions ----------------------------------------------------------
    void apply(ClientActions actions) {
        const auto link = attempt_;
        for (auto& action : actions) {
            if (stopped_ || link != attempt_) return;
            std::visit([this](auto& a) { handle(a); }, action);
        }
    }

    void handle(typename Traits::Write& w) { enqueue(std::move(w.bytes)); }

    void handle(typename Traits::Emit& e) {
        const auto at = now_ms();
        update([&](LinkStatus& s) {
            ++s.events_received;
            s.last_event_at = at;
        });
        if (on_event_) on_event_(std::move(e.event));
    }

    void handle(typename Traits::Close& c) { link_lost(c.reason); }

    void handle(typename Traits::LoggedIn& l) {
        backoff_ = config_.backoff_initial;
        update([](LinkStatus& s) { s.state = LinkState::connected; });
        spdlog::info("{}{}", where(), Traits::logged_in(config_, l));
    }

    void handle(typename Traits::LoginRefused&) {
        refused_ = true;
        update([](LinkStatus& s) { s.state = LinkState::login_refused; });
    }

    void handle(typename Traits::Warning& w) {
        update([](LinkStatus& s) { ++s.protocol_warnings; });
        spdlog::warn("{}{}", where(), w.what);
    }

    /// Every other action is the protocol's own (AMI's ActionID-matched responses).
    template <class Action>
    void handle(Action& a) { extras_.handle(a); }

    // --- losing and regaining the link -------------------------------------------
    void link_lost(const std::string& reason) {
        if (!link_up_) return;
        link_up_ = false;
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
        tick_timer_.cancel();
        write_queue_.clear();
        write_queue_bytes_ = 0;
        write_started_.reset();
        const auto link = attempt_;
        apply(client_.on_disconnected(now_ms()));  // LinkDown (and AMI's lost responses)
        if (link != attempt_) return;
        retry_later(reason);
    }

    void retry_later(const std::string& reason) {
        if (stopped_) return;
        timer_.cancel();
        // Jitter keeps many Ringside instances from hammering one PBX in step.
        std::uniform_real_distribution<double> jitter(0.8, 1.2);
        auto delay = std::chrono::milliseconds(static_cast<long long>(static_cast<double>(backoff_.count()) * jitter(rng_)));
        delay = std::min(delay, config_.backoff_max);
        backoff_ = std::min(backoff_ * 2, config_.backoff_max);
        const bool refused = refused_;
        update([&](LinkStatus& s) {
            s.last_error = reason;
            ++s.reconnects;
            s.state = refused ? LinkState::login_refused : LinkState::reconnecting;
        });
        spdlog::warn("{}{}; retrying in {}", where(), reason, seconds_words(delay));
        ++attempt_;  // handlers of the old link are now stale
        timer_.expires_after(delay);
        timer_.async_wait([self = this->shared_from_this(), a = attempt_](error_code ec) {
            if (ec || self->stopped_ || a != self->attempt_) return;
            self->do_connect();
        });
    }

    void do_stop() {
        if (stopped_) return;
        stopped_ = true;
        link_up_ = false;
        ++attempt_;
        error_code ignored;
        resolver_.cancel();
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
        timer_.cancel();
        tick_timer_.cancel();
        write_queue_.clear();
        extras_.clear();
        update([](LinkStatus& s) { s.state = LinkState::stopped; });
        spdlog::info("{}{} link stopped", where(), Traits::name);
    }
};

/// Extras for a protocol with no actions beyond the common ones.
struct NoExtras {
    void clear() {}
};

}  // namespace ringside::adapters
