// The listener and the HTTP session: read a request with limits and a
// deadline, route it, write the answer, repeat; hand /ws upgrades to a
// WebSocket session. do_x/on_x pairs on one strand per connection.
#include <algorithm>
#include <array>
#include <limits>
#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <type_traits>
#include <variant>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/version.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <spdlog/spdlog.h>

#include "ringside/core/password.hpp"
#include "ringside/core/time.hpp"
#include "ringside/server/http_util.hpp"
#include "ringside/server/tls_identity.hpp"
#include "agent_desk.hpp"
#include "server_state.hpp"
#include "wallboard.hpp"

namespace ringside::server {
namespace detail {

namespace {

constexpr std::size_t header_limit = 16 * 1024;
constexpr std::uintmax_t static_file_limit = 16 * 1024 * 1024;

void fail(beast::error_code ec, const char* what) {
    if (ec == net::error::operation_aborted || ec == beast::error::timeout || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == http::error::end_of_stream ||
        ec == net::ssl::error::stream_truncated)
        return;
    spdlog::debug("http: {}: {}", what, ec.message());
}

void security_headers(http::header<false>& h, bool tls) {
    h.set(http::field::server, "ringside");
    h.set("X-Content-Type-Options", "nosniff");
    h.set("Referrer-Policy", "no-referrer");
    // A year; no includeSubDomains: other hosts of the domain are not ours to decide.
    if (tls) h.set(http::field::strict_transport_security, "max-age=31536000");
}

}  // namespace

// ---------------------------------------------------------------- State

void State::track(const std::shared_ptr<Closeable>& s) {
    std::lock_guard lock(sessions_mutex_);
    // Forget the closed ones now and then so the list stays as long as the open sessions.
    if (sessions_.size() >= 64 && (sessions_.size() & (sessions_.size() - 1)) == 0)
        std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    sessions_.push_back(s);
}

void State::close_all() {
    std::vector<std::shared_ptr<Closeable>> open;
    {
        std::lock_guard lock(sessions_mutex_);
        for (auto& w : sessions_)
            if (auto p = w.lock()) open.push_back(std::move(p));
        sessions_.clear();
    }
    for (auto& s : open) s->shutdown();
}

void State::end_session(const std::string& token_hash, const char* reason) {
    if (token_hash.empty()) return;
    std::vector<std::shared_ptr<Closeable>> open;
    {
        std::lock_guard lock(sessions_mutex_);
        for (auto& w : sessions_)
            if (auto p = w.lock()) open.push_back(std::move(p));
    }
    for (auto& s : open) s->end_session(token_hash, reason);
}

SlotCounter::Slot SlotCounter::try_take(const std::string& key, std::size_t cap) {
    std::lock_guard lock(mutex_);
    auto& n = held_[key];
    if (n >= cap) {
        if (n == 0) held_.erase(key);
        return nullptr;
    }
    ++n;
    return Slot(static_cast<void*>(this), [this, key](void*) {
        std::lock_guard l(mutex_);
        if (auto it = held_.find(key); it != held_.end() && --it->second == 0) held_.erase(it);
    });
}

std::vector<AddressRange> State::parse_trusted(const std::vector<std::string>& list) {
    std::vector<AddressRange> out;
    for (const auto& t : list) {
        auto r = parse_address_range(t);
        if (!r) throw std::invalid_argument("trusted_proxies: '" + t + "' is not an IP address or CIDR block");
        out.push_back(*r);
    }
    return out;
}

std::filesystem::path State::real_web_root(const std::filesystem::path& web_root) {
    if (web_root.empty()) return {};
    std::error_code ec;
    auto real = std::filesystem::canonical(web_root, ec);
    if (ec) {
        spdlog::error("http: the web root {} cannot be read ({}); every page of the UI answers 404",
                      web_root.string(), ec.message());
        return {};
    }
    return real;
}

std::vector<std::string> State::local_host_names(const std::string& listen) {
    std::vector<std::string> names{"localhost", "127.0.0.1", "::1"};
    std::string host = listen.substr(0, listen.rfind(':'));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    // A wildcard is no name a browser is sent to.
    if (!host.empty() && host != "*" && host != "0.0.0.0" && host != "::") names.push_back(host);
    return names;
}

bool State::is_trusted_proxy(const IpAddress& a) const {
    return std::any_of(trusted.begin(), trusted.end(), [&](const AddressRange& r) { return r.contains(a); });
}

void State::connection_refused(const std::string& why) {
    metrics.connection_refused();
    const auto now = std::chrono::steady_clock::now();
    std::uint64_t others = 0;
    {
        std::lock_guard lock(refused_mutex_);
        // A flood must not flood the log: one line a minute, with the count of the rest.
        if (refused_warned_at_ && now - *refused_warned_at_ < std::chrono::minutes(1)) {
            ++refused_suppressed_;
            return;
        }
        refused_warned_at_ = now;
        others = std::exchange(refused_suppressed_, 0);
    }
    spdlog::warn("http: connection refused: {}{}", why,
                 others == 0 ? std::string()
                             : " (" + std::to_string(others) + " more refused in the last minute, not logged)");
}

IpAddress to_ip(const net::ip::address& a) {
    IpAddress out;
    if (a.is_v4()) {
        out.bytes[10] = out.bytes[11] = 0xff;
        const auto b = a.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), out.bytes.begin() + 12);
    } else {
        const auto b = a.to_v6().to_bytes();
        std::copy(b.begin(), b.end(), out.bytes.begin());
    }
    return out;
}

net::ip::address to_asio(const IpAddress& a) {
    if (is_v4(a)) return net::ip::address_v4({a.bytes[12], a.bytes[13], a.bytes[14], a.bytes[15]});
    net::ip::address_v6::bytes_type b;
    std::copy(a.bytes.begin(), a.bytes.end(), b.begin());
    return net::ip::address_v6(b);
}

const std::string& State::dummy_hash() {
    std::call_once(dummy_once_, [this] { dummy_hash_ = hash_password("ringside: no such user, same work"); });
    return dummy_hash_;
}

TlsContext State::tls_context() {
    std::lock_guard lock(tls_mutex_);
    return tls_context_;
}

void State::set_tls_context(TlsContext ctx) {
    std::lock_guard lock(tls_mutex_);
    tls_context_ = std::move(ctx);
}

Reply make_reply(const Request& req, http::status status, std::string body, std::string_view content_type) {
    Reply r{status, req.version()};
    r.set(http::field::content_type, content_type);
    r.set(http::field::cache_control, "no-store");
    r.keep_alive(req.keep_alive());
    r.body() = std::move(body);
    r.prepare_payload();
    return r;
}

Reply json_reply(const Request& req, http::status status, const nlohmann::json& body) {
    return make_reply(req, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                      "application/json");
}

Reply error_reply(const Request& req, http::status status, std::string_view code, std::string_view message) {
    return make_reply(req, status, error_body(code, message), "application/json");
}

std::optional<User> authenticate(State& st, const Request& req, bool allow_query_token, std::string* token_hash,
                                 bool* via_cookie) {
    std::optional<std::string> token;
    if (via_cookie) *via_cookie = false;
    if (auto it = req.find(http::field::authorization); it != req.end()) token = parse_bearer(it->value());
    if (!token)
        if (auto it = req.find(http::field::cookie); it != req.end()) {
            token = cookie_value(it->value(), session_cookie_name);
            if (token && via_cookie) *via_cookie = true;
        }
    if (!token && allow_query_token) {
        auto [path, query] = split_target(req.target());
        if (auto q = parse_query(query)) {
            if (auto it = q->find("token"); it != q->end()) token = it->second;
        }
    }
    if (!token || !token_shape_ok(*token)) return std::nullopt;
    auto hash = sha256_hex(*token);
    auto user = st.storage.session_user(hash, now_ms());
    if (user && token_hash) *token_hash = std::move(hash);
    return user;
}

std::optional<Reply> refuse_foreign_origin(const State& st, const Request& req) {
    const auto host = req[http::field::host];
    const auto origin = req[http::field::origin];
    if (!origin.empty() && origin_allowed(origin, st.tls ? "https" : "http", host, st.opt.allowed_origins))
        return std::nullopt;
    auto r = error_reply(req, http::status::forbidden, "origin_refused",
                         origin.empty() ? std::string("a request signed in by the session cookie must carry an Origin header")
                                        : "the page at " + std::string(origin) +
                                              " may not act for this session: it is neither this service's own origin "
                                              "nor in [server] allowed_origins");
    r.keep_alive(false);
    return r;
}

/// The answer to a request whose directory recheck did not let it through; nullopt when it did.
std::optional<Reply> directory_refusal(const Request& req, DirectoryCheck outcome) {
    switch (outcome) {
        case DirectoryCheck::ok: return std::nullopt;
        case DirectoryCheck::withdrawn:
            return error_reply(req, http::status::unauthorized, "unauthenticated",
                               "the company directory no longer lets this account use Ringside; the session has ended");
        case DirectoryCheck::unavailable: {
            auto r = error_reply(req, http::status::service_unavailable, "directory_unavailable",
                                 "the company directory cannot be reached to confirm this session; try again shortly");
            r.set(http::field::retry_after, "5");
            return r;
        }
        case DirectoryCheck::busy: break;
    }
    auto r = error_reply(req, http::status::service_unavailable, "busy",
                         "too many sessions are being checked with the company directory; try again in a second");
    r.set(http::field::retry_after, "1");
    return r;
}

// ---------------------------------------------------------------- HTTP session

/// One connection's requests, over plain TCP (`beast::tcp_stream`) or TLS
/// (`TlsStream`): the same code, only the start (a TLS handshake first) and
/// the end (TLS close_notify) differ.
template <class Stream>
class HttpSession final : public Closeable, public std::enable_shared_from_this<HttpSession<Stream>> {
    static constexpr bool is_tls = std::is_same_v<Stream, TlsStream>;
    using std::enable_shared_from_this<HttpSession<Stream>>::shared_from_this;

public:
    /// `tls`: the certificate's context for a TLS session (kept alive with
    /// it, so a reload never pulls it from under an open connection); null for plain TCP.
    /// `peer`: the connection's remote address; `place`: its places under
    /// the connection caps, given back when the connection (or the WebSocket
    /// it becomes) closes.
    HttpSession(tcp::socket&& socket, std::shared_ptr<State> st, TlsContext tls, IpAddress peer, SlotCounter::Slot place)
        : ex_(socket.get_executor()), tls_(std::move(tls)), stream_(open(std::move(socket), tls_.get())),
          st_(std::move(st)), peer_(peer), place_(std::move(place)) {}

    void run() { net::dispatch(ex_, beast::bind_front_handler(&HttpSession::start, shared_from_this())); }

    void shutdown() override {
        net::post(ex_, [self = shared_from_this()] {
            if (self->upgraded_) return;  // the WebSocket session owns the stream now (and is tracked itself)
            beast::error_code ec;
            self->lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
            self->lowest().close();
        });
    }

private:
    static Stream open(tcp::socket&& socket, net::ssl::context* tls) {
        if constexpr (is_tls) return Stream(beast::tcp_stream(std::move(socket)), *tls);
        else return Stream(std::move(socket));
    }

    beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

    void start() {
        if constexpr (is_tls) {
            // Look at the first bytes before the handshake: a browser that
            // speaks plain HTTP here is told so, in plain HTTP.
            lowest().expires_after(st_->opt.tls_handshake_timeout);
            beast::async_detect_ssl(lowest(), buffer_, beast::bind_front_handler(&HttpSession::on_detect, shared_from_this()));
        } else {
            do_read();
        }
    }

    void on_detect(beast::error_code ec, bool tls_hello) {
        if (ec) return fail(ec, "tls detect");
        if (!tls_hello) return refuse_plain();
        if constexpr (is_tls) {
            stream_.async_handshake(net::ssl::stream_base::server, buffer_.data(),
                                    beast::bind_front_handler(&HttpSession::on_handshake, shared_from_this()));
        }
    }

    void on_handshake(beast::error_code ec, std::size_t used) {
        if (ec) {
            // Not worth a warning: scanners, wrong trust stores, clients given up.
            spdlog::debug("http: TLS handshake failed: {}", ec.message());
            return;
        }
        buffer_.consume(used);
        do_read();
    }

    /// Plain HTTP on the TLS port: the request's head is read (so the
    /// answer is not lost to a reset), answered 400 in plain HTTP, and the
    /// connection closed. Nothing of it reaches a route.
    void refuse_plain() {
        parser_.emplace();
        parser_->header_limit(header_limit);
        http::async_read_header(lowest(), buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec == beast::error::timeout || ec == net::error::eof || ec == net::error::connection_reset ||
                ec == net::error::operation_aborted)
                return;  // nothing to answer
            Request dummy;
            auto r = error_reply(dummy, http::status::bad_request, "https_required",
                                 "this port speaks HTTPS only: use https:// (and wss:// for /ws)");
            r.keep_alive(false);
            security_headers(r.base(), false);
            self->st_->metrics.http_request("unmatched", r.result_int());
            self->reply_ = std::make_shared<Reply>(std::move(r));
            self->lowest().expires_after(self->st_->opt.io_timeout);
            http::async_write(self->lowest(), *self->reply_, [self](beast::error_code, std::size_t) {
                beast::error_code ignored;
                self->lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
            });
        });
    }

    /// The next request. A connection's first request (or one already in
    /// the buffer, pipelined) must bring its headers within header_timeout;
    /// between requests a kept-alive connection may idle for
    /// keep_alive_timeout, and its next request's headers then get
    /// header_timeout from their first byte.
    void do_read() {
        parser_.emplace();
        parser_->header_limit(header_limit);
        // No limit yet: the route decides it once the headers are in (on_headers).
        parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
        if (first_request_ || buffer_.size() > 0) return read_headers();
        lowest().expires_after(st_->opt.keep_alive_timeout);
        stream_.async_read_some(buffer_.prepare(4096), beast::bind_front_handler(&HttpSession::on_idle_read, shared_from_this()));
    }

    void on_idle_read(beast::error_code ec, std::size_t n) {
        buffer_.commit(n);
        if (ec == net::error::eof) return do_close();
        if (ec) return fail(ec, "read");
        read_headers();
    }

    void read_headers() {
        first_request_ = false;
        lowest().expires_after(st_->opt.header_timeout);
        http::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_headers, shared_from_this()));
    }

    /// Answers what a failed read should hear (or closes); true when ec was an error.
    bool read_failed(beast::error_code ec) {
        if (!ec) return false;
        keep_alive_ = false;
        Request dummy;
        if (ec == http::error::end_of_stream) {
            do_close();
        } else if (ec == http::error::body_limit) {
            send(too_large(parser_->get()));
        } else if (ec == http::error::header_limit) {
            route_ = "unmatched";
            send(error_reply(dummy, http::status::request_header_fields_too_large, "headers_too_large",
                             "the request headers are larger than the server accepts"));
        } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                   ec != http::error::partial_message) {
            route_ = "unmatched";
            send(error_reply(dummy, http::status::bad_request, "bad_request", "the request is not valid HTTP"));
        } else {
            fail(ec, "read");
        }
        return true;
    }

    Reply too_large(const Request& head) {
        const auto kib = body_limit_ / 1024;
        auto r = error_reply(head, http::status::payload_too_large, "payload_too_large",
                             "the request body is larger than the " +
                                 (kib >= 1024 && kib % 1024 == 0 ? std::to_string(kib / 1024) + " MiB"
                                                                 : std::to_string(kib) + " KiB") +
                                 " (" + std::to_string(body_limit_) + " bytes) this endpoint accepts");
        r.keep_alive(false);
        return r;
    }

    /// The headers are in, the body (if any) is not: who the client is, its
    /// place under the per-address cap, the route and its access checks all
    /// happen now, so a request that will be refused never has its body read.
    void on_headers(beast::error_code ec, std::size_t) {
        if (read_failed(ec)) return;
        const Request& head = parser_->get();
        const IpAddress client = client_of(head);
        // Until the body is read, a refusal ends the connection (the body is never read).
        keep_alive_ = head.keep_alive() && parser_->is_done();
        if (!place_client(client)) {
            route_ = "unmatched";
            keep_alive_ = false;
            auto r = error_reply(head, http::status::service_unavailable, "too_many_connections",
                                 "too many connections from " + to_string(client) + "; close some first");
            r.set(http::field::retry_after, "5");
            return send(std::move(r));
        }
        if (beast::websocket::is_upgrade(head)) {
            if (!parser_->is_done()) {
                route_ = "unmatched";
                return send(error_reply(head, http::status::bad_request, "bad_request", "a WebSocket upgrade has no body"));
            }
            return on_upgrade(parser_->release(), client);
        }
        route(head, client);
    }

    /// The client: the peer, or for a trusted proxy's connection whom its
    /// X-Forwarded-For (else Forwarded) names.
    IpAddress client_of(const Request& head) const {
        if (!st_->is_trusted_proxy(peer_)) return peer_;
        const auto all = [&](std::string_view name) {
            std::string out;
            for (auto [it, end] = head.equal_range(name); it != end; ++it) {
                if (!out.empty()) out += ", ";
                out.append(it->value().data(), it->value().size());
            }
            return out;
        };
        return client_address(peer_, st_->trusted, all("X-Forwarded-For"), all("Forwarded"));
    }

    /// A trusted proxy's connection holds a place under the per-address cap
    /// for the client it forwards now (the proxy itself holds none); false
    /// when that client has no place left. Other connections took theirs at accept.
    bool place_client(const IpAddress& client) {
        if (!st_->is_trusted_proxy(peer_) || (client_place_ && client_place_key_ == client)) return true;
        client_place_.reset();
        client_place_ = st_->conn_slots.try_take(to_string(client), st_->opt.max_connections_per_address);
        if (!client_place_) {
            st_->connection_refused("from " + to_string(client) + " through the proxy at " + to_string(peer_) + ": " +
                                    std::to_string(st_->opt.max_connections_per_address) +
                                    " connections from that address are open ([server] max_connections_per_address)");
            return false;
        }
        client_place_key_ = client;
        return true;
    }

    void on_upgrade(Request req, const IpAddress& client) {
        route_ = "/ws";
        auto [path, query] = split_target(req.target());
        if (path != "/ws") {
            route_ = "unmatched";
            return send(error_reply(req, http::status::not_found, "not_found", "no WebSocket endpoint at this path"));
        }
        std::optional<User> user;
        std::string token_hash;
        bool via_cookie = false;
        const auto mark = st_->hub.disconnect_mark();  // before the check: see on_accept
        try {
            user = authenticate(*st_, req, true, &token_hash, &via_cookie);
        } catch (const std::exception& e) {
            spdlog::error("ws: authentication failed: {}", e.what());
            return send(error_reply(req, http::status::internal_server_error, "internal", "internal server error"));
        }
        if (!user) {
            st_->metrics.ws_refused();
            auto r = error_reply(req, http::status::unauthorized, "unauthenticated",
                                 "sign in first: session cookie, bearer token or ?token= required");
            r.keep_alive(false);
            return send(std::move(r));
        }
        auto pending = std::make_shared<Request>(std::move(req));
        const bool checking = recheck_directory(
            *st_, token_hash, *user,
            [self = shared_from_this(), pending, user = *user, mark, token_hash, via_cookie,
             client](DirectoryCheck outcome, std::optional<User> now) {
                net::post(self->ex_, [self, pending, user, mark, token_hash, via_cookie, outcome, now, client]() mutable {
                    if (auto refused = directory_refusal(*pending, outcome)) {
                        self->st_->metrics.ws_refused();
                        refused->keep_alive(false);
                        return self->send(std::move(*refused));
                    }
                    self->upgrade_authorized(std::move(*pending), now ? std::move(*now) : std::move(user), mark,
                                             std::move(token_hash), via_cookie, client);
                });
            });
        if (!checking)
            upgrade_authorized(std::move(*pending), std::move(*user), mark, std::move(token_hash), via_cookie, client);
    }

    /// The rest of an upgrade whose credentials were found good.
    void upgrade_authorized(Request req, User user, std::uint64_t mark, std::string token_hash, bool via_cookie,
                            IpAddress client) {
        // Cross-site WebSocket hijacking: a page elsewhere opening /ws with the agent's cookie.
        if (via_cookie)
            if (auto refused = refuse_foreign_origin(*st_, req)) {
                st_->metrics.ws_refused();
                return send(std::move(*refused));
            }
        auto slot = st_->ws_slots.try_take(user.username.value(), st_->opt.ws_per_user);
        if (!slot) {
            st_->metrics.ws_refused();
            auto r = error_reply(req, http::status::too_many_requests, "too_many_websockets",
                                 "this user already has " + std::to_string(st_->opt.ws_per_user) +
                                     " WebSockets open; close one first");
            r.set(http::field::retry_after, "5");
            r.keep_alive(false);
            return send(std::move(r));
        }
        spdlog::debug("ws: {} opened a WebSocket from {}", user.username.value(), to_string(client));
        st_->metrics.http_request(route_, 101);
        upgraded_ = true;
        // The socket keeps its connection places (global, per address) as long as it stays open.
        SlotCounter::Slot places = std::make_shared<std::array<SlotCounter::Slot, 3>>(
            std::array<SlotCounter::Slot, 3>{std::move(slot), place_, client_place_});
        run_websocket(st_, std::move(stream_), tls_, std::move(req), std::move(user), mark, std::move(token_hash),
                      std::move(places));
    }

    /// Routes a request by its headers: 404, 405, static files and every
    /// access check (401, 403, CSRF) answer before the body is read; then the
    /// body is read up to the route's limit and the handler runs.
    void route(const Request& rq, const IpAddress& client) {
        auto ex = std::make_shared<Exchange>();
        ex->strand = ex_;
        ex->remote = to_asio(client);
        ex->loopback = is_loopback(client);

        auto self = shared_from_this();
        auto answered = std::make_shared<std::atomic<bool>>(false);
        ex->respond = [self, answered](Reply r) {
            if (answered->exchange(true)) return;
            net::post(self->ex_, [self, r = std::move(r)]() mutable { self->send(std::move(r)); });
        };
        ex->stream = [self, answered](StreamHead head, ChunkProducer producer) {
            if (answered->exchange(true)) return;
            self->start_stream(std::move(head), std::move(producer));
        };

        auto [raw_path, raw_query] = split_target(rq.target());
        auto path = url_decode(raw_path, false);
        auto query = parse_query(raw_query);
        if (!path || !query || path->empty() || path->front() != '/') {
            route_ = "unmatched";
            return ex->respond(error_reply(rq, http::status::bad_request, "bad_request", "the request target is malformed"));
        }
        ex->path = std::move(*path);
        ex->query = std::move(*query);

        auto m = st_->router.match(rq.method(), ex->path);
        route_ = m.pattern.empty() ? "unmatched" : m.pattern;
        if (!m.handler) {
            if (!m.allow.empty()) {
                auto r = error_reply(rq, http::status::method_not_allowed, "method_not_allowed",
                                     "this path does not accept " + std::string(rq.method_string()));
                r.set(http::field::allow, m.allow);
                return ex->respond(std::move(r));
            }
            if (rq.method() == http::verb::post && st_->pbx_control) {
                // Perhaps a webhook PBX's path: its signature covers the body, so read it.
                return read_body(ex, st_->opt.max_body_bytes, [this](const ExchangePtr& e) {
                    if (try_webhook(*st_, e)) {
                        route_ = "webhook";
                        return;
                    }
                    route_ = "unmatched";
                    e->respond(error_reply(e->req, http::status::not_found, "not_found", "no such endpoint"));
                });
            }
            if (rq.method() == http::verb::get && !st_->opt.web_root.empty() && !ex->path.starts_with("/api/")) {
                route_ = "static";
                return ex->respond(static_file(rq, ex->path));
            }
            return ex->respond(error_reply(rq, http::status::not_found, "not_found", "no such endpoint"));
        }
        ex->params = std::move(m.params);
        const Endpoint& endpoint = *m.handler;
        try {
            if (endpoint.access == Access::user) {
                bool via_cookie = false;
                ex->user = authenticate(*st_, rq, false, &ex->token_hash, &via_cookie);
                if (!ex->user)
                    return ex->respond(error_reply(rq, http::status::unauthorized, "unauthenticated",
                                                   "sign in first: session cookie or bearer token required"));
                // A directory user's session is checked again now and then: the
                // request waits on the directory pool's answer, no I/O thread does.
                const bool checking = recheck_directory(
                    *st_, ex->token_hash, *ex->user,
                    [self = shared_from_this(), ex, endpoint = &endpoint, via_cookie](DirectoryCheck outcome,
                                                                                      std::optional<User> now) {
                        net::post(self->ex_, [self, ex, endpoint, via_cookie, outcome, now = std::move(now)]() mutable {
                            // The body is not read yet: the request so far is the parser's header.
                            if (auto refused = directory_refusal(self->parser_->get(), outcome))
                                return ex->respond(std::move(*refused));
                            if (now) ex->user = std::move(now);
                            self->authorized(ex, *endpoint, via_cookie);
                        });
                    });
                if (!checking) authorized(ex, endpoint, via_cookie);
                return;
            }
            authorized(ex, endpoint, false);
        } catch (const std::exception& e) {
            spdlog::error("http: {} {} failed: {}", std::string(rq.method_string()), route_, e.what());
            ex->respond(error_reply(rq, http::status::internal_server_error, "internal", "internal server error"));
        }
    }

    /// The rest of a request whose credentials (if its endpoint needs any) were found good.
    void authorized(const ExchangePtr& ex, const Endpoint& endpoint, bool via_cookie) {
        // The header as read so far: ex->req holds the request only once its body is in (read_body).
        const Request& rq = parser_->get();
        try {
            const bool write = rq.method() != http::verb::get && rq.method() != http::verb::head &&
                               rq.method() != http::verb::options;
            if (endpoint.access == Access::user) {
                // CSRF: a write the browser sends with the cookie must come from our own pages.
                if (write && via_cookie)
                    if (auto refused = refuse_foreign_origin(*st_, rq)) return ex->respond(std::move(*refused));
                if (!role_at_least(ex->user->role, endpoint.min_role))
                    return ex->respond(error_reply(rq, http::status::forbidden, "forbidden",
                                                   "this needs the " + std::string(to_string(endpoint.min_role)) +
                                                       " role or higher"));
            } else if (write && !rq[http::field::origin].empty()) {
                // Login CSRF: a foreign page signing the browser in as someone else.
                if (auto refused = refuse_foreign_origin(*st_, rq)) return ex->respond(std::move(*refused));
            }
        } catch (const std::exception& e) {
            spdlog::error("http: {} {} failed: {}", std::string(rq.method_string()), route_, e.what());
            return ex->respond(error_reply(rq, http::status::internal_server_error, "internal", "internal server error"));
        }
        read_body(ex, endpoint.body_limit ? endpoint.body_limit : st_->opt.max_body_bytes,
                  [&endpoint](const ExchangePtr& e) { endpoint.fn(e); });
    }

    using BodyHandler = std::function<void(const ExchangePtr&)>;

    /// Reads the body (a Content-Length over `limit` answers 413 at once,
    /// a chunked one as soon as it passes it), then runs `then` on the
    /// complete request; an exception from it answers 500.
    void read_body(const ExchangePtr& ex, std::size_t limit, BodyHandler then) {
        body_limit_ = limit;
        const Request& head = parser_->get();
        if (auto len = parser_->content_length(); len && *len > limit) {
            keep_alive_ = false;
            return ex->respond(too_large(head));
        }
        pending_ = ex;
        then_ = std::move(then);
        if (parser_->is_done()) return on_body({}, 0);
        parser_->body_limit(limit);
        if (iequals(head[http::field::expect], "100-continue")) {
            // The client waits for this before it sends the body.
            static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
            lowest().expires_after(st_->opt.io_timeout);
            return net::async_write(stream_, net::buffer(go_on.data(), go_on.size()),
                                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                        if (ec) return fail(ec, "write");
                                        self->read_body_now();
                                    });
        }
        read_body_now();
    }

    void read_body_now() {
        lowest().expires_after(st_->opt.io_timeout);
        http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_body, shared_from_this()));
    }

    void on_body(beast::error_code ec, std::size_t) {
        auto ex = std::move(pending_);
        auto then = std::move(then_);
        if (read_failed(ec)) return;
        ex->req = parser_->release();
        keep_alive_ = ex->req.keep_alive();
        try {
            then(ex);
        } catch (const std::exception& e) {
            spdlog::error("http: {} {} failed: {}", std::string(ex->req.method_string()), route_, e.what());
            ex->respond(error_reply(ex->req, http::status::internal_server_error, "internal", "internal server error"));
        }
    }

    Reply static_file(const Request& req, const std::string& path) {
        auto file = static_file_path(st_->opt.web_root, path);
        std::error_code fec;
        if (!file || !std::filesystem::is_regular_file(*file, fec))
            return error_reply(req, http::status::not_found, "not_found", "no such page");
        // A symlink inside web_root must not lead out of it.
        const auto& root = st_->web_root_real;
        const auto real = std::filesystem::canonical(*file, fec);
        if (fec || root.empty() || std::mismatch(root.begin(), root.end(), real.begin(), real.end()).first != root.end())
            return error_reply(req, http::status::not_found, "not_found", "no such page");
        const auto size = std::filesystem::file_size(*file, fec);
        if (fec || size > static_file_limit)
            return error_reply(req, http::status::not_found, "not_found", "no such page");
        std::ifstream in(*file, std::ios::binary);
        std::ostringstream data;
        data << in.rdbuf();
        if (!in && !in.eof()) return error_reply(req, http::status::not_found, "not_found", "no such page");
        auto r = make_reply(req, http::status::ok, std::move(data).str(), mime_type(file->filename().string()));
        // No build step, no hashed names: browsers revalidate every time.
        r.set(http::field::cache_control, "no-cache");
        if (file->extension() == ".html")
            r.set("Content-Security-Policy",
                  "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'");
        return r;
    }

    void send(Reply r) {
        security_headers(r.base(), is_tls);
        if (!keep_alive_) r.keep_alive(false);
        st_->metrics.http_request(route_, r.result_int());
        reply_ = std::make_shared<Reply>(std::move(r));
        lowest().expires_after(st_->opt.io_timeout);
        http::async_write(stream_, *reply_, beast::bind_front_handler(&HttpSession::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (ec) return fail(ec, "write");
        const bool close = reply_->need_eof();
        reply_.reset();
        if (close) return do_close();
        do_read();
    }

    void do_close() {
        if constexpr (is_tls) {
            // close_notify, then the peer's (or the deadline): a truncation
            // attack cannot pass for the end of the answer.
            lowest().expires_after(std::chrono::seconds(5));
            stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->lowest().close(); });
        } else {
            beast::error_code ec;
            lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
            // Read (and drop) what the client still sends until it closes too:
            // closing with an unread body would reset the connection, and the
            // client could lose the answer (a 401 or 413 sent before its body).
            lowest().expires_after(std::chrono::seconds(5));
            drain(std::make_shared<std::array<char, 16 * 1024>>());
        }
    }

    void drain(std::shared_ptr<std::array<char, 16 * 1024>> scratch) {
        lowest().async_read_some(net::buffer(*scratch), [self = shared_from_this(), scratch](beast::error_code ec, std::size_t) {
            if (!ec) return self->drain(scratch);
            beast::error_code ignored;
            self->lowest().socket().close(ignored);
        });
    }

    // ---- chunked streaming (CSV export)

    class Sink final : public ChunkSink {
    public:
        explicit Sink(std::shared_ptr<HttpSession> s) : s_(std::move(s)) {}
        bool write(std::string chunk) override {
            if (chunk.empty()) return true;
            return s_->write_blocking([s = s_, data = std::make_shared<std::string>(std::move(chunk))](auto done) {
                s->lowest().expires_after(s->st_->opt.io_timeout);
                net::async_write(s->stream_, http::make_chunk(net::buffer(*data)),
                                 [data, done](beast::error_code ec, std::size_t) { done(!ec); });
            });
        }
        std::shared_ptr<HttpSession> s_;
    };

    /// Runs `op(done)` on the strand and blocks this (pool) thread until done(ok).
    template <class Op>
    bool write_blocking(Op op) {
        auto promise = std::make_shared<std::promise<bool>>();
        auto future = promise->get_future();
        net::post(ex_, [op = std::move(op), promise]() mutable {
            op([promise](bool ok) { promise->set_value(ok); });
        });
        // The write has its own deadline; this loop only notices a server stop
        // (the io_context may no longer run the completion).
        while (future.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready)
            if (st_->stopping.load()) return false;
        return future.get();
    }

    void start_stream(StreamHead head, ChunkProducer producer) {
        security_headers(head.base(), is_tls);
        head.chunked(true);
        head.keep_alive(keep_alive_);
        net::post(st_->blocking, [self = shared_from_this(), head = std::move(head), producer = std::move(producer)]() mutable {
            self->run_stream(std::move(head), std::move(producer));
        });
    }

    void run_stream(StreamHead head, ChunkProducer producer) {
        const unsigned status = head.result_int();
        auto hp = std::make_shared<StreamHead>(std::move(head));
        auto sp = std::make_shared<http::response_serializer<http::empty_body>>(*hp);
        bool ok = write_blocking([self = shared_from_this(), hp, sp](auto done) {
            self->lowest().expires_after(self->st_->opt.io_timeout);
            http::async_write_header(self->stream_, *sp, [hp, sp, done](beast::error_code ec, std::size_t) { done(!ec); });
        });
        if (ok) {
            Sink sink(shared_from_this());
            try {
                producer(sink);
                ok = write_blocking([self = shared_from_this()](auto done) {
                    self->lowest().expires_after(self->st_->opt.io_timeout);
                    net::async_write(self->stream_, http::make_chunk_last(),
                                     [done](beast::error_code ec, std::size_t) { done(!ec); });
                });
            } catch (const std::exception& e) {
                spdlog::error("http: {} stream failed: {}", route_, e.what());
                ok = false;
            }
        }
        st_->metrics.http_request(route_, status);
        net::post(ex_, [self = shared_from_this(), ok, keep = hp->keep_alive()] {
            if (ok && keep && !self->st_->stopping.load()) return self->do_read();
            // A stream cut short must not look complete: close without the last chunk.
            beast::error_code ec;
            self->lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
            self->lowest().close();
        });
    }

    const net::any_io_executor ex_;   // the connection's strand (stream_ moves to a WebSocket session)
    TlsContext tls_;                  // before stream_, which uses it; null for plain TCP
    Stream stream_;
    beast::flat_buffer buffer_;
    std::shared_ptr<State> st_;
    const IpAddress peer_;                // the TCP peer (a proxy, when trusted)
    SlotCounter::Slot place_;             // under max_connections, and per address unless peer_ is a trusted proxy
    SlotCounter::Slot client_place_;      // a trusted proxy's connection: per address, for the client it forwards
    IpAddress client_place_key_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::size_t body_limit_ = 0;          // of the request being read
    ExchangePtr pending_;                 // the request whose body is being read, and what then runs it
    std::function<void(const ExchangePtr&)> then_;
    std::shared_ptr<Reply> reply_;
    std::string route_ = "unmatched";
    bool first_request_ = true;
    bool keep_alive_ = true;
    bool upgraded_ = false;   // stream_ was handed to a WebSocket session
};

// ---------------------------------------------------------------- listener

class Listener final : public std::enable_shared_from_this<Listener> {
public:
    Listener(net::io_context& ioc, std::shared_ptr<State> st)
        : ioc_(ioc), acceptor_(net::make_strand(ioc)), retry_(acceptor_.get_executor()), st_(std::move(st)) {}

    void open(const tcp::endpoint& ep, const std::string& listen) {
        beast::error_code ec;
        const auto fail_with = [&](const char* what) {
            throw std::runtime_error("cannot listen on " + listen + ": " + what + ": " + ec.message());
        };
        acceptor_.open(ep.protocol(), ec);
        if (ec) fail_with("open");
        acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        if (ec) fail_with("set_option");
        acceptor_.bind(ep, ec);
        if (ec) fail_with(ec == net::error::address_in_use ? "the port is in use" : "bind");
        acceptor_.listen(net::socket_base::max_listen_connections, ec);
        if (ec) fail_with("listen");
        port_ = acceptor_.local_endpoint().port();
    }

    std::uint16_t port() const { return port_; }

    void run() { net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); }); }

    void close() {
        net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] {
            beast::error_code ec;
            self->acceptor_.close(ec);
            self->retry_.cancel();
        });
    }

private:
    void do_accept() {
        acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec) {
            // Out of file descriptors and the like: back off instead of spinning.
            spdlog::warn("http: accept failed: {}", ec.message());
            retry_.expires_after(std::chrono::milliseconds(200));
            retry_.async_wait([self = shared_from_this()](beast::error_code wec) {
                if (!wec) self->do_accept();
            });
            return;
        }
        beast::error_code ignored;
        const auto remote = socket.remote_endpoint(ignored);
        if (ignored) return do_accept();  // gone already
        const IpAddress peer = to_ip(remote.address());
        auto place = take_place(peer);
        if (!place) {
            // Over a cap: closed before a byte is read, so an idle flood costs one descriptor for a moment.
            socket.close(ignored);
            return do_accept();
        }
        // Pops are small messages that must leave at once: no Nagle delay
        // (with delayed ACKs on the browser side it can hold one back ~40 ms).
        socket.set_option(tcp::no_delay(true), ignored);
        // The context of this moment: a reload changes what later connections get.
        if (auto tls = st_->tls_context())
            start_session(std::make_shared<HttpSession<TlsStream>>(std::move(socket), st_, std::move(tls), peer, std::move(place)));
        else
            start_session(std::make_shared<HttpSession<beast::tcp_stream>>(std::move(socket), st_, nullptr, peer, std::move(place)));
        do_accept();
    }

    /// The places of a new connection from `peer` under max_connections and
    /// (unless peer is a trusted proxy, whose clients are counted per
    /// request) max_connections_per_address; null when one is full.
    SlotCounter::Slot take_place(const IpAddress& peer) {
        const auto& o = st_->opt;
        auto all = st_->conn_slots.try_take("", o.max_connections);
        if (!all) {
            st_->connection_refused("from " + to_string(peer) + ": " + std::to_string(o.max_connections) +
                                    " connections are open ([server] max_connections)");
            return nullptr;
        }
        SlotCounter::Slot own;
        if (!st_->is_trusted_proxy(peer)) {
            own = st_->conn_slots.try_take(to_string(peer), o.max_connections_per_address);
            if (!own) {
                st_->connection_refused("from " + to_string(peer) + ": " + std::to_string(o.max_connections_per_address) +
                                        " connections from that address are open ([server] max_connections_per_address)");
                return nullptr;
            }
        }
        auto* metrics = &st_->metrics;
        metrics->connection_opened();
        return SlotCounter::Slot(static_cast<void*>(metrics), [all = std::move(all), own = std::move(own)](void* m) {
            static_cast<Metrics*>(m)->connection_closed();
        });
    }

    template <class Session>
    void start_session(const std::shared_ptr<Session>& session) {
        st_->track(session);
        session->run();
    }

    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_;
    std::shared_ptr<State> st_;
    std::uint16_t port_ = 0;
};

/// The certificate and key of `opt` as an Asio context, or the problem naming the file.
std::variant<TlsContext, std::string> load_tls(const ServerOptions& opt, std::string* summary) {
    auto loaded = load_tls_identity({opt.tls_certificate, opt.tls_private_key});
    if (auto* p = std::get_if<TlsProblem>(&loaded)) return std::move(p->message);
    auto& id = std::get<TlsIdentity>(loaded);
    if (id.expired)
        spdlog::warn("TLS: the certificate in {} has expired; browsers will refuse it", opt.tls_certificate.string());
    *summary = std::move(id.summary);
    return std::make_shared<net::ssl::context>(id.context.release());  // takes ownership
}

tcp::endpoint parse_listen(const std::string& listen) {
    const auto bad = [&](const std::string& why) { return std::runtime_error("cannot listen on '" + listen + "': " + why); };
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw bad("expected host:port");
    std::string host = listen.substr(0, colon);
    const std::string port_text = listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty() || host == "*") host = "0.0.0.0";
    if (host == "localhost") host = "127.0.0.1";
    unsigned long port = 0;
    try {
        std::size_t used = 0;
        port = std::stoul(port_text, &used);
        if (used != port_text.size() || port > 65535) throw std::out_of_range("port");
    } catch (const std::exception&) {
        throw bad("the port must be a number from 0 to 65535");
    }
    beast::error_code ec;
    auto addr = net::ip::make_address(host, ec);
    if (ec) throw bad("'" + host + "' is not an IP address");
    return {addr, static_cast<std::uint16_t>(port)};
}

}  // namespace detail

// ---------------------------------------------------------------- Server

struct Server::Impl {
    std::shared_ptr<detail::State> state;
    std::shared_ptr<detail::Listener> listener;
    bool stopped = false;
};

Server::Server(boost::asio::io_context& ioc, ServerOptions options, Storage& storage, PopHub& hub, CallService& calls,
               EngineStrand engine, const PhoneNormalizer& phones, std::function<std::string()> extra_metrics)
    : impl_(std::make_shared<Impl>()) {
    if (options.tls_certificate.empty() != options.tls_private_key.empty())
        throw std::invalid_argument("TLS needs both a certificate and a private key file");
    // Served over HTTPS: the browser must never send the session over plain HTTP.
    if (!options.tls_certificate.empty()) options.cookie_secure = true;
    impl_->state = std::make_shared<detail::State>(ioc, std::move(options), storage, hub, calls, std::move(engine),
                                                   phones, std::move(extra_metrics));
    detail::build_routes(*impl_->state);
}

Server::~Server() { stop(); }

void Server::set_pbx_control(std::shared_ptr<PbxControl> control) { impl_->state->pbx_control = std::move(control); }

void Server::start() {
    auto& st = *impl_->state;
    if (st.tls) {
        std::string summary;
        auto ctx = detail::load_tls(st.opt, &summary);
        if (auto* problem = std::get_if<std::string>(&ctx)) throw std::runtime_error("cannot serve TLS: " + *problem);
        st.set_tls_context(std::move(std::get<detail::TlsContext>(ctx)));
        spdlog::info("TLS: serving {}", summary);
    }
    auto ep = detail::parse_listen(impl_->state->opt.listen);
    auto listener = std::make_shared<detail::Listener>(impl_->state->ioc, impl_->state);
    listener->open(ep, impl_->state->opt.listen);
    impl_->listener = std::move(listener);
    impl_->listener->run();
}

Server::TlsReload Server::reload_tls() {
    auto& st = *impl_->state;
    if (!st.tls) return {false, "TLS is off ([server] tls_certificate is not set): nothing to re-read"};
    std::string summary;
    auto ctx = detail::load_tls(st.opt, &summary);
    if (auto* problem = std::get_if<std::string>(&ctx)) return {false, std::move(*problem)};
    st.set_tls_context(std::move(std::get<detail::TlsContext>(ctx)));
    return {true, std::move(summary)};
}

bool Server::tls() const { return impl_->state->tls; }

void Server::set_dialer(Dialer* dialer) { impl_->state->dialer.store(dialer); }

void Server::set_queue_pauser(QueuePauser* pauser) { impl_->state->queue_pauser.store(pauser); }

AgentStatus Server::agent_state(const AgentId& agent) const { return impl_->state->agent_desk->status(agent); }

void Server::reapply_agent_states(const PbxId& pbx) { impl_->state->agent_desk->reapply(pbx); }

std::uint16_t Server::port() const { return impl_->listener ? impl_->listener->port() : 0; }

void Server::stop() {
    if (!impl_ || impl_->stopped) return;
    impl_->stopped = true;
    impl_->state->stopping.store(true);
    if (impl_->state->wallboard) impl_->state->wallboard->stop();
    if (impl_->state->agent_desk) impl_->state->agent_desk->stop();
    if (impl_->listener) impl_->listener->close();
    impl_->state->close_all();
    impl_->state->blocking.join();
    impl_->state->hashing.join();
}

}  // namespace ringside::server
