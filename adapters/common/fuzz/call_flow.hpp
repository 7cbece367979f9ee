#pragma once
// What the mapper fuzz targets' drive loops share: one fresh call tracker
// per input, a clock that moves on between events, the effects of every
// event checked with CallCounts, and the closing resync that must leave no
// call open.
#include <chrono>
#include <vector>

#include "call_counts.hpp"
#include "ringside/core/call_tracker.hpp"
#include "ringside/core/pbx_event.hpp"

namespace ringside::fuzz {

class CallFlow {
public:
    explicit CallFlow(PbxId pbx) : pbx_(std::move(pbx)) {}

    /// The clock moved on by `by` (100 ms between two PBX events unless the
    /// target says otherwise); returns the new time.
    Timestamp step(std::chrono::milliseconds by = std::chrono::milliseconds(100)) { return now_ += by; }
    Timestamp now() const noexcept { return now_; }

    /// The adapter's events through the tracker; traps on a broken invariant.
    void play(const std::vector<pbx::Event>& events) {
        for (const auto& ev : events) counts_.add(tracker_.on_event(ev));
    }

    /// A resync that lists no channel: every call still open must end.
    void resync_to_nothing() {
        counts_.add(tracker_.on_event(pbx::Event{pbx_, now_, pbx::ResyncBegin{}}));
        counts_.add(tracker_.on_event(pbx::Event{pbx_, now_, pbx::ResyncEnd{}}));
        if (tracker_.active_calls() != 0) __builtin_trap();
    }

    const PbxId& pbx() const noexcept { return pbx_; }
    const CallTracker& tracker() const noexcept { return tracker_; }

private:
    PbxId pbx_;
    CallTracker tracker_;
    CallCounts counts_;
    Timestamp now_{std::chrono::seconds(1'700'000'000)};
};

}  // namespace ringside::fuzz
