#pragma once
// Internal to ringside_server: what the listener, the HTTP sessions, the
// WebSocket sessions and the route handlers share.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include "ringside/core/call_service.hpp"
#include "ringside/core/model.hpp"
#include "ringside/core/phone.hpp"
#include "ringside/server/auth.hpp"
#include "ringside/server/client_address.hpp"
#include "ringside/server/metrics.hpp"
#include "ringside/server/pbx_control.hpp"
#include "ringside/server/pop_hub.hpp"
#include "ringside/server/router.hpp"
#include "ringside/server/server.hpp"
#include "ringside/storage/store.hpp"

// Only the TLS code needs their definitions (and OpenSSL's headers).
namespace boost::asio::ssl {
class context;
}
namespace boost::beast {
template <class NextLayer>
class ssl_stream;
}

namespace ringside::server::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

using Request = http::request<http::string_body>;
using Reply = http::response<http::string_body>;
using StreamHead = http::response<http::empty_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using TlsContext = std::shared_ptr<net::ssl::context>;

/// Where a streamed response writes its chunks. write() blocks the calling
/// (blocking-pool) thread until the chunk is on the wire; false when the
/// client is gone, the deadline passed, or the server is stopping.
class ChunkSink {
public:
    virtual ~ChunkSink() = default;
    virtual bool write(std::string chunk) = 0;
};
using ChunkProducer = std::function<void(ChunkSink&)>;

/// One request as a handler sees it. Exactly one of respond() or stream()
/// is called, once, from any thread.
struct Exchange {
    Request req;
    std::string path;                               // decoded, without the query
    std::map<std::string, std::string> query;       // decoded
    std::vector<std::string> params;                // route captures ({id})
    std::optional<User> user;                       // set for authenticated routes
    std::string token_hash;                         // sha256 of the caller's token, "" when none
    net::ip::address remote;                        // the client: the peer, or whom a trusted proxy names
    bool loopback = false;                          // remote is 127.0.0.0/8 or ::1
    net::any_io_executor strand;                    // the connection's strand
    std::function<void(Reply)> respond;
    /// Streams a chunked body: `head` is sent first, then each chunk the
    /// producer writes (on the blocking pool), then the last chunk. A
    /// producer that throws ends the connection without the last chunk.
    std::function<void(StreamHead head, ChunkProducer producer)> stream;
};
using ExchangePtr = std::shared_ptr<Exchange>;

enum class Access { open, user };

struct Endpoint {
    Access access = Access::user;
    Role min_role = Role::agent;
    std::function<void(const ExchangePtr&)> fn;
    /// Largest body this endpoint reads; 0: ServerOptions::max_body_bytes.
    std::size_t body_limit = 0;
};

/// Something stop() must close: an HTTP or WebSocket session.
class Closeable {
public:
    virtual ~Closeable() = default;
    /// Any thread; the session closes on its own strand.
    virtual void shutdown() = 0;
    /// Any thread: closes the session if it was signed in with this login
    /// session (sha256 of its token); HTTP sessions ignore it.
    virtual void end_session(const std::string& /*token_hash*/, const char* /*reason*/) {}
};

class Wallboard;
class AgentDesk;
struct State;

/// What a recheck of a directory user's session decided.
enum class DirectoryCheck {
    ok,           // still allowed; the user (role, name) as the directory has it now
    withdrawn,    // removed, disabled or out of every mapped group: the session has been ended
    unavailable,  // the directory could not answer; the session stays, checked again next request
    busy,         // too many checks waiting; checked again next request
};

/// Which login sessions belong to directory users and when each was last
/// checked against the directory (directory_check.cpp). Thread-safe.
/// Bounded: past max_entries, the entries not being checked are forgotten
/// (a forgotten directory session is simply checked again).
class DirectorySessions {
public:
    struct Entry {
        bool directory = false;                      // false: a local user's session, never checked
        std::string dn;
        std::chrono::steady_clock::time_point checked{};   // last good check or the sign-in
        bool checking = false;
        std::vector<std::function<void(DirectoryCheck, std::optional<User>)>> waiting;
    };
    static constexpr std::size_t max_entries = 50000;
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;   // by sha256 of the session token
};

/// For a request signed in with session `token_hash` as `user`: false when
/// nothing needs checking now (a local user, no directory, or checked less
/// than opt.directory_recheck ago), and the request goes on at once; true
/// when a check runs (or one in flight is joined) on the directory pool and
/// `then` is called from there with the outcome. On `withdrawn` the session
/// is deleted and its WebSockets closed before `then` runs. Call from an
/// I/O thread: it never blocks on the network (one SQLite read the first
/// time a session is seen).
bool recheck_directory(State& st, const std::string& token_hash, const User& user,
                       std::function<void(DirectoryCheck, std::optional<User>)> then);
/// A session a directory sign-in just created: checked now.
void directory_signed_in(State& st, const std::string& token_hash, const std::string& dn);

/// Holders per key up to a cap (WebSockets per user, connections per
/// address). A slot gives its place back when the last copy is destroyed.
/// Thread-safe; must outlive its slots (State does).
class SlotCounter {
public:
    using Slot = std::shared_ptr<void>;
    /// A slot, or nullptr when `key` already holds `cap`.
    Slot try_take(const std::string& key, std::size_t cap);

private:
    std::mutex mutex_;
    std::unordered_map<std::string, std::size_t> held_;
};

struct State {
    State(net::io_context& io, ServerOptions o, Storage& s, PopHub& h, CallService& c, EngineStrand e,
          const PhoneNormalizer& p, std::function<std::string()> extra)
        : ioc(io), opt(std::move(o)), storage(s), hub(h), calls(c), engine(std::move(e)), phones(p),
          extra_metrics(std::move(extra)), tls(!opt.tls_certificate.empty()),
          throttle_desk(opt.login_max_failures, opt.login_window),
          throttle_addr(opt.login_max_failures * 4, opt.login_window),
          throttle_user(opt.login_max_failures * 4, opt.login_window), trusted(parse_trusted(opt.trusted_proxies)),
          metrics_hosts(local_host_names(opt.listen)), web_root_real(real_web_root(opt.web_root)) {}

    net::io_context& ioc;
    const ServerOptions opt;
    Storage& storage;
    PopHub& hub;
    CallService& calls;
    EngineStrand engine;
    const PhoneNormalizer& phones;
    std::function<std::string()> extra_metrics;
    /// HTTPS and WSS only (ServerOptions::tls_certificate); the service's own origin is https://.
    const bool tls;

    Metrics metrics;
    // Sign-in attempts, each counted before its password is checked (routes.cpp LoginAttempt):
    LoginThrottle throttle_desk;   // one user from one address: the guesser's own, never the owner's desk
    LoginThrottle throttle_addr;   // one address, any users (several users behind one NAT: looser)
    LoginThrottle throttle_user;   // one user from addresses it has not signed in from lately (guesses spread over many)
    KnownDesks known_desks;        // where each user signed in lately: exempt from throttle_user
    /// Password checks of sign-ins (Argon2: tens of milliseconds, much
    /// memory), apart from exports so neither waits for the other; at most
    /// opt.login_queue_limit waiting or running, more answer 503.
    net::thread_pool hashing{2};
    std::atomic<std::size_t> hashing_queued{0};
    Router<Endpoint> router;
    SlotCounter ws_slots;   // open WebSockets per username
    SlotCounter conn_slots; // open connections: key "" all of them, else per client address (IpAddress text)
    /// opt.trusted_proxies parsed.
    const std::vector<AddressRange> trusted;
    /// Host names /metrics answers to without credentials: localhost,
    /// 127.0.0.1, ::1 and the listen host (a DNS-rebinding page sends its own).
    const std::vector<std::string> metrics_hosts;
    /// opt.web_root with every symlink resolved, once at start (the web
    /// root is not re-read on SIGHUP): a static file must lie inside it.
    /// Empty when there is none, or it could not be resolved (then every
    /// static file is 404; the reason is logged at start).
    const std::filesystem::path web_root_real;
    bool is_trusted_proxy(const IpAddress& a) const;
    /// A connection refused for a cap: counted, and a warning logged at most
    /// once a minute (with the number not logged since). Any thread.
    void connection_refused(const std::string& why);
    /// Password hashing and CSV exports: work that blocks, kept off the I/O threads.
    net::thread_pool blocking{2};
    std::atomic<bool> stopping{false};
    /// The supervisors' live wallboard (wallboard.hpp); set by add_supervisor_routes.
    std::shared_ptr<Wallboard> wallboard;
    /// The agents' states (agent_desk.hpp); set by add_agent_state_routes.
    std::shared_ptr<AgentDesk> agent_desk;
    /// Agent states on the PBX (queue pause); null: applied nowhere.
    std::atomic<QueuePauser*> queue_pauser{nullptr};
    /// Click-to-dial (routes_dial.cpp); null: no PBX can dial.
    std::atomic<Dialer*> dialer{nullptr};
    /// PBX connections for the admin routes and webhooks; set before start.
    std::shared_ptr<PbxControl> pbx_control;
    /// Sign-ins and session rechecks against the company directory
    /// (opt.directory): network calls, apart from the password hashing so a
    /// slow directory never delays local sign-ins; at most
    /// opt.login_queue_limit waiting or running, more answer 503.
    DirectorySessions directory_sessions;   // before the pool: its threads use it until joined
    net::thread_pool directory_pool{2};
    std::atomic<std::size_t> directory_queued{0};

    void track(const std::shared_ptr<Closeable>& s);
    void close_all();
    /// Closes every WebSocket signed in with this session (logout); `reason`
    /// must be a string literal.
    void end_session(const std::string& token_hash, const char* reason);
    /// A hash to verify against when the username does not exist, so that
    /// both answers take about as long.
    const std::string& dummy_hash();

    /// The certificate new connections get; null without TLS. Any thread.
    TlsContext tls_context();
    void set_tls_context(TlsContext ctx);

private:
    static std::vector<AddressRange> parse_trusted(const std::vector<std::string>& list);
    static std::vector<std::string> local_host_names(const std::string& listen);
    static std::filesystem::path real_web_root(const std::filesystem::path& web_root);
    std::mutex refused_mutex_;
    std::optional<std::chrono::steady_clock::time_point> refused_warned_at_;
    std::uint64_t refused_suppressed_ = 0;
    std::mutex tls_mutex_;
    TlsContext tls_context_;
    std::mutex sessions_mutex_;
    std::vector<std::weak_ptr<Closeable>> sessions_;
    std::once_flag dummy_once_;
    std::string dummy_hash_;
};

/// Between Asio's address and IpAddress (IPv4 as IPv4-mapped).
IpAddress to_ip(const net::ip::address& a);
net::ip::address to_asio(const IpAddress& a);

Reply make_reply(const Request& req, http::status status, std::string body, std::string_view content_type);
Reply json_reply(const Request& req, http::status status, const nlohmann::json& body);
Reply error_reply(const Request& req, http::status status, std::string_view code, std::string_view message);

/// The user a request's credentials name: `Authorization: Bearer`, then the
/// session cookie, then (only when allow_query_token) `?token=`. Sets
/// token_hash when a user is found.
/// *via_cookie (when given) says whether the session cookie was the credential.
std::optional<User> authenticate(State& st, const Request& req, bool allow_query_token, std::string* token_hash,
                                 bool* via_cookie = nullptr);

/// For a request whose credential is the session cookie (or a login): nullopt
/// when its Origin is the service's own or an allowed one, else the 403 to send.
std::optional<Reply> refuse_foreign_origin(const State& st, const Request& req);

/// Fills st.router with every endpoint of docs/interface.md "HTTP" (routes.cpp).
void build_routes(State& st);
/// POST /api/calls/dial (routes_dial.cpp).
void add_dial_routes(State& st);
/// GET and PUT /api/agent/state (routes_agent_state.cpp).
void add_agent_state_routes(State& st);

/// Supervisor endpoints (routes_supervisor.cpp), called from build_routes.
void add_supervisor_routes(State& st);
/// The call-log parameters direction, queue, q, sort, order and after onto f;
/// nullopt, or the 400 message naming the parameter.
std::optional<std::string> parse_call_log_params(const std::map<std::string, std::string>& q, CallFilter& f);
/// A page's next_cursor for the `after` parameter.
std::string encode_cursor(const CallFilter::Cursor& c);
/// The customer file's endpoints (routes_customers.cpp); called by build_routes.
void add_customer_routes(State& st);

/// The admin page's endpoints (routes_admin.cpp).
void add_admin_routes(State& st);
/// A POST no route claims may be a webhook PBX's: answers it and returns
/// true, or returns false (routes_admin.cpp).
bool try_webhook(State& st, const ExchangePtr& ex);

/// Takes over an upgraded connection, plain or TLS (websocket_session.cpp).
/// `mark`: the hub's disconnect_mark() taken before the user was authenticated.
/// `token_hash`: the login session it was signed in with ("" for none); it
/// closes when that session ends. `slot`: its place in State::ws_slots.
/// `tls`: the certificate's context the stream was accepted with (kept alive
/// as long as the stream; null for plain TCP).
void run_websocket(const std::shared_ptr<State>& st, beast::tcp_stream&& stream, TlsContext tls, Request req,
                   User user, std::uint64_t mark, std::string token_hash, SlotCounter::Slot slot);
void run_websocket(const std::shared_ptr<State>& st, TlsStream&& stream, TlsContext tls, Request req, User user,
                   std::uint64_t mark, std::string token_hash, SlotCounter::Slot slot);

}  // namespace ringside::server::detail
