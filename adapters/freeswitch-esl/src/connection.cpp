#include "ringside/esl/connection.hpp"

#include <unordered_map>

#include "ringside/adapters/link_shell.hpp"

namespace ringside::esl {

namespace asio = boost::asio;

/// The event socket's own part of the link: originate outcomes by Job-UUID.
struct EslExtras {
    std::unordered_map<std::string, Connection::OriginateHandler> originates;

    void handle(OriginateResult& r) {
        auto it = originates.find(r.job_uuid);
        if (it == originates.end()) return;
        auto h = std::move(it->second);
        originates.erase(it);
        if (h) h(r);
    }
    void clear() {
        auto waiting = std::move(originates);
        originates.clear();
        for (auto& [id, h] : waiting)
            if (h) h(OriginateResult{id, false, true, "link stopped"});
    }
};

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
    using Extras = EslExtras;

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

void Connection::originate(OriginateRequest request, OriginateHandler on_done) {
    asio::post(impl_->strand_, [self = impl_, request = std::move(request), h = std::move(on_done)]() mutable {
        ClientActions out;
        std::optional<std::string> id;
        if (!self->stopped_) id = self->client_.originate(request, out);
        if (!id) {
            const bool invalid = !originate_command(request, "").has_value();
            if (h) h(OriginateResult{{}, false, !invalid, invalid ? "invalid request" : "PBX link is down"});
            return;
        }
        self->extras_.originates[*id] = std::move(h);
        self->apply(std::move(out));
    });
}

}  // namespace ringside::esl
