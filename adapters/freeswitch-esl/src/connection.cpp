#include "ringside/esl/connection.hpp"

#include "ringside/adapters/link_shell.hpp"

namespace ringside::esl {

namespace asio = boost::asio;

/// What makes the shared link shell a FreeSWITCH event socket link.
struct LinkTraits {
    using Client = esl::Client;
    using ClientActions = esl::ClientActions;
    using Config = ConnectionConfig;
    using Write = client_action::Write;
    using Emit = client_action::Emit;
    using Close = client_action::Close;
    using LoggedIn = client_action::LoggedIn;
    using LoginRefused = client_action::LoginRefused;
    using Warning = client_action::Warning;
    using Extras = adapters::NoExtras;

    static constexpr const char* name = "ESL";
    static constexpr const char* endpoint = "FreeSWITCH event socket";
    static constexpr const char* peer = "FreeSWITCH";
    static constexpr const char* peer_closed = "FreeSWITCH closed the event socket";

    static ClientConfig client_config(const ConnectionConfig& c) {
        ClientConfig cc;
        cc.password = c.password;
        cc.ping_interval = c.ping_interval;
        cc.ping_timeout = c.ping_timeout;
        cc.login_timeout = c.login_timeout;
        cc.limits = c.limits;
        return cc;
    }

    static std::string logged_in(const ConnectionConfig& c, const client_action::LoggedIn&) {
        return "ESL authenticated at " + c.host + ":" + std::to_string(c.port);
    }
};

struct Connection::Impl : adapters::LinkShell<LinkTraits> {
    using LinkShell::LinkShell;
};

Connection::Connection(asio::any_io_executor ex, ConnectionConfig config, EventHandler on_event)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(config), std::move(on_event))) {}

Connection::~Connection() { stop(); }

void Connection::start() { impl_->start(); }

void Connection::stop() { impl_->stop(); }

LinkStatus Connection::status() const { return impl_->status(); }

}  // namespace ringside::esl
