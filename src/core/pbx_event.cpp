#include "ringside/core/pbx_event.hpp"

#include "ringside/core/ascii.hpp"

#include <array>

namespace ringside::pbx {
namespace {

bool is_hex(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
    return true;
}

// Channel technologies that are not a phone an agent sits at: dialplan
// plumbing, conference and media helpers, queue agents.
constexpr std::array<std::string_view, 16> non_device_techs = {
    "Local",  "Bridge",      "Message",      "Announcer", "Recorder", "CBAnn",    "CBRec",     "Snoop",
    "Agent",  "UnicastRTP",  "MulticastRTP", "AsyncGoto", "Surrogate", "Parked", "ConfBridge", "Multicast"};

/// FreeSWITCH "sofia/<profile>/<target>": the target is the registered user,
/// "1001@10.0.0.1", "sip:1001@10.0.0.5:5060" or "1001@domain;fs_nat=yes".
/// "sofia/gateway/<gw>/<number>" is a trunk, not a phone.
std::optional<Extension> sofia_extension(std::string_view rest) {
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0) return std::nullopt;
    auto target = rest.substr(slash + 1);
    if (target.find('/') != std::string_view::npos) return std::nullopt;
    if (target.size() >= 4 && iequals(target.substr(0, 4), "sip:")) target.remove_prefix(4);
    else if (target.size() >= 5 && iequals(target.substr(0, 5), "sips:")) target.remove_prefix(5);
    if (auto at = target.find('@'); at != std::string_view::npos) target = target.substr(0, at);
    if (auto semi = target.find(';'); semi != std::string_view::npos) target = target.substr(0, semi);
    if (target.empty()) return std::nullopt;
    return Extension{std::string(target)};
}

}  // namespace

std::optional<Extension> device_extension(std::string_view channel) {
    // "<ZOMBIE>", "<MASQ>": a channel being torn down or swapped, not a device.
    if (channel.find('<') != std::string_view::npos) return std::nullopt;
    const auto slash = channel.find('/');
    if (slash == std::string_view::npos || slash == 0) return std::nullopt;
    const auto tech = channel.substr(0, slash);
    // FreeSWITCH endpoints: sofia names phones by SIP user; loopback is
    // dialplan plumbing like Asterisk's Local.
    if (iequals(tech, "sofia")) return sofia_extension(channel.substr(slash + 1));
    if (iequals(tech, "loopback")) return std::nullopt;
    for (auto t : non_device_techs)
        if (iequals(tech, t)) return std::nullopt;
    auto rest = channel.substr(slash + 1);
    // Drop the per-call sequence suffix: "1001-0000001a", IAX2 "1001-123",
    // DAHDI "1-1". The peer name itself may contain dashes ("9170-12").
    if (auto dash = rest.rfind('-'); dash != std::string_view::npos && is_hex(rest.substr(dash + 1)))
        rest = rest.substr(0, dash);
    if (rest.empty() || rest.find_first_of(";/") != std::string_view::npos) return std::nullopt;
    return Extension{std::string(rest)};
}

bool is_local_channel(std::string_view channel) {
    return channel.size() > 6 && iequals(channel.substr(0, 6), "Local/");
}

}  // namespace ringside::pbx
