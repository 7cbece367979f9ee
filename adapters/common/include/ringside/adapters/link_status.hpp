#pragma once
// The state of one PBX link, the same for every protocol: the admin page and
// the metrics read it without knowing whether the far end is Asterisk or
// FreeSWITCH. ami::LinkStatus and esl::LinkStatus are aliases of these.
#include <cstdint>
#include <optional>
#include <string>

#include "ringside/core/time.hpp"

namespace ringside::adapters {

enum class LinkState { connecting, connected, login_refused, reconnecting, stopped };

/// "connecting", "connected", "login_refused", "reconnecting", "stopped"
inline const char* to_string(LinkState s) noexcept {
    switch (s) {
    case LinkState::connecting: return "connecting";
    case LinkState::connected: return "connected";
    case LinkState::login_refused: return "login_refused";
    case LinkState::reconnecting: return "reconnecting";
    case LinkState::stopped: return "stopped";
    }
    return "unknown";
}

/// A snapshot for metrics and the admin page.
struct LinkStatus {
    LinkState state = LinkState::connecting;
    std::string last_error;                  // plain words, "" when none yet
    std::uint64_t events_received = 0;       // pbx events handed to the engine
    std::uint64_t reconnects = 0;            // links lost or refused since start
    std::uint64_t protocol_warnings = 0;     // reader limits crossed (data dropped, link kept)
    std::optional<Timestamp> last_event_at;  // when the last event was received
};

}  // namespace ringside::adapters
