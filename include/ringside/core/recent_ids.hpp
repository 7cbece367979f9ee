#pragma once
// A bounded memory of ids that are over (channels that hung up, calls that
// ended), so that an event arriving after the end is taken as late and never
// starts the channel or the call again. Holds the last `capacity` ids added;
// the oldest is forgotten first, so memory stays bounded whatever the PBX
// sends. Not thread-safe.
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_set>

namespace ringside {

class RecentIds {
public:
    /// 4096 covers the events FreeSWITCH and Asterisk send after a hangup
    /// (milliseconds later) at thousands of calls a minute.
    explicit RecentIds(std::size_t capacity = 4096) : capacity_(capacity == 0 ? 1 : capacity) {}

    void add(const std::string& id) {
        if (id.empty() || !ids_.insert(id).second) return;
        order_.push_back(id);
        if (order_.size() > capacity_) {
            ids_.erase(order_.front());
            order_.pop_front();
        }
    }
    bool contains(const std::string& id) const { return !id.empty() && ids_.count(id) != 0; }
    std::size_t size() const noexcept { return order_.size(); }
    void clear() {
        ids_.clear();
        order_.clear();
    }

private:
    std::size_t capacity_;
    std::unordered_set<std::string> ids_;
    std::deque<std::string> order_;
};

}  // namespace ringside
