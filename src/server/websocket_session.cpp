// One agent's browser on /ws. Hub messages arrive through deliver() (any
// thread) and are posted to this session's strand; writes go through a
// bounded queue that starts writing only when it was empty. A full queue
// closes the session ("send queue full") so the browser reconnects and
// resumes instead of the server buffering without bound.
#include <array>
#include <deque>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <spdlog/spdlog.h>

#include "ringside/core/time.hpp"
#include "server_state.hpp"

namespace ringside::server::detail {
namespace {

namespace websocket = beast::websocket;

/// One text frame to write: `head` (a broadcast's own `{"seq":N,`, else
/// empty) then `body`, which every session given the message shares.
struct Frame {
    std::string head;
    std::shared_ptr<const std::string> body;
};

/// How long a session that must close waits for its stuck write before dropping the TCP connection.
constexpr auto close_grace = std::chrono::seconds(5);
/// After the upgrade, live messages wait this long for the browser's first
/// message: when that is a resume, the missed messages go out before them,
/// strictly in seq order. Any first message (the agent page sends resume or
/// ping) ends the wait at once.
constexpr auto resume_window = std::chrono::milliseconds(500);
/// How often an open socket checks that its login session still exists and
/// has not expired (logout closes it at once, through State::end_session).
constexpr auto session_check = std::chrono::seconds(15);

/// Over plain TCP (`beast::tcp_stream`) or TLS (`TlsStream`): one code path.
template <class Stream>
class WebSocketSession final : public PopSubscriber,
                               public Closeable,
                               public std::enable_shared_from_this<WebSocketSession<Stream>> {
    using std::enable_shared_from_this<WebSocketSession<Stream>>::shared_from_this;
    using std::enable_shared_from_this<WebSocketSession<Stream>>::weak_from_this;

public:
    WebSocketSession(Stream&& stream, TlsContext tls, std::shared_ptr<State> st, User user, std::uint64_t auth_mark,
                     std::string token_hash, SlotCounter::Slot slot)
        : tls_(std::move(tls)), ws_(std::move(stream)), close_timer_(ws_.get_executor()), hold_timer_(ws_.get_executor()),
          session_timer_(ws_.get_executor()), st_(std::move(st)), user_(std::move(user)), auth_mark_(auth_mark),
          token_hash_(std::move(token_hash)), slot_(std::move(slot)) {}

    ~WebSocketSession() override {
        if (subscribed_) st_->hub.unsubscribe(user_.username, this);
        if (board_) st_->hub.leave(PopSink::Audience::supervisors, user_.username);
        if (open_) st_->metrics.ws_closed();
    }

    void run(Request req) {
        net::dispatch(ws_.get_executor(), [self = shared_from_this(), req = std::move(req)]() mutable {
            self->do_accept(std::move(req));
        });
    }

    void deliver(std::uint64_t seq, std::shared_ptr<const std::string> message) override {
        net::post(ws_.get_executor(), [self = shared_from_this(), seq, message = std::move(message)]() mutable {
            self->on_live(seq, Frame{{}, std::move(message)});
        });
    }

    void deliver_shared(std::uint64_t seq, std::string head, std::shared_ptr<const std::string> body) override {
        net::post(ws_.get_executor(),
                  [self = shared_from_this(), seq, head = std::move(head), body = std::move(body)]() mutable {
                      self->on_live(seq, Frame{std::move(head), std::move(body)});
                  });
    }

    void end(const char* reason) override {
        net::post(ws_.get_executor(), [self = shared_from_this(), reason] {
            // The browser may have the 101 before on_accept runs: say why once it does.
            if (!self->open_) return void(self->session_ended_ = reason);
            self->begin_close(websocket::close_code::policy_error, reason);
        });
    }

    void shutdown() override {
        net::post(ws_.get_executor(), [self = shared_from_this()] {
            self->begin_close(websocket::close_code::going_away, "server shutting down");
        });
    }

    void end_session(const std::string& token_hash, const char* reason) override {
        if (token_hash_.empty() || token_hash != token_hash_) return;  // token_hash_ never changes
        net::post(ws_.get_executor(), [self = shared_from_this(), reason] {
            // The browser may have the 101 before on_accept runs: say why once it does.
            if (!self->open_) return void(self->session_ended_ = reason);
            self->begin_close(websocket::close_code::policy_error, reason);
        });
    }

private:
    void do_accept(Request req) {
        // The websocket stream keeps its own timeouts; the tcp_stream's must be off.
        beast::get_lowest_layer(ws_).expires_never();
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(http::field::server, "ringside"); }));
        ws_.read_message_max(st_->opt.ws_max_message_bytes);
        ws_.async_accept(req, beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec) {
        if (ec) return fail(ec, "accept");
        open_ = true;
        st_->metrics.ws_opened();
        // From here on every new message of this user reaches deliver(); the
        // ones before are there for resume.
        subscribed_at_ = st_->hub.subscribe(user_.username, this, weak_from_this());
        last_seq_ = sent_low_ = subscribed_at_;
        subscribed_ = true;
        // Disabled (or role changed, password reset) after this session was
        // checked and before it subscribed: that disconnect missed it.
        if (const char* why = st_->hub.disconnected_since(user_.username, auth_mark_))
            return begin_close(websocket::close_code::policy_error, why);
        if (session_ended_) return begin_close(websocket::close_code::policy_error, session_ended_);
        // Supervisors and admins get the live wallboard (board.*); agents never.
        if (role_at_least(user_.role, Role::supervisor)) {
            st_->hub.join(PopSink::Audience::supervisors, user_.username);
            board_ = true;
        }
        spdlog::debug("ws: {} connected", user_.username.value());
        check_session_later();
        holding_ = true;
        hold_timer_.expires_after(resume_window);
        hold_timer_.async_wait([self = shared_from_this()](beast::error_code wec) {
            if (!wec) self->end_hold();
        });
        do_read();
    }

    /// A socket signed in with a login session closes when the session expires
    /// (or is deleted by a password reset, say): checked every session_check.
    void check_session_later() {
        if (token_hash_.empty()) return;
        session_timer_.expires_after(session_check);
        session_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec || self->closing_) return;
            // The stored session is read on the blocking pool: a SQLite read
            // (which may wait for the database's lock) never holds up the I/O
            // thread that serves this and other connections. The answer comes
            // back on this session's strand.
            net::post(self->st_->blocking, [self] {
                bool valid = true;
                try {
                    valid = self->st_->storage.session_user(self->token_hash_, now_ms()).has_value();
                } catch (const std::exception& e) {
                    spdlog::warn("ws: could not check {}'s session: {}", self->user_.username.value(), e.what());
                }
                net::post(self->ws_.get_executor(), [self, valid] { self->on_session_checked(valid); });
            });
        });
    }

    void on_session_checked(bool valid) {
        if (closing_) return;
        if (!valid) return begin_close(websocket::close_code::policy_error, "session expired");
        // A directory user's socket is checked too when no request comes:
        // a withdrawn account ends the session, which closes this socket.
        recheck_directory(*st_, token_hash_, user_, [](DirectoryCheck, std::optional<User>) {});
        check_session_later();
    }

    /// Live messages held since the upgrade go out now, in order.
    void end_hold() {
        if (!holding_) return;
        holding_ = false;
        hold_timer_.cancel();
        auto held = std::move(held_live_);
        held_live_.clear();
        for (auto& m : held) enqueue(std::move(m));
        request_board();
    }

    /// A supervisor's socket now carries live messages: the engine sends it
    /// the whole board once (in seq order with the deltas that follow).
    void request_board() {
        if (!board_ || board_requested_ || closing_) return;
        board_requested_ = true;
        net::post(st_->engine, [st = st_, user = user_.username] { st->calls.send_board(user); });
    }

    void do_read() {
        ws_.async_read(buffer_, beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec) return fail(ec, "read");
        if (!ws_.got_text()) {
            buffer_.consume(buffer_.size());
            control(error_message("only text frames with JSON objects are understood"));
            return do_read();
        }
        auto text = beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
        on_client_message(text);
        if (!close_started_) do_read();
    }

    static nlohmann::json error_message(std::string message) {
        return {{"type", "error"}, {"message", std::move(message)}};
    }

    void on_client_message(const std::string& text) {
        const auto j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return control(error_message("a message must be a JSON object"));
        const auto type = j.find("type");
        if (type == j.end() || !type->is_string()) return control(error_message("a message needs a string 'type'"));
        const auto& t = type->get_ref<const std::string&>();
        if (t != "resume") end_hold();
        if (t == "ping") return control({{"type", "pong"}});
        if (t == "pop.shown") return pop_shown(j);
        if (t == "resume") {
            const auto after = j.find("after_seq");
            // nlohmann keeps non-negative integers as number_unsigned.
            if (after == j.end() || !after->is_number_unsigned())
                return control(error_message("'after_seq' must be a non-negative integer"));
            return resume(after->get<std::uint64_t>());
        }
        control(error_message("unknown message type"));
    }

    /// {"type":"pop.shown","call_id","seq"}: the console painted that pop's
    /// card. Counted once per pop in ringside_pop_shown_seconds when it names
    /// a call.ringing this user was sent; anything else is ignored without an
    /// answer (a receipt needs none, and a stale tab must not see errors).
    void pop_shown(const nlohmann::json& j) {
        const auto call = j.find("call_id");
        const auto seq = j.find("seq");
        if (call == j.end() || !call->is_string() || call->get_ref<const std::string&>().size() > 200 ||
            seq == j.end() || !seq->is_number_unsigned())
            return st_->metrics.pop_shown_ignored();
        const auto delay = st_->hub.acknowledge_shown(user_.username, seq->get<std::uint64_t>(),
                                                      call->get_ref<const std::string&>(), now_ms());
        if (!delay) return st_->metrics.pop_shown_ignored();
        st_->metrics.pop_shown(*delay);
    }

    /// Sends every held message after `after` that this connection has not
    /// sent yet, in seq order, then carries on live. Runs on the strand, so
    /// no live message is written in between; a live message already posted
    /// but not yet run has seq <= the snapshot's last and is dropped by
    /// on_live as a duplicate.
    ///
    /// This connection has sent (sent_low_, last_seq_]. A browser that
    /// resumes as its first message (the agent page does) gets strict order;
    /// one that resumes after live messages went out gets the older ones
    /// after them, never a gap or a duplicate.
    void resume(std::uint64_t after) {
        if (holding_) {
            // Nothing live was written yet: forget the held ones, the replay
            // below holds them too, in their place.
            holding_ = false;
            hold_timer_.cancel();
            held_live_.clear();
            last_seq_ = subscribed_at_;
        }
        auto held = st_->hub.replay(user_.username, after);
        for (const auto& h : held) {
            if (close_started_ || closing_) return;
            if (h.seq <= sent_low_ || h.seq > last_seq_) enqueue(Frame{{}, h.text});
            if (h.seq > last_seq_) last_seq_ = h.seq;
        }
        if (!held.empty()) sent_low_ = std::min(sent_low_, held.front().seq - 1);
        request_board();
    }

    void on_live(std::uint64_t seq, Frame message) {
        if (!open_ || closing_ || seq <= last_seq_) return;
        last_seq_ = seq;
        if (holding_) {
            if (held_live_.size() >= st_->opt.ws_queue_limit) return overflow();
            held_live_.push_back(std::move(message));
            return;
        }
        enqueue(std::move(message));
    }

    void control(const nlohmann::json& j) {
        enqueue(Frame{{}, std::make_shared<const std::string>(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))});
    }

    void enqueue(Frame message) {
        if (closing_) return;
        if (queue_.size() >= st_->opt.ws_queue_limit) return overflow();
        queue_.push_back(std::move(message));
        if (!writing_) do_write();
    }

    void overflow() {
        // Keep only the message being written (its buffer is in use).
        const std::size_t keep = writing_ ? 1 : 0;
        st_->hub.note_dropped(queue_.size() - keep + held_live_.size() + 1);
        st_->metrics.ws_overflow();
        queue_.resize(keep);
        held_live_.clear();
        holding_ = false;
        spdlog::warn("ws: {} is not reading; closing its connection (send queue full)", user_.username.value());
        begin_close(websocket::close_code::try_again_later, "send queue full; reconnect and resume");
    }

    void begin_close(websocket::close_code code, const char* reason) {
        if (closing_) return;
        closing_ = true;
        holding_ = false;
        held_live_.clear();
        hold_timer_.cancel();
        session_timer_.cancel();
        close_reason_ = websocket::close_reason(code, reason);
        if (!open_) {
            // Still handshaking: nothing to say goodbye to.
            beast::get_lowest_layer(ws_).close();
            return;
        }
        // A write that never completes (the browser stopped reading) would
        // hold the close frame back forever: drop the connection after a grace.
        close_timer_.expires_after(close_grace);
        close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec) beast::get_lowest_layer(self->ws_).close();
        });
        if (!writing_) do_close();
    }

    void do_write() {
        writing_ = true;
        ws_.text(true);
        const Frame& f = queue_.front();  // stays put until on_write pops it
        ws_.async_write(std::array<net::const_buffer, 2>{net::buffer(f.head), net::buffer(*f.body)},
                        beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        writing_ = false;
        if (ec) {
            queue_.clear();
            return fail(ec, "write");
        }
        queue_.pop_front();
        if (closing_) return do_close();
        if (!queue_.empty()) do_write();
    }

    void do_close() {
        if (close_started_) return;
        close_started_ = true;
        queue_.clear();
        ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code ec) {
            self->close_timer_.cancel();
            if (ec) self->fail(ec, "close");
        });
    }

    void fail(beast::error_code ec, const char* what) {
        close_timer_.cancel();
        hold_timer_.cancel();
        session_timer_.cancel();
        if (ec == net::error::operation_aborted || ec == websocket::error::closed || ec == net::error::eof ||
            ec == net::error::connection_reset || ec == beast::error::timeout || ec == net::ssl::error::stream_truncated)
            return;
        spdlog::debug("ws: {}: {}", what, ec.message());
    }

    TlsContext tls_;   // the certificate's context the stream was accepted with; null for plain TCP
    websocket::stream<Stream> ws_;
    beast::flat_buffer buffer_;
    net::steady_timer close_timer_;
    net::steady_timer hold_timer_;
    net::steady_timer session_timer_;
    std::shared_ptr<State> st_;
    User user_;
    std::deque<Frame> queue_;
    std::deque<Frame> held_live_;   // live messages during the resume window
    websocket::close_reason close_reason_;
    std::uint64_t auth_mark_ = 0;       // the hub's disconnect mark before the user was authenticated
    std::string token_hash_;            // the login session this socket was opened with; "" for none
    const char* session_ended_ = nullptr;  // that session ended during the handshake: the close reason
    SlotCounter::Slot slot_;            // this user's place in State::ws_slots
    std::uint64_t subscribed_at_ = 0;   // the user's latest seq when this connection subscribed
    std::uint64_t last_seq_ = 0;   // highest seq this connection has queued (or held)
    std::uint64_t sent_low_ = 0;   // everything in (sent_low_, last_seq_] has been queued
    bool open_ = false;
    bool holding_ = false;         // within the resume window
    bool subscribed_ = false;
    bool board_ = false;                // joined the supervisors' audience
    bool board_requested_ = false;      // the board snapshot was asked of the engine
    bool writing_ = false;
    bool closing_ = false;
    bool close_started_ = false;
};

}  // namespace

namespace {
template <class Stream>
void start_websocket(const std::shared_ptr<State>& st, Stream&& stream, TlsContext tls, Request req, User user,
                     std::uint64_t mark, std::string token_hash, SlotCounter::Slot slot) {
    auto session = std::make_shared<WebSocketSession<Stream>>(std::move(stream), std::move(tls), st, std::move(user),
                                                              mark, std::move(token_hash), std::move(slot));
    st->track(session);
    session->run(std::move(req));
}
}  // namespace

void run_websocket(const std::shared_ptr<State>& st, beast::tcp_stream&& stream, TlsContext tls, Request req,
                   User user, std::uint64_t mark, std::string token_hash, SlotCounter::Slot slot) {
    start_websocket(st, std::move(stream), std::move(tls), std::move(req), std::move(user), mark, std::move(token_hash),
                    std::move(slot));
}

void run_websocket(const std::shared_ptr<State>& st, TlsStream&& stream, TlsContext tls, Request req, User user,
                   std::uint64_t mark, std::string token_hash, SlotCounter::Slot slot) {
    start_websocket(st, std::move(stream), std::move(tls), std::move(req), std::move(user), mark, std::move(token_hash),
                    std::move(slot));
}

}  // namespace ringside::server::detail
