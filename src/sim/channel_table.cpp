#include "ringside/sim/channel_table.hpp"

#include <array>
#include <cstdio>

namespace ringside::sim {
namespace {

constexpr std::array<std::string_view, 14> state_keys{
    "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName",
    "ConnectedLineNum", "ConnectedLineName", "Language", "AccountCode", "Context",
    "Exten", "Priority", "Uniqueid", "Linkedid"};

std::vector<ami::Field> state_of(const ami::Message& m) {
    std::vector<ami::Field> out;
    out.reserve(state_keys.size());
    for (auto key : state_keys) out.push_back({std::string(key), std::string(m.get(key))});
    return out;
}

std::string hms(long long seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", seconds / 3600, (seconds / 60) % 60, seconds % 60);
    return buf;
}

/// The extension of a phone's device channel ("SIP/1001-00000002" -> "1001"); "" for others.
std::string_view device_extension(std::string_view channel) {
    std::size_t slash = std::string_view::npos;
    if (channel.starts_with("SIP/")) slash = 3;
    else if (channel.starts_with("PJSIP/")) slash = 5;
    if (slash == std::string_view::npos) return {};
    const auto dash = channel.rfind('-');
    if (dash == std::string_view::npos || dash <= slash + 1) return {};
    return channel.substr(slash + 1, dash - slash - 1);
}

constexpr std::size_t max_tracked_extensions = 10000;

}  // namespace

bool ChannelTable::extension_free(std::string_view extension, Timestamp now, std::chrono::milliseconds wrap_up) const {
    const std::string ext(extension);
    if (auto it = device_channels_.find(ext); it != device_channels_.end() && it->second > 0) return false;
    auto freed = device_freed_.find(ext);
    return freed == device_freed_.end() || now - freed->second >= wrap_up;
}

ChannelTable::Live* ChannelTable::find(std::string_view uniqueid) {
    auto it = seq_by_uniqueid_.find(std::string(uniqueid));
    if (it == seq_by_uniqueid_.end()) return nullptr;
    auto live = by_seq_.find(it->second);
    return live == by_seq_.end() ? nullptr : &live->second;
}

bool ChannelTable::has_uniqueid(std::string_view uniqueid) const {
    return seq_by_uniqueid_.count(std::string(uniqueid)) != 0;
}

void ChannelTable::apply(const ami::Message& m, Timestamp at) {
    const auto event = m.event();
    const auto uniqueid = m.get("Uniqueid");
    if (event.empty() || uniqueid.empty()) return;  // bridge-only events carry no channel
    if (ami::iequals(event, "Newchannel")) {
        if (by_seq_.size() >= max_channels_ || has_uniqueid(uniqueid)) return;
        const auto seq = next_seq_++;
        by_seq_.emplace(seq, Live{state_of(m), {}, {}, {}, at});
        seq_by_uniqueid_.emplace(std::string(uniqueid), seq);
        if (auto ext = device_extension(m.get("Channel")); !ext.empty())
            if (device_channels_.size() < max_tracked_extensions || device_channels_.count(std::string(ext)))
                ++device_channels_[std::string(ext)];
        return;
    }
    if (ami::iequals(event, "Hangup")) {
        auto it = seq_by_uniqueid_.find(std::string(uniqueid));
        if (it == seq_by_uniqueid_.end()) return;
        if (auto live = by_seq_.find(it->second); live != by_seq_.end()) {
            for (const auto& f : live->second.state) {
                if (f.key != "Channel") continue;
                auto ext = device_extension(f.value);
                auto d = ext.empty() ? device_channels_.end() : device_channels_.find(std::string(ext));
                if (d != device_channels_.end() && --d->second <= 0) {
                    device_channels_.erase(d);
                    if (device_freed_.size() >= max_tracked_extensions) device_freed_.clear();
                    device_freed_[std::string(ext)] = at;
                }
            }
        }
        by_seq_.erase(it->second);
        seq_by_uniqueid_.erase(it);
        return;
    }
    Live* live = find(uniqueid);
    if (!live) return;
    // Any channel-carrying event is the channel's state at that moment;
    // events about two channels (DialBegin) describe the first one unprefixed.
    if (m.has("ChannelState")) live->state = state_of(m);
    if (ami::iequals(event, "Newexten")) {
        live->application = std::string(m.get("Application"));
        live->application_data = std::string(m.get("AppData"));
    } else if (ami::iequals(event, "BridgeEnter")) {
        live->bridge_id = std::string(m.get("BridgeUniqueid"));
    } else if (ami::iequals(event, "BridgeLeave")) {
        live->bridge_id.clear();
    }
}

std::vector<ami::Message> ChannelTable::core_show_channels(std::string_view action_id, Timestamp now) const {
    std::vector<ami::Message> out;
    out.reserve(by_seq_.size());
    for (const auto& [seq, live] : by_seq_) {
        ami::Message m;
        m.fields.push_back({"Event", "CoreShowChannel"});
        if (!action_id.empty()) m.fields.push_back({"ActionID", std::string(action_id)});
        for (const auto& f : live.state) m.fields.push_back(f);
        m.fields.push_back({"BridgeId", live.bridge_id});
        m.fields.push_back({"Application", live.application});
        m.fields.push_back({"ApplicationData", live.application_data});
        m.fields.push_back({"Duration", hms(seconds_between(live.created, now))});
        out.push_back(std::move(m));
    }
    return out;
}

void ChannelTable::clear() {
    by_seq_.clear();
    seq_by_uniqueid_.clear();
    device_channels_.clear();
}

}  // namespace ringside::sim
