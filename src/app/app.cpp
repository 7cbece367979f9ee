// `ringside serve` and `ringside demo`: wires config, storage, the call engine,
// the PBX links and the HTTP/WebSocket server onto one io_context.
//
// Threads: the io_context runs on two threads. The call engine (CallService)
// lives on one strand; each PBX link posts its events there and never waits.
// SIGINT/SIGTERM stop the links first, let the engine finish what was posted,
// then close the server: every call record written so far stays written, and
// calls still in progress are closed or continued at the next start (after the
// PBX's resync). SIGHUP re-reads the TLS certificate and key; nothing else
// stops or reconnects. [retention] runs on a thread of its own (retention.hpp).
#include "app.hpp"
#include "connections.hpp"
#include "retention.hpp"
#include "service_lock.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <boost/asio/defer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "ringside/ami/connection.hpp"
#include "ringside/app/config.hpp"
#include "ringside/core/call_service.hpp"
#include "ringside/directory/ldap_directory.hpp"
#include "ringside/esl/connection.hpp"
#include "ringside/server/pop_hub.hpp"
#include "ringside/server/server.hpp"
#include "ringside/sim/simulated_asterisk.hpp"
#include "ringside/storage/demo_seed.hpp"
#include "ringside/storage/user_directory_cache.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "stores.hpp"
#include "ringside/storage/write_behind.hpp"
#include "ringside/sip/endpoint.hpp"
#include "sip_links.hpp"

namespace ringside::app {

Config load_or_explain(const std::string& file);  // commands.cpp

namespace {

namespace asio = boost::asio;

void setup_logging(const std::string& level) {
    auto logger = spdlog::stderr_color_mt("ringside");
    spdlog::set_default_logger(logger);
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::flush_on(spdlog::level::info);
}

/// Raises the open-files limit to its hard limit (systemd's default soft
/// limit is 1,024, which a crowd of idle sockets exhausts) and keeps the
/// connection caps below it, with room for the database, the PBX links and
/// the log; says in the log what it found and chose.
void fit_connection_caps(Config& cfg) {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        spdlog::warn("open files: cannot read the limit ({}); connection caps left as configured", std::strerror(errno));
        return;
    }
    const auto was = lim.rlim_cur;
    if (lim.rlim_cur != lim.rlim_max) {
        rlimit raised = lim;
        raised.rlim_cur = lim.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
        else spdlog::warn("open files: cannot raise the limit from {} to {}: {}", lim.rlim_cur, lim.rlim_max, std::strerror(errno));
    }
    const auto limit = lim.rlim_cur == RLIM_INFINITY ? std::uint64_t{1} << 30 : static_cast<std::uint64_t>(lim.rlim_cur);
    // Descriptors that are not client connections: SQLite and its WAL, PBX links, SIP sockets, the listener, logs.
    const std::uint64_t reserve = std::max<std::uint64_t>(64 + 2 * cfg.pbx.size(), limit / 8);
    const auto fits = static_cast<int>(std::min<std::uint64_t>(limit > reserve ? limit - reserve : 16, 1000000));
    if (cfg.max_connections > fits) {
        spdlog::warn("open files: [server] max_connections = {} does not fit the limit of {} open files; serving at most {} "
                     "connections (raise LimitNOFILE to serve more)",
                     cfg.max_connections, limit, fits);
        cfg.max_connections = std::max(fits, 16);
        cfg.max_connections_per_address = std::min(cfg.max_connections_per_address, cfg.max_connections);
    }
    spdlog::info("open files: limit {}{}; at most {} connections, {} from one address", limit,
                 was == lim.rlim_cur ? std::string() : " (raised from " + std::to_string(was) + ")", cfg.max_connections,
                 cfg.max_connections_per_address);
}

/// A Prometheus histogram of how long PBX events wait and take in the
/// engine: from the moment the adapter read them off the socket to the moment
/// their pops were handed to the hub. Lock-free; read from any thread.
class EngineLatency {
public:
    static constexpr std::array<double, 12> bounds_ms{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250};

    void observe(std::chrono::steady_clock::duration d) {
        double ms = std::chrono::duration<double, std::milli>(d).count();
        std::size_t i = 0;
        while (i < bounds_ms.size() && ms > bounds_ms[i]) ++i;
        buckets_[i].fetch_add(1, std::memory_order_relaxed);
        sum_us_.fetch_add(static_cast<std::uint64_t>(ms * 1000), std::memory_order_relaxed);
    }

    std::string render() const {
        std::ostringstream out;
        out << "# HELP ringside_engine_event_latency_seconds PBX event read off the socket to its pops handed "
               "to the hub.\n# TYPE ringside_engine_event_latency_seconds histogram\n";
        std::uint64_t cum = 0;
        for (std::size_t i = 0; i < bounds_ms.size(); ++i) {
            cum += buckets_[i].load(std::memory_order_relaxed);
            out << "ringside_engine_event_latency_seconds_bucket{le=\"" << bounds_ms[i] / 1000 << "\"} " << cum << "\n";
        }
        cum += buckets_[bounds_ms.size()].load(std::memory_order_relaxed);
        out << "ringside_engine_event_latency_seconds_bucket{le=\"+Inf\"} " << cum << "\n"
            << "ringside_engine_event_latency_seconds_sum " << static_cast<double>(sum_us_.load()) / 1e6 << "\n"
            << "ringside_engine_event_latency_seconds_count " << cum << "\n";
        return out.str();
    }

private:
    std::array<std::atomic<std::uint64_t>, bounds_ms.size() + 1> buckets_{};
    std::atomic<std::uint64_t> sum_us_{0};
};

/// Customer lookups off the engine's strand: asked on a pool thread of
/// their own (so a slow query holds neither the engine nor the HTTP side's
/// blocking pool), answered back on the strand. A failed lookup answers "no
/// customer", loudly.
class PooledLookup final : public CustomerLookup {
public:
    PooledLookup(asio::thread_pool& pool, server::EngineStrand engine, Storage& store)
        : pool_(pool), engine_(std::move(engine)), store_(store) {}

    void find_by_phone(const std::string& e164, Done done) override {
        // Nothing of this object is used by the task: the pool's threads
        // are joined after it is gone (the store and the strand outlive both).
        asio::post(pool_, [&store = store_, engine = engine_, e164, done = std::move(done)]() mutable {
            std::optional<CustomerContext> ctx;
            try {
                ctx = store.customer_context_by_phone(e164);
            } catch (const std::exception& e) {
                spdlog::error("customer lookup failed, the call pops as an unknown caller: {}", e.what());
            }
            asio::post(engine, [done = std::move(done), ctx = std::move(ctx)]() mutable {
                try {
                    done(std::move(ctx));
                } catch (const std::exception& e) {
                    // As for a PBX event: a storage failure must not kill the engine.
                    spdlog::error("could not process a call's events after its customer lookup: {}", e.what());
                }
            });
        });
    }

private:
    asio::thread_pool& pool_;
    server::EngineStrand engine_;
    Storage& store_;
};

/// Everything one running Ringside holds. Built in dependency order and torn
/// down in reverse by stop().
class Runtime {
public:
    explicit Runtime(const Config& cfg)
        : cfg_(cfg),
          lock_(cfg.database_url.empty() ? std::make_unique<ServiceLock>(cfg.database, "serve") : nullptr),
          engine_(asio::make_strand(ioc_)),
          opened_(open_store(cfg)),
          store_(*opened_.store),
          records_(store_, [](const std::string& e) { spdlog::error("storage: {}", e); }),
          directory_(store_, [](const std::string& e) { spdlog::warn("{}", e); }),
          phones_(cfg.default_region),
          hub_(hub_options()),
          lookup_(lookup_pool_, engine_, records_),
          calls_(EnginePorts{records_, directory_, records_, records_}, hub_, phones_, CallServiceOptions{.pop_internal = cfg.pop_internal}, lookup_),
          server_(ioc_, server_options(cfg), records_, hub_, calls_, engine_, phones_, [this] { return link_metrics(); }),
          signals_(ioc_, SIGINT, SIGTERM),
          reload_(ioc_, SIGHUP),
          connections_(std::make_shared<ConnectionManager>(ioc_, records_, [this](pbx::Event ev) { post_event(std::move(ev)); })),
          retention_(records_, cfg.retention) {
        register_link_types();
        server_.set_pbx_control(connections_);
    }

    Storage& store() { return records_; }
    std::optional<SqliteStore::MigrationBackup> migration_backup() const {
        return opened_.sqlite ? opened_.sqlite->pre_migration_backup() : std::nullopt;
    }
    int schema_version() const { return opened_.schema_version; }
    const std::string& database() const { return opened_.description; }
    const PhoneNormalizer& phones() const { return phones_; }
    server::PopHub& hub() { return hub_; }
    /// An agent's state now; any thread.
    AgentStatus agent_state(const AgentId& agent) const { return server_.agent_state(agent); }
    asio::io_context& ioc() { return ioc_; }

    /// Binds the server and connects every enabled PBX (config file and database).
    void start() {
        server_.set_dialer(&dialer_);
        server_.set_queue_pauser(&pauser_);
        server_.start();
        connections_->start(cfg_.pbx);
        retention_.start();
        signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
            if (ec) return;
            spdlog::info("signal {}: shutting down", sig);
            stop();
        });
        wait_reload();
    }

    /// SIGHUP: the renewed certificate (certbot's deploy hook, say) is served
    /// to new connections; calls, PBX links and open sockets carry on.
    void wait_reload() {
        reload_.async_wait([this](const boost::system::error_code& ec, int) {
            if (ec) return;
            if (!server_.tls()) {
                spdlog::info("SIGHUP: TLS is off ([server] tls_certificate is not set); nothing to re-read");
            } else if (auto r = server_.reload_tls(); r.ok) {
                spdlog::info("SIGHUP: TLS certificate re-read; new connections get {}", r.message);
            } else {
                spdlog::error("SIGHUP: TLS certificate not changed, still serving the previous one: {}", r.message);
            }
            wait_reload();
        });
    }

    /// The link types this build runs, by PbxConfig::type. Add a type here:
    /// a Link wrapper (below) and one register_type call.
    void register_link_types() {
        connections_->register_type("asterisk-ami", [this](const PbxConfig& p, EventSink sink) -> std::unique_ptr<Link> {
            ami::ConnectionConfig c;
            c.pbx = PbxId{p.id};
            c.host = p.host;
            c.port = p.port;
            c.username = p.username;
            c.secret = p.secret;
            c.md5 = p.md5;
            c.ping_interval = std::chrono::seconds(p.ping_interval_seconds);
            return std::make_unique<AmiLink>(ioc_.get_executor(), c, p, std::move(sink));
        });
        connections_->register_type("freeswitch-esl", [this](const PbxConfig& p, EventSink sink) -> std::unique_ptr<Link> {
            esl::ConnectionConfig c;
            c.pbx = PbxId{p.id};
            c.host = p.host;
            c.port = p.port;
            c.password = p.password;
            return std::make_unique<EslLink>(ioc_.get_executor(), c, p, std::move(sink));
        });
        connections_->register_type("sip", [this](const PbxConfig& p, EventSink sink) -> std::unique_ptr<Link> {
            std::vector<std::string> exts;  // watched when the config names none (mode watch)
            for (const auto& u : records_.list_users())
                if (!u.disabled && u.extension) exts.push_back(u.extension->value());
            auto ep = make_sip_endpoint(ioc_.get_executor(), p, std::move(exts), std::move(sink));
            if (!ep) return nullptr;
            return std::make_unique<SipLink>(std::move(ep));
        });
        // "webhook" is built into the ConnectionManager.
    }

    /// Every link's events: never block the link's read loop, the engine takes it from here.
    /// Events wait in one inbox, in arrival order, and one handler on the
    /// engine's strand takes all that are there: a read that brought twenty
    /// events costs one hand-over (a wake-up of the other thread), not twenty.
    /// A profile at 20 calls/s had 6 % of the server's CPU in those wake-ups.
    /// (Deferring the hand-over to the reading thread saved no more CPU and
    /// left the engine behind that thread's queue: posted, the idle thread
    /// takes it at once.)
    void post_event(pbx::Event ev) {
        bool first = false;
        {
            std::lock_guard lk(inbox_mutex_);
            first = inbox_.empty();
            inbox_.push_back(Inbound{std::move(ev), std::chrono::steady_clock::now()});
        }
        if (first) asio::post(engine_, [this] { drain_inbox(); });
    }

    /// On the engine's strand: every event that waits, oldest first.
    void drain_inbox() {
        {
            std::lock_guard lk(inbox_mutex_);
            draining_.swap(inbox_);  // inbox_ takes the emptied vector's storage
        }
        for (const auto& in : draining_) {
            feed(in.event);
            latency_.observe(std::chrono::steady_clock::now() - in.received);
        }
        draining_.clear();
    }

    /// Runs until stop(); blocks the calling thread (it is one of the two).
    void run() {
        std::thread second([this] { ioc_.run(); });
        ioc_.run();
        second.join();
    }

    void stop() {
        if (stopping_.exchange(true)) return;
        retention_.stop();
        connections_->stop();
        // Whatever the links posted before they stopped runs before this.
        asio::post(engine_, [this] {
            auto s = calls_.stats();
            spdlog::info("engine drained: {} calls in progress left open for the next start", s.active_calls);
            signals_.cancel();
            reload_.cancel();
            server_.stop();
        });
    }

    std::uint16_t port() const { return server_.port(); }
    bool stopping() const { return stopping_.load(); }

private:
    void feed(const pbx::Event& ev) {
        try {
            calls_.on_pbx_event(ev);
            // A link that (re)connected: a restarted PBX forgot its queue pauses.
            if (std::holds_alternative<pbx::ResyncBegin>(ev.payload)) server_.reapply_agent_states(ev.pbx);
            if (std::holds_alternative<pbx::ResyncEnd>(ev.payload)) {
                // Records a previous run left open, for calls this PBX no longer has.
                calls_.close_orphans(ev.pbx, ev.at);
            }
        } catch (const std::exception& e) {
            // A storage failure must not kill the engine; the event is lost, loudly.
            spdlog::error("pbx {}: could not process an event: {}", ev.pbx.value(), e.what());
        }
    }

    /// seq starts from this process's start time so it keeps growing across
    /// restarts: a browser's resume after a restart then asks for less than
    /// everything the new process sent, and gets all of it.
    static server::PopHubOptions hub_options() {
        server::PopHubOptions o;
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(now_ms().time_since_epoch()).count();
        o.first_seq = static_cast<std::uint64_t>(secs) * 1'000'000 + 1;
        return o;
    }

    static server::ServerOptions server_options(const Config& cfg) {
        server::ServerOptions o;
        o.listen = cfg.listen.host.find(':') != std::string::npos
                       ? "[" + cfg.listen.host + "]:" + std::to_string(cfg.listen.port)
                       : cfg.listen.host + ":" + std::to_string(cfg.listen.port);
        o.web_root = cfg.web_root;
        o.customer_tiers = cfg.customer_tiers;
        o.session_ttl = std::chrono::hours(cfg.session_hours);
        o.cookie_secure = cfg.cookie_secure;
        o.tls_certificate = cfg.tls_certificate;
        o.tls_private_key = cfg.tls_private_key;
        o.allowed_origins = cfg.allowed_origins;
        o.ws_per_user = static_cast<std::size_t>(cfg.max_websockets_per_user);
        o.max_connections = static_cast<std::size_t>(cfg.max_connections);
        o.max_connections_per_address = static_cast<std::size_t>(cfg.max_connections_per_address);
        o.header_timeout = std::chrono::seconds(cfg.header_timeout_seconds);
        o.trusted_proxies = cfg.trusted_proxies;
        o.service_level_seconds = cfg.service_level_seconds;
        o.agent_states = cfg.agent_states;
        if (cfg.ldap) {
            o.directory = std::make_shared<directory::LdapDirectory>(*cfg.ldap);
            o.directory_recheck = cfg.ldap->recheck;
        }
        return o;
    }

    /// Prometheus lines for every PBX link.
    std::string link_metrics() {
        std::ostringstream out;
        out << latency_.render();
        out << "# HELP ringside_storage_queued_writes Call-record writes waiting for the disk.\n"
               "# TYPE ringside_storage_queued_writes gauge\nringside_storage_queued_writes "
            << records_.queued() << "\n# HELP ringside_storage_failed_writes_total Call-record writes the store refused.\n"
               "# TYPE ringside_storage_failed_writes_total counter\nringside_storage_failed_writes_total "
            << records_.failed_writes()
            << "\n# HELP ringside_storage_coalesced_writes_total Call-record writes skipped: a later write of the call "
               "in the same batch carried its whole record.\n"
               "# TYPE ringside_storage_coalesced_writes_total counter\nringside_storage_coalesced_writes_total "
            << records_.coalesced_writes()
            << "\n# HELP ringside_storage_unavailable 1 while the database is unreachable (call records are kept "
               "in memory and retried).\n"
               "# TYPE ringside_storage_unavailable gauge\nringside_storage_unavailable "
            << (records_.unavailable() ? 1 : 0)
            << "\n# HELP ringside_storage_retries_total Attempts to store call records that found the database "
               "unreachable.\n"
               "# TYPE ringside_storage_retries_total counter\nringside_storage_retries_total "
            << records_.retries()
            << "\n# HELP ringside_storage_dropped_writes_total Call-record updates dropped while the database was "
               "unreachable and the queue full (never a call's final record).\n"
               "# TYPE ringside_storage_dropped_writes_total counter\nringside_storage_dropped_writes_total "
            << records_.dropped_writes() << "\n";
        out << connections_->metrics();
        return out.str();
    }

    /// The protocol links, as the ConnectionManager runs them.
    class AmiLink final : public Link {
    public:
        AmiLink(asio::any_io_executor ex, ami::ConnectionConfig c, const PbxConfig& p, EventSink sink)
            : conn_(ex, std::move(c), std::move(sink)), dial_tech_(p.dial_tech.empty() ? "PJSIP" : p.dial_tech),
              dial_context_(p.dial_context.empty() ? "from-internal" : p.dial_context) {}
        void start() override { conn_.start(); }
        void stop() override { conn_.stop(); }
        adapters::LinkStatus status() const override { return conn_.status(); }
        /// Click-to-dial: Originate the agent's phone into the dial-out context.
        DialStart dial(const DialRequest& r, std::function<void(const DialOutcome&)> done) {
            if (conn_.status().state != ami::LinkState::connected) return DialStart::link_down;
            ami::OriginateRequest o;
            o.channel = dial_tech_ + "/" + r.extension.value();
            o.context = dial_context_;
            o.exten = r.number;
            o.caller_id = "Ringside <" + r.extension.value() + ">";
            if (!ami::originate_action(o)) return DialStart::invalid;
            conn_.originate(std::move(o), [done = std::move(done)](const ami::client_action::OriginateResult& res) {
                done(DialOutcome{res.ok, res.reason});
            });
            return DialStart::accepted;
        }
        /// Agent state: QueuePause of the agent's device in all their queues.
        /// Sent now, or after the next login while the link is down. False
        /// when the request cannot be sent (characters AMI cannot carry).
        bool queue_pause(const QueuePauseRequest& r, std::function<void(bool ok, std::string message)> done) {
            ami::QueuePauseRequest q;
            q.interface = dial_tech_ + "/" + r.extension.value();
            q.paused = r.paused;
            q.reason = r.reason;
            auto action = ami::queue_pause_action(q);
            if (!action) return false;
            conn_.send_action(std::move(*action), [done = std::move(done)](const ami::client_action::Response& res) {
                if (res.lost) return done(false, "link lost before Asterisk answered");
                const bool ok = ami::iequals(res.response.get("Response"), "Success");
                done(ok, ok ? std::string() : std::string(res.response.get("Message")));
            });
            return true;
        }

    private:
        ami::Connection conn_;
        std::string dial_tech_, dial_context_;
    };
    class EslLink final : public Link {
    public:
        EslLink(asio::any_io_executor ex, esl::ConnectionConfig c, const PbxConfig& p, EventSink sink)
            : conn_(ex, std::move(c), std::move(sink)), dial_context_(p.dial_context.empty() ? "default" : p.dial_context) {}
        void start() override { conn_.start(); }
        void stop() override { conn_.stop(); }
        adapters::LinkStatus status() const override { return conn_.status(); }
        /// Click-to-dial: bgapi originate user/<extension> <number> XML <context>.
        DialStart dial(const DialRequest& r, std::function<void(const DialOutcome&)> done) {
            if (conn_.status().state != esl::LinkState::connected) return DialStart::link_down;
            esl::OriginateRequest o;
            o.endpoint = "user/" + r.extension.value();
            o.context = dial_context_;
            o.number = r.number;
            o.caller_id_number = r.extension.value();
            if (!esl::originate_command(o, "")) return DialStart::invalid;
            conn_.originate(std::move(o), [done = std::move(done)](const esl::OriginateResult& res) {
                done(DialOutcome{res.ok, res.reason});
            });
            return DialStart::accepted;
        }

    private:
        esl::Connection conn_;
        std::string dial_context_;
    };
    /// A SIP endpoint (adapters/sip): UDP and TCP on the listen address.
    class SipLink final : public Link {
    public:
        explicit SipLink(std::unique_ptr<sip::Endpoint> ep) : ep_(std::move(ep)) {}
        void start() override { ep_->start(); }
        void stop() override { ep_->stop(); }
        adapters::LinkStatus status() const override { return ep_->status(); }

    private:
        std::unique_ptr<sip::Endpoint> ep_;
    };

    Config cfg_;
    // Before the store: held while anything below has the SQLite file open
    // (none on PostgreSQL, which the nodes of a site share by design).
    std::unique_ptr<ServiceLock> lock_;
    asio::io_context ioc_{2};
    server::EngineStrand engine_;
    OpenedStore opened_;
    Storage& store_;
    // Call-record writes leave the engine's thread (see write_behind.hpp);
    // destroyed before store_, it applies what is still queued first.
    WriteBehindStore records_;
    // Who answers each extension, in memory: no read per ring on the engine's strand.
    UserDirectoryCache directory_;
    PhoneNormalizer phones_;
    server::PopHub hub_;
    // Customer lookups' threads: destroyed (joined) after the engine, before the store.
    asio::thread_pool lookup_pool_{2};
    PooledLookup lookup_;
    CallService calls_;
    server::Server server_;
    asio::signal_set signals_;
    asio::signal_set reload_;   // SIGHUP
    std::atomic<bool> stopping_{false};
    EngineLatency latency_;
    // PBX events on their way to the engine (post_event). draining_ is the engine strand's.
    struct Inbound {
        pbx::Event event;
        std::chrono::steady_clock::time_point received;
    };
    std::mutex inbox_mutex_;
    std::vector<Inbound> inbox_;
    std::vector<Inbound> draining_;
    // Last: its links post into everything above. Shared with the server (admin routes, webhooks).
    std::shared_ptr<ConnectionManager> connections_;
    // [retention]'s daily run, on its own thread; destroyed first, so a run
    // in progress ends before the stores close.
    RetentionJob retention_;

    // ---- click-to-dial: the PBX's link found through the connection manager
    // (the named one, else the first enabled one of the config file), then
    // that link's originate.
    struct LinkDialer final : Dialer {
        Runtime& rt;
        explicit LinkDialer(Runtime& r) : rt(r) {}

        DialStart dial(const DialRequest& r, std::function<void(const DialOutcome&)> done) override {
            std::vector<std::string> ids;
            if (!r.pbx.value().empty()) ids.push_back(r.pbx.value());
            else
                for (const auto& p : rt.cfg_.pbx)
                    if (p.enabled && (p.type == "asterisk-ami" || p.type == "freeswitch-esl")) ids.push_back(p.id);
            for (const auto& id : ids) {
                std::optional<DialStart> verdict;
                rt.connections_->with_link(id, [&](Link& link) {
                    if (auto* ami_link = dynamic_cast<AmiLink*>(&link)) verdict = ami_link->dial(r, std::move(done));
                    else if (auto* esl_link = dynamic_cast<EslLink*>(&link)) verdict = esl_link->dial(r, std::move(done));
                });
                if (verdict) return *verdict;
            }
            return DialStart::no_pbx;
        }
    };
    LinkDialer dialer_{*this};

    // ---- agent states on the PBX: every AMI link pauses the agent's device
    // in their queues (the agent's PBX is not known, and a device that is no
    // member of a PBX's queues is refused there harmlessly); the other types
    // cannot apply it yet.
    struct LinkPauser final : QueuePauser {
        Runtime& rt;
        explicit LinkPauser(Runtime& r) : rt(r) {}

        QueuePauseStart apply(const QueuePauseRequest& r, std::function<void(const QueuePauseOutcome&)> done) override {
            QueuePauseStart out;
            auto shared = std::make_shared<std::function<void(const QueuePauseOutcome&)>>(std::move(done));
            rt.connections_->for_each_link([&](const std::string& id, Link& link) {
                if (!r.pbx.value().empty() && r.pbx.value() != id) return;
                auto* ami_link = dynamic_cast<AmiLink*>(&link);
                if (ami_link && ami_link->queue_pause(r, [id, shared](bool ok, std::string message) {
                        (*shared)(QueuePauseOutcome{PbxId(id), ok, std::move(message)});
                    }))
                    out.sent.push_back(PbxId(id));
                else
                    out.not_applied.push_back(PbxId(id));
            });
            return out;
        }
    };
    LinkPauser pauser_{*this};
};

void log_migration_backup(const std::optional<SqliteStore::MigrationBackup>& b, int now) {
    if (b)
        spdlog::info("database upgraded from schema version {} to {}; the file as it was is kept at {}",
                     b->from_version, now, b->file.string());
}

}  // namespace

int run_serve(const std::string& config_file) {
    auto cfg = load_or_explain(config_file);
    setup_logging(cfg.log_level);
    fit_connection_caps(cfg);
    Runtime rt(cfg);
    log_migration_backup(rt.migration_backup(), rt.schema_version());
    rt.start();
    spdlog::info("ringside {} listening on {}://{}:{} ({} PBX connection(s), database: {})", RINGSIDE_VERSION,
                 cfg.tls_certificate.empty() ? "http" : "https", cfg.listen.host, rt.port(), cfg.pbx.size(),
                 rt.database());
    rt.run();
    spdlog::info("stopped");
    return 0;
}

int run_demo(const DemoOptions& o) {
    auto listen = parse_host_port(o.listen);
    if (!listen) throw UsageError("--listen must be host:port, e.g. 127.0.0.1:8080");
    Config cfg;
    cfg.listen = *listen;
    cfg.web_root = default_web_root();
    cfg.database = std::filesystem::path(o.data_dir) / "ringside.db";
    cfg.default_region = "IR";
    setup_logging("info");
    fit_connection_caps(cfg);

    // The simulated Asterisk runs on its own io_context so the demo PBX and
    // Ringside share nothing but a loopback TCP connection, as in production.
    asio::io_context pbx_ioc;
    sim::SimConfig sc;
    sc.users = {{"ringside", "demo-secret"}};
    sim::SimulatedAsterisk pbx(pbx_ioc, sc);
    pbx.start();

    PbxConfig p;
    p.id = "demo";
    p.type = "asterisk-ami";
    p.host = "127.0.0.1";
    p.port = pbx.port();
    p.username = "ringside";
    p.secret = "demo-secret";
    cfg.pbx.push_back(p);

    Runtime rt(cfg);
    log_migration_backup(rt.migration_backup(), rt.schema_version());
    seed_demo(rt.store(), rt.phones());
    rt.start();

    // Calls go to the agents who have the console open right now.
    std::vector<std::pair<AgentId, std::string>> agents;
    for (const auto& u : rt.store().list_users())
        if (u.extension && !u.disabled) agents.emplace_back(u.username, u.extension->value());
    auto& hub = rt.hub();
    sim::DemoConfig dc;
    dc.mix.callers = demo_caller_numbers();
    // Only agents who are ready get calls: their state, with its wrap-up
    // after each call, decides. The simulated PBX keeps a short wrap-up of its
    // own, only to cover the moment between a hang-up and the state's change.
    dc.wrap_up = std::chrono::seconds(2);
    pbx.start_demo(dc, [&hub, &rt, agents] {
        std::vector<std::string> exts;
        for (const auto& [user, ext] : agents)
            if (hub.subscriber_count(user) > 0 && rt.agent_state(user).state == WorkState::ready) exts.push_back(ext);
        return exts;
    });
    std::thread pbx_thread([&] { pbx_ioc.run(); });

    std::cout << "\nRingside demo: open http://" << cfg.listen.host << ":" << rt.port() << "/\n"
              << "Sign in as an agent; the simulated PBX calls the extensions of signed-in agents who are Ready every "
              << std::chrono::duration_cast<std::chrono::seconds>(dc.interval).count() << " s.\n\n";
    for (const auto& l : demo_logins())
        std::cout << "  " << l.username << " / " << l.password << "  (" << to_string(l.role)
                  << (l.extension ? ", extension " + *l.extension : std::string{}) << ")\n";
    std::cout << "\nData: " << cfg.database.string() << "   Stop: Ctrl-C\n" << std::endl;

    rt.run();
    pbx.stop();
    pbx_ioc.stop();
    pbx_thread.join();
    return 0;
}

}  // namespace ringside::app
