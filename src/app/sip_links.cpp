#include "sip_links.hpp"

#include <spdlog/spdlog.h>

#include "ringside/sip/endpoint.hpp"

namespace ringside::app {

SipLinks::SipLinks() = default;
SipLinks::~SipLinks() = default;

void SipLinks::add(boost::asio::any_io_executor ex, const PbxConfig& p, std::vector<std::string> users_extensions,
                   std::function<void(pbx::Event)> on_event) {
    sip::EndpointConfig c;
    c.pbx = PbxId{p.id};
    auto hp = parse_host_port(p.listen);
    if (!hp) return;  // check_config refused it already
    c.listen_host = hp->host;
    c.listen_port = hp->port;
    c.contact_host = p.sip_contact_host;
    c.mode = p.sip_mode == "watch" ? sip::Mode::watch : sip::Mode::uas;
    c.max_ring = std::chrono::seconds(p.sip_max_ring_seconds);
    if (c.mode == sip::Mode::watch) {
        auto server = parse_host_port(p.sip_server);
        if (!server) return;
        c.server_host = server->host;
        c.server_port = server->port;
        c.transport = p.sip_transport;
        c.domain = p.sip_domain;
        c.expires = std::chrono::seconds(p.sip_expires_seconds);
        c.extensions = p.sip_extensions.empty() ? std::move(users_extensions) : p.sip_extensions;
        if (c.extensions.empty())
            spdlog::warn("pbx {}: SIP watch mode has no extensions to watch (none in the config, no user has one)", p.id);
    }
    auto ep = std::make_unique<sip::Endpoint>(std::move(ex), c, std::move(on_event));
    ep->start();
    std::lock_guard lock(mutex_);
    links_.push_back({p.id, std::move(ep)});
}

void SipLinks::stop_all() {
    std::lock_guard lock(mutex_);
    for (auto& l : links_) l.endpoint->stop();
}

void SipLinks::metrics(std::ostream& up, std::ostream& events, std::ostream& reconnects) const {
    std::lock_guard lock(mutex_);
    for (const auto& l : links_) {
        auto s = l.endpoint->status();
        up << "ringside_pbx_link_up{pbx=\"" << l.id << "\",state=\"" << adapters::to_string(s.state) << "\"} "
           << (s.state == adapters::LinkState::connected ? 1 : 0) << "\n";
        events << "ringside_pbx_events_total{pbx=\"" << l.id << "\"} " << s.events_received << "\n";
        reconnects << "ringside_pbx_reconnects_total{pbx=\"" << l.id << "\"} " << s.reconnects << "\n";
    }
}

}  // namespace ringside::app
