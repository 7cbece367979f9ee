#pragma once
// Makes the SIP endpoint of a [[pbx]] type = "sip" for the connection
// manager (app.cpp registers it as the "sip" link type).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "ringside/app/config.hpp"
#include "ringside/core/pbx_event.hpp"

namespace ringside::sip {
class Endpoint;
}

namespace ringside::app {

/// One unstarted endpoint; null when its addresses do not parse (check-config
/// refuses those). users_extensions: the extensions of the enabled users,
/// watched when the config lists none (mode watch).
std::unique_ptr<sip::Endpoint> make_sip_endpoint(boost::asio::any_io_executor ex, const PbxConfig& p,
                                                 std::vector<std::string> users_extensions,
                                                 std::function<void(pbx::Event)> on_event);

}  // namespace ringside::app
