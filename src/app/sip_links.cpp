#include "sip_links.hpp"

#include <spdlog/spdlog.h>

#include "ringside/sip/endpoint.hpp"

namespace ringside::app {

std::unique_ptr<sip::Endpoint> make_sip_endpoint(boost::asio::any_io_executor ex, const PbxConfig& p,
                                                 std::vector<std::string> users_extensions,
                                                 std::function<void(pbx::Event)> on_event) {
    sip::EndpointConfig c;
    c.pbx = PbxId{p.id};
    auto hp = parse_host_port(p.listen);
    if (!hp) return nullptr;
    c.listen_host = hp->host;
    c.listen_port = hp->port;
    c.contact_host = p.sip_contact_host;
    c.mode = p.sip_mode == "watch" ? sip::Mode::watch : sip::Mode::uas;
    c.max_ring = std::chrono::seconds(p.sip_max_ring_seconds);
    if (c.mode == sip::Mode::watch) {
        auto server = parse_host_port(p.sip_server);
        if (!server) return nullptr;
        c.server_host = server->host;
        c.server_port = server->port;
        c.transport = p.sip_transport;
        c.domain = p.sip_domain;
        c.expires = std::chrono::seconds(p.sip_expires_seconds);
        c.extensions = p.sip_extensions.empty() ? std::move(users_extensions) : p.sip_extensions;
        if (c.extensions.empty())
            spdlog::warn("pbx {}: SIP watch mode has no extensions to watch (none in the config, no user has one)", p.id);
    }
    return std::make_unique<sip::Endpoint>(std::move(ex), c, std::move(on_event));
}

}  // namespace ringside::app
