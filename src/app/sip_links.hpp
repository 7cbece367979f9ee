#pragma once
// The SIP endpoints of one running Ringside ([[pbx]] type = "sip"), kept
// apart from the Runtime's AMI/ESL links so the Runtime only calls add(),
// stop_all() and metrics().
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "ringside/app/config.hpp"
#include "ringside/core/pbx_event.hpp"

namespace ringside::sip {
class Endpoint;
}

namespace ringside::app {

class SipLinks {
public:
    SipLinks();
    ~SipLinks();

    /// Starts one endpoint. users_extensions: the extensions of the enabled
    /// users, watched when the config lists none (mode watch).
    void add(boost::asio::any_io_executor ex, const PbxConfig& p, std::vector<std::string> users_extensions,
             std::function<void(pbx::Event)> on_event);
    void stop_all();
    /// ringside_pbx_link_up lines to `up`, the event and reconnect counters to the others.
    void metrics(std::ostream& up, std::ostream& events, std::ostream& reconnects) const;

private:
    struct Link {
        std::string id;
        std::unique_ptr<sip::Endpoint> endpoint;
    };
    mutable std::mutex mutex_;
    std::vector<Link> links_;
};

}  // namespace ringside::app
