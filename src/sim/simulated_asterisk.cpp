#include "ringside/sim/simulated_asterisk.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <unordered_map>

#include "ringside/ami/reader.hpp"

namespace ringside::sim {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using steady = std::chrono::steady_clock;

TrafficMix DemoConfig::default_demo_mix() {
    TrafficMix m;
    m.answered = 75;
    m.caller_cancels = 15;
    m.busy = 10;
    m.no_answer = 0;
    m.ring_min = std::chrono::milliseconds(3000);
    m.ring_max = std::chrono::milliseconds(8000);
    m.talk_min = std::chrono::milliseconds(10000);
    m.talk_max = std::chrono::milliseconds(45000);
    return m;
}

namespace {

void fail(error_code ec, const char* what) {
    if (ec == asio::error::operation_aborted) return;
    spdlog::debug("sim: {}: {}", what, ec.message());
}

struct Client {
    Client(asio::strand<asio::io_context::executor_type> strand, tcp::socket s, std::vector<Credentials> users,
           std::string challenge, std::uint64_t id_)
        : socket(std::move(s)), write_timer(strand), delay_timer(strand),
          session(std::move(users), std::move(challenge)), id(id_) {}

    tcp::socket socket;
    asio::steady_timer write_timer;
    asio::steady_timer delay_timer;
    std::array<char, 4096> rbuf{};
    ami::Reader reader;
    ServerSession session;
    std::deque<std::shared_ptr<const std::string>> queue;  // not yet handed to async_write
    std::vector<std::shared_ptr<const std::string>> inflight;
    std::size_t queued_bytes = 0;                          // queue + inflight
    std::uint64_t write_gen = 0;
    bool writing = false;
    bool reading_paused = false;
    bool close_after_flush = false;
    bool closed = false;
    std::uint64_t id;
};

struct Pending {
    steady::time_point due;
    std::uint64_t order;
    std::shared_ptr<const CallScript> script;
    std::size_t index;
    bool operator>(const Pending& o) const { return due != o.due ? due > o.due : order > o.order; }
};

}  // namespace

struct SimulatedAsterisk::Impl : std::enable_shared_from_this<SimulatedAsterisk::Impl> {
    Impl(asio::io_context& ioc, SimConfig c)
        : cfg(std::move(c)), strand(asio::make_strand(ioc)), acceptor(strand), event_timer(strand),
          rate_timer(strand), demo_timer(strand), rng(cfg.seed) {}

    SimConfig cfg;
    asio::strand<asio::io_context::executor_type> strand;
    tcp::acceptor acceptor;
    asio::steady_timer event_timer;
    asio::steady_timer rate_timer;
    asio::steady_timer demo_timer;
    std::mt19937_64 rng;  // challenges; strand only
    std::list<std::shared_ptr<Client>> clients;
    ChannelTable channels;
    std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending;
    std::uint64_t pending_order = 0;
    std::optional<steady::time_point> armed_for;
    bool stopped = false;
    std::uint64_t next_client_id = 1;
    steady::time_point refuse_until{};  // drop_clients: connections before this are closed at once

    // Traffic (strand only).
    std::optional<TrafficGenerator> rate_gen;
    RateConfig rate_cfg;
    steady::time_point rate_start;
    std::uint64_t rate_placed = 0;
    std::optional<TrafficGenerator> demo_gen;
    DemoConfig demo_cfg;
    ExtensionSource demo_source;

    // Ids are handed out under atomics so place_call can return the Linkedid at once.
    std::atomic<std::uint64_t> next_id{1};
    std::atomic<std::uint64_t> next_chan_seq{1};
    std::atomic<std::uint16_t> bound_port{0};
    std::atomic<std::uint64_t> n_clients{0}, n_calls{0}, n_events{0}, n_dropped{0}, n_live{0};
    std::atomic<std::uint64_t> n_originates{0};
    std::atomic<std::uint64_t> n_queue_pauses{0};
    // QueuePause: each device's last paused state (strand writes, any thread reads).
    mutable std::mutex paused_mutex;
    std::unordered_map<std::string, bool> paused;

    // ---- listener ----
    void start() {
        tcp::endpoint ep(asio::ip::make_address(cfg.host), cfg.port);
        acceptor.open(ep.protocol());
        acceptor.set_option(asio::socket_base::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen();
        bound_port = acceptor.local_endpoint().port();
        asio::post(strand, [self = shared_from_this()] { self->do_accept(); });
    }

    void do_accept() {
        if (stopped) return;
        acceptor.async_accept(asio::bind_executor(strand, [self = shared_from_this()](error_code ec, tcp::socket s) {
            if (ec) {
                fail(ec, "accept");
                if (ec == asio::error::operation_aborted || self->stopped) return;
            } else {
                self->on_accept(std::move(s));
            }
            self->do_accept();
        }));
    }

    void on_accept(tcp::socket s) {
        if (clients.size() >= cfg.max_clients || steady::now() < refuse_until) {
            error_code ignored;
            s.close(ignored);
            return;
        }
        error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        auto c = std::make_shared<Client>(strand, std::move(s), cfg.users, std::to_string(rng() % 2000000000ULL + 1),
                                          next_client_id++);
        clients.push_back(c);
        n_clients = clients.size();
        spdlog::debug("sim: client {} connected", c->id);
        send(c, std::make_shared<const std::string>(cfg.greeting + "\r\n"));
        do_read(c);
    }

    // ---- reading and actions ----
    void do_read(const std::shared_ptr<Client>& c) {
        if (c->closed) return;
        c->socket.async_read_some(asio::buffer(c->rbuf),
                                  asio::bind_executor(strand, [self = shared_from_this(), c](error_code ec, std::size_t n) {
                                      if (ec) {
                                          fail(ec, "read");
                                          self->close(c);
                                          return;
                                      }
                                      c->reader.put(std::string_view(c->rbuf.data(), n));
                                      self->process(c);
                                  }));
    }

    // Handles parsed actions until the reader needs more bytes (then reads
    // again) or a failed login must wait (then resumes after the delay).
    void process(const std::shared_ptr<Client>& c) {
        while (!c->closed) {
            auto item = c->reader.next();
            if (!item) {
                do_read(c);
                return;
            }
            auto* m = std::get_if<ami::Message>(&*item);
            if (!m) continue;  // clients send no greeting; limit errors drop the action
            auto reply = c->session.handle(*m, channels, now_ms(), cfg.close_on_auth_failure);
            if (reply.delay && cfg.auth_failure_delay.count() > 0) {
                c->delay_timer.expires_after(cfg.auth_failure_delay);
                c->delay_timer.async_wait(asio::bind_executor(
                    strand, [self = shared_from_this(), c, reply = std::move(reply)](error_code ec) {
                        if (ec || c->closed) return;
                        self->deliver_reply(c, reply);
                        self->process(c);
                    }));
                return;
            }
            deliver_reply(c, reply);
            if (reply.originate) place_originate(std::move(*reply.originate));
            if (reply.queue_pause) {
                std::lock_guard lk(paused_mutex);
                paused[reply.queue_pause->interface] = reply.queue_pause->paused;
                ++n_queue_pauses;
            }
        }
    }

    void deliver_reply(const std::shared_ptr<Client>& c, const ServerSession::Reply& reply) {
        send(c, std::make_shared<const std::string>(reply.bytes));
        if (reply.logged_in) {
            spdlog::debug("sim: client {} logged in", c->id);
            if (!cfg.replay.empty()) send(c, std::make_shared<const std::string>(cfg.replay));
        }
        if (reply.close) {
            c->close_after_flush = true;
            if (!c->writing) close(c);
        }
    }

    // ---- writing ----
    void send(const std::shared_ptr<Client>& c, std::shared_ptr<const std::string> bytes) {
        if (c->closed || c->close_after_flush) return;
        if (c->queued_bytes + bytes->size() > cfg.max_queued_bytes) {
            drop_slow(c, "write queue full");
            return;
        }
        c->queued_bytes += bytes->size();
        c->queue.push_back(std::move(bytes));
        if (!c->writing) do_write(c);
    }

    void do_write(const std::shared_ptr<Client>& c) {
        if (c->closed) return;
        if (c->queue.empty()) {
            c->writing = false;
            if (c->close_after_flush) close(c);
            return;
        }
        c->writing = true;
        c->inflight.clear();
        std::vector<asio::const_buffer> bufs;
        // Gather what is queued into one write: fewer syscalls at high call rates.
        while (!c->queue.empty() && bufs.size() < 256) {
            bufs.push_back(asio::buffer(*c->queue.front()));
            c->inflight.push_back(std::move(c->queue.front()));
            c->queue.pop_front();
        }
        const auto gen = ++c->write_gen;
        c->write_timer.expires_after(cfg.write_timeout);
        c->write_timer.async_wait(asio::bind_executor(strand, [self = shared_from_this(), c, gen](error_code ec) {
            if (ec || c->closed || !c->writing || c->write_gen != gen) return;
            self->drop_slow(c, "write timed out");
        }));
        asio::async_write(c->socket, bufs,
                          asio::bind_executor(strand, [self = shared_from_this(), c](error_code ec, std::size_t) {
                              c->write_timer.cancel();
                              if (ec) {
                                  fail(ec, "write");
                                  self->close(c);
                                  return;
                              }
                              for (const auto& b : c->inflight) c->queued_bytes -= b->size();
                              c->inflight.clear();
                              self->do_write(c);
                          }));
    }

    void drop_slow(const std::shared_ptr<Client>& c, const char* why) {
        if (c->closed) return;
        ++n_dropped;
        spdlog::warn("sim: dropping client {}: {} ({} bytes waiting)", c->id, why, c->queued_bytes);
        close(c);
    }

    void close(const std::shared_ptr<Client>& c) {
        if (c->closed) return;
        c->closed = true;
        error_code ignored;
        c->socket.shutdown(tcp::socket::shutdown_both, ignored);
        c->socket.close(ignored);
        c->write_timer.cancel();
        c->delay_timer.cancel();
        c->queue.clear();
        clients.remove(c);
        n_clients = clients.size();
        spdlog::debug("sim: client {} closed", c->id);
    }

    // ---- calls ----
    void schedule(std::shared_ptr<const CallScript> script, steady::time_point start) {
        if (stopped || script->events.empty()) return;
        pending.push(Pending{start + script->events.front().offset, pending_order++, std::move(script), 0});
        arm();
    }

    void arm() {
        if (pending.empty()) return;
        const auto due = pending.top().due;
        if (armed_for && *armed_for <= due) return;
        armed_for = due;
        event_timer.expires_at(due);  // cancels an earlier wait, whose handler then does nothing
        event_timer.async_wait(asio::bind_executor(strand, [self = shared_from_this()](error_code ec) {
            if (ec) return;
            self->armed_for.reset();
            self->run_due();
            self->arm();
        }));
    }

    void run_due() {
        const auto now = steady::now();
        while (!stopped && !pending.empty() && pending.top().due <= now) {
            Pending p = pending.top();
            pending.pop();
            const auto start = p.due - p.script->events[p.index].offset;
            broadcast(p.script->events[p.index].message);
            if (p.index + 1 < p.script->events.size()) {
                pending.push(Pending{start + p.script->events[p.index + 1].offset, pending_order++, p.script, p.index + 1});
            }
        }
    }

    void broadcast(const ami::Message& m) {
        channels.apply(m, now_ms());
        n_live = channels.size();
        auto bytes = std::make_shared<const std::string>(m.serialize());
        // Copy: send() may close (and so unlist) a slow client.
        const auto targets = clients;
        for (const auto& c : targets) {
            if (!c->session.events_on()) continue;
            send(c, bytes);
            ++n_events;
        }
    }

    std::string place(CallPlan plan) {
        const auto now = now_ms();
        plan.epoch_seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
        // Upper bounds of what one call takes: trunk + (Local;1, Local;2, device) per member.
        const std::uint64_t ids = 1 + 3 * plan.extensions.size();
        const std::uint64_t seqs = 1 + 2 * plan.extensions.size();
        plan.first_id = next_id.fetch_add(ids);
        plan.first_channel_seq = next_chan_seq.fetch_add(seqs);
        plan.start = now;
        auto script = std::make_shared<const CallScript>(script_call(plan));
        ++n_calls;
        asio::post(strand, [self = shared_from_this(), script, start = steady::now()] { self->schedule(script, start); });
        return script->linkedid;
    }

    /// Runs an accepted Originate as a call of its own (strand only).
    void place_originate(OriginatePlan o) {
        const auto now = now_ms();
        o.epoch_seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
        o.first_id = next_id.fetch_add(2);
        o.first_channel_seq = next_chan_seq.fetch_add(2);
        o.start = now;
        o.agent_answers = cfg.originate_answered;
        o.ring_time = cfg.originate_ring_time;
        o.far_ring_time = cfg.originate_far_ring_time;
        o.talk_time = cfg.originate_talk_time;
        auto script = std::make_shared<const CallScript>(script_originate(o));
        ++n_calls;
        ++n_originates;
        schedule(script, steady::now());
    }

    // ---- traffic ----
    void rate_tick() {
        if (stopped || !rate_gen) return;
        const double cps = std::max(rate_cfg.calls_per_second, 0.001);
        const auto elapsed = std::chrono::duration<double>(steady::now() - rate_start).count();
        auto due = static_cast<std::uint64_t>(elapsed * cps) + 1;
        if (rate_cfg.max_calls) due = std::min(due, rate_cfg.max_calls);
        // A stalled timer catches up, but never with more than one second's worth at once.
        const std::uint64_t cap = static_cast<std::uint64_t>(cps) + 1;
        for (std::uint64_t k = 0; rate_placed < due && k < cap; ++k, ++rate_placed) {
            if (auto plan = rate_gen->next(rate_cfg.extensions)) place(std::move(*plan));
        }
        if (rate_cfg.max_calls && rate_placed >= rate_cfg.max_calls) return;
        const auto next = rate_start + std::chrono::duration_cast<steady::duration>(
                                           std::chrono::duration<double>(static_cast<double>(rate_placed) / cps));
        rate_timer.expires_at(next);
        rate_timer.async_wait(asio::bind_executor(strand, [self = shared_from_this()](error_code ec) {
            if (!ec) self->rate_tick();
        }));
    }

    void demo_tick() {
        if (stopped || !demo_gen) return;
        std::vector<std::string> exts;
        if (demo_source) exts = demo_source();
        const auto now = now_ms();
        std::erase_if(exts, [&](const std::string& e) { return !channels.extension_free(e, now, demo_cfg.wrap_up); });
        if (auto plan = demo_gen->next(exts)) place(std::move(*plan));
        demo_timer.expires_after(demo_cfg.interval);
        demo_timer.async_wait(asio::bind_executor(strand, [self = shared_from_this()](error_code ec) {
            if (!ec) self->demo_tick();
        }));
    }

    void stop_traffic() {
        rate_gen.reset();
        demo_gen.reset();
        demo_source = nullptr;
        rate_timer.cancel();
        demo_timer.cancel();
    }

    void stop() {
        if (stopped) return;
        stopped = true;
        stop_traffic();
        error_code ignored;
        acceptor.close(ignored);
        event_timer.cancel();
        pending = {};
        const auto all = clients;
        for (const auto& c : all) close(c);
        channels.clear();
        n_live = 0;
    }
};

SimulatedAsterisk::SimulatedAsterisk(boost::asio::io_context& ioc, SimConfig config)
    : impl_(std::make_shared<Impl>(ioc, std::move(config))) {}

SimulatedAsterisk::~SimulatedAsterisk() { stop(); }

void SimulatedAsterisk::start() { impl_->start(); }

void SimulatedAsterisk::stop() {
    asio::post(impl_->strand, [impl = impl_] { impl->stop(); });
}

std::uint16_t SimulatedAsterisk::port() const noexcept { return impl_->bound_port; }

std::string SimulatedAsterisk::place_call(CallPlan plan) { return impl_->place(std::move(plan)); }

void SimulatedAsterisk::start_rate(RateConfig config) {
    asio::post(impl_->strand, [impl = impl_, config = std::move(config)]() mutable {
        if (impl->stopped) return;
        impl->rate_gen.emplace(config.mix, impl->cfg.seed ^ 0x5a5a5a5aULL);
        impl->rate_cfg = std::move(config);
        impl->rate_start = steady::now();
        impl->rate_placed = 0;
        impl->rate_tick();
    });
}

void SimulatedAsterisk::start_demo(DemoConfig config, ExtensionSource source) {
    asio::post(impl_->strand, [impl = impl_, config = std::move(config), source = std::move(source)]() mutable {
        if (impl->stopped) return;
        impl->demo_gen.emplace(config.mix, impl->cfg.seed ^ 0xa5a5a5a5ULL);
        impl->demo_cfg = std::move(config);
        impl->demo_source = std::move(source);
        // The first call comes one interval after start, when agents have had time to connect.
        impl->demo_timer.expires_after(impl->demo_cfg.interval);
        impl->demo_timer.async_wait(asio::bind_executor(impl->strand, [impl](error_code ec) {
            if (!ec) impl->demo_tick();
        }));
    });
}

void SimulatedAsterisk::drop_clients(std::chrono::milliseconds refuse_for) {
    asio::post(impl_->strand, [impl = impl_, refuse_for] {
        impl->refuse_until = steady::now() + refuse_for;
        const auto all = impl->clients;
        for (const auto& c : all) impl->close(c);
    });
}

void SimulatedAsterisk::stop_traffic() {
    asio::post(impl_->strand, [impl = impl_] { impl->stop_traffic(); });
}

SimCounters SimulatedAsterisk::counters() const noexcept {
    SimCounters c;
    c.clients = impl_->n_clients;
    c.calls_placed = impl_->n_calls;
    c.events_sent = impl_->n_events;
    c.clients_dropped_slow = impl_->n_dropped;
    c.live_channels = impl_->n_live;
    c.originates = impl_->n_originates;
    c.queue_pauses = impl_->n_queue_pauses;
    std::lock_guard lk(impl_->paused_mutex);
    for (const auto& [iface, on] : impl_->paused) c.interfaces_paused += on ? 1 : 0;
    return c;
}

bool SimulatedAsterisk::interface_paused(const std::string& interface) const {
    std::lock_guard lk(impl_->paused_mutex);
    auto it = impl_->paused.find(interface);
    return it != impl_->paused.end() && it->second;
}

}  // namespace ringside::sim
