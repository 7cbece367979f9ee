#pragma once
// What the mapper fuzz targets (an adapter's parser, mapper and the call
// tracker together, one fresh state machine per input) check after every
// event: a call ends at most once per start, and no phone rings or answers
// for a call that has ended (no leg survives its call).
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "ringside/core/call_tracker.hpp"

namespace ringside::fuzz {

class CallCounts {
public:
    /// The tracker's effects of one event; traps on a broken invariant.
    void add(const std::vector<Effect>& effects) {
        for (const auto& e : effects) {
            if (const auto* s = std::get_if<effect::CallStarted>(&e)) {
                ++started_[s->call.id.value()];
                over_.erase(s->call.id.value());
            } else if (const auto* x = std::get_if<effect::Ended>(&e)) {
                const auto& id = x->call.id.value();
                if (++ended_[id] > started_[id]) __builtin_trap();  // ended more often than it started
                over_.insert(id);
            } else if (const auto* r = std::get_if<effect::Ringing>(&e)) {
                if (over_.contains(r->call.id.value())) __builtin_trap();  // a leg outlives its call
            } else if (const auto* a = std::get_if<effect::Answered>(&e)) {
                if (over_.contains(a->call.id.value())) __builtin_trap();
            }
        }
    }

private:
    std::unordered_map<std::string, int> started_, ended_;
    std::unordered_set<std::string> over_;  // ended, and not started again
};

}  // namespace ringside::fuzz
