#pragma once
// Turns AMI events into PBX-neutral events (ringside/core/pbx_event.hpp).
// Knows both event sets: Asterisk 12+ (DialBegin/DialEnd, BridgeEnter/Leave,
// Linkedid everywhere) and older ones (Dial SubEvent Begin/End, Bridge
// Link/Unlink, Join/Leave, no Linkedid). Stateful only where old Asterisk
// names channels instead of ids. Sans-I/O.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringside/ami/message.hpp"
#include "ringside/core/pbx_event.hpp"

namespace ringside::ami {

class EventMapper {
public:
    explicit EventMapper(PbxId pbx);

    /// received_at is used when the message has no `Timestamp:` header
    /// (timestampevents off). Responses and events Ringside has no use for
    /// give an empty vector. CoreShowChannel (resync listing) gives ChannelCreated.
    std::vector<pbx::Event> map(const Message& m, Timestamp received_at);

    /// Forget channel-name bookkeeping (after a reconnect).
    void reset();

private:
    PbxId pbx_;
    std::unordered_map<std::string, std::string> uniqueid_by_channel_;  // pre-12: Dial/Bridge name channels
    // Pre-12 `Dial SubEvent: End` names only the caller: remember whom it dialled.
    std::unordered_map<std::string, std::string> dialled_by_caller_;
    // Who is or was in each bridge, so an AttendedTransfer without Transferee*
    // and TransferTarget* headers (Asterisk 12/13) can name both. Bounded:
    // BridgeDestroy and Hangup forget.
    struct BridgeMember {
        std::string uniqueid;
        bool present = false;
        unsigned long long seq = 0;  // when it last entered or left
    };
    std::unordered_map<std::string, std::vector<BridgeMember>> bridges_;
    unsigned long long bridge_seq_ = 0;
};

}  // namespace ringside::ami
