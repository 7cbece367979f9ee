#pragma once
// The channels a simulated Asterisk currently has, kept from the events it
// sends (Newchannel adds, Hangup removes, state/dialplan/bridge events update),
// so that CoreShowChannels answers what a real Asterisk would during a call.
// Sans-I/O; bounded by max_channels (Newchannel beyond it is ignored).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringside/ami/message.hpp"
#include "ringside/core/time.hpp"

namespace ringside::sim {

class ChannelTable {
public:
    explicit ChannelTable(std::size_t max_channels = 100000) : max_channels_(max_channels) {}

    /// Applies one outgoing event; `at` is when it was sent (Duration counts from it).
    void apply(const ami::Message& event, Timestamp at);

    /// One `CoreShowChannel` event per live channel, oldest first, with
    /// Asterisk's header order (ActionID only when non-empty).
    std::vector<ami::Message> core_show_channels(std::string_view action_id, Timestamp now) const;

    std::size_t size() const noexcept { return by_seq_.size(); }
    /// Whether phone `extension` (its device channels `SIP/<ext>-N` or
    /// `PJSIP/<ext>-N`) is free at `now`: no channel of it is up (ringing or
    /// talking), and its last one hung up at least `wrap_up` ago, as a queue's
    /// wrap-up time would have it.
    bool extension_free(std::string_view extension, Timestamp now, std::chrono::milliseconds wrap_up) const;
    bool has_uniqueid(std::string_view uniqueid) const;
    void clear();

private:
    struct Live {
        std::vector<ami::Field> state;  // Channel .. Linkedid, as in the last event about it
        std::string application;
        std::string application_data;
        std::string bridge_id;
        Timestamp created{};
    };
    Live* find(std::string_view uniqueid);

    std::size_t max_channels_;
    std::uint64_t next_seq_ = 0;
    std::map<std::uint64_t, Live> by_seq_;
    std::unordered_map<std::string, std::uint64_t> seq_by_uniqueid_;
    std::unordered_map<std::string, int> device_channels_;     // extension -> its device channels up now
    std::unordered_map<std::string, Timestamp> device_freed_;  // extension -> when its last one hung up
};

}  // namespace ringside::sim
