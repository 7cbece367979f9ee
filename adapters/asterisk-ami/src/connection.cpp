#include "ringside/ami/connection.hpp"

#include <unordered_map>

#include "ringside/adapters/link_shell.hpp"

namespace ringside::ami {

namespace asio = boost::asio;

/// AMI's own part of the link: responses matched to send_action() by ActionID.
struct AmiResponseHandlers {
    std::unordered_map<std::string, Connection::ResponseHandler> by_id;

    void handle(client_action::Response& r) {
        auto it = by_id.find(r.action_id);
        if (it == by_id.end()) return;
        auto h = std::move(it->second);
        by_id.erase(it);
        if (h) h(r);
    }
    std::unordered_map<std::string, Connection::OriginateHandler> originates;

    void handle(client_action::OriginateResult& r) {
        auto it = originates.find(r.action_id);
        if (it == originates.end()) return;
        auto h = std::move(it->second);
        originates.erase(it);
        if (h) h(r);
    }
    void clear() {
        by_id.clear();
        // Stopped: whoever waits for an originate hears it was lost.
        auto waiting = std::move(originates);
        originates.clear();
        for (auto& [id, h] : waiting)
            if (h) h(client_action::OriginateResult{id, false, true, "link stopped", {}});
    }
};

/// What makes the shared link shell an AMI link.
struct LinkTraits {
    using Client = ami::Client;
    using ClientActions = ami::ClientActions;
    using Config = ConnectionConfig;
    using Write = client_action::Write;
    using Emit = client_action::Emit;
    using Close = client_action::Close;
    using LoggedIn = client_action::LoggedIn;
    using LoginRefused = client_action::LoginRefused;
    using Warning = client_action::Warning;
    using Extras = AmiResponseHandlers;

    static constexpr const char* name = "AMI";
    static constexpr const char* endpoint = "AMI";
    static constexpr const char* peer = "AMI peer";
    static constexpr const char* peer_closed = "AMI peer closed the connection";

    static ClientConfig client_config(const ConnectionConfig& c) {
        ClientConfig cc;
        cc.username = c.username;
        cc.secret = c.secret;
        cc.md5 = c.md5;
        cc.ping_interval = c.ping_interval;
        cc.ping_timeout = c.ping_timeout;
        cc.login_timeout = c.login_timeout;
        cc.limits = c.limits;
        return cc;
    }

    static std::string logged_in(const ConnectionConfig& c, const client_action::LoggedIn& l) {
        return "AMI logged in as user " + c.username + " (" + l.greeting + ")";
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

void Connection::send_action(Message action, ResponseHandler on_response) {
    asio::post(impl_->strand_, [self = impl_, action = std::move(action), h = std::move(on_response)]() mutable {
        if (self->stopped_) {
            if (h) h(client_action::Response{{}, Message{}, true});
            return;
        }
        ClientActions out;
        auto id = self->client_.send_action(std::move(action), out);
        self->extras_.by_id[id] = std::move(h);
        self->apply(std::move(out));
    });
}

void Connection::originate(OriginateRequest request, OriginateHandler on_done) {
    asio::post(impl_->strand_, [self = impl_, request = std::move(request), h = std::move(on_done)]() mutable {
        ClientActions out;
        std::optional<std::string> id;
        if (!self->stopped_ && self->client_.state() == Client::State::logged_in) id = self->client_.originate(request, out);
        if (!id) {
            const bool invalid = !originate_action(request).has_value();
            if (h) h(client_action::OriginateResult{{}, false, !invalid, invalid ? "invalid request" : "PBX link is down", {}});
            return;
        }
        self->extras_.originates[*id] = std::move(h);
        self->apply(std::move(out));
    });
}

LinkStatus Connection::status() const { return impl_->status(); }

}  // namespace ringside::ami
