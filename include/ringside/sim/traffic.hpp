#pragma once
// Call plans for load and demo traffic: callers, targets, outcomes and
// durations drawn from a seeded PRNG (same seed, same plans). Sans-I/O.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ringside/sim/call_script.hpp"

namespace ringside::sim {

struct TrafficMix {
    std::vector<std::string> callers{"09121234567", "+31201234567", "02188776655", "+989351112233"};
    std::vector<std::string> caller_names{};      // picked alongside callers when non-empty
    // Relative weights of the outcomes; all zero means every call is answered.
    unsigned answered = 75;
    unsigned caller_cancels = 15;
    unsigned busy = 5;
    unsigned no_answer = 5;
    std::chrono::milliseconds ring_min{3000}, ring_max{8000};
    std::chrono::milliseconds talk_min{10000}, talk_max{60000};
    std::string trunk = "SIP/trunk-provider";
    std::string dialed = "02100000000";
    std::optional<std::string> queue;             // when set, calls go to this queue
    std::size_t ring_group_size = 1;              // targets per call (>1: ring group via Local channels)
    /// Queues a share of the calls go to instead (app_queue, ringall: every
    /// member rings through its Local channel pair, one answers).
    struct Queue {
        std::string name;                         // app_queue name, also the Queue header
        std::vector<std::string> members;         // extensions, at least one
    };
    std::vector<Queue> queues;
    unsigned queue_percent = 0;                   // 0-100: share of calls to one of `queues`
    /// Share (0-100) of answered direct calls (one extension, no queue) that
    /// the answering agent blind-transfers to another of the extensions after
    /// talk_time; the target rings ring_time and talks a fresh talk_time.
    unsigned transfer_percent = 0;
};

class TrafficGenerator {
public:
    TrafficGenerator(TrafficMix mix, std::uint64_t seed) : mix_(std::move(mix)), rng_(seed) {}

    /// A plan to some of `extensions` (nullopt when there are none). Ids and
    /// start time are left for whoever places the call.
    std::optional<CallPlan> next(const std::vector<std::string>& extensions);

    const TrafficMix& mix() const noexcept { return mix_; }

private:
    std::uint64_t below(std::uint64_t n);  // uniform in [0, n), n > 0
    std::chrono::milliseconds between(std::chrono::milliseconds lo, std::chrono::milliseconds hi);

    TrafficMix mix_;
    std::mt19937_64 rng_;
};

}  // namespace ringside::sim
