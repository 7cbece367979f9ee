#include "ringside/sim/traffic.hpp"

#include <algorithm>

namespace ringside::sim {

std::uint64_t TrafficGenerator::below(std::uint64_t n) {
    // Own mapping instead of std::uniform_int_distribution, whose output is
    // not specified across standard libraries: plans stay reproducible.
    return rng_() % n;
}

std::chrono::milliseconds TrafficGenerator::between(std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
    if (hi <= lo) return lo;
    return lo + std::chrono::milliseconds(static_cast<long long>(below(static_cast<std::uint64_t>((hi - lo).count()) + 1)));
}

std::optional<CallPlan> TrafficGenerator::next(const std::vector<std::string>& extensions) {
    if (extensions.empty()) return std::nullopt;
    CallPlan p;
    p.trunk = mix_.trunk;
    p.dialed = mix_.dialed;
    p.queue = mix_.queue;
    if (!mix_.callers.empty()) {
        const auto i = below(mix_.callers.size());
        p.caller_number = mix_.callers[i];
        if (!mix_.caller_names.empty()) p.caller_name = mix_.caller_names[i % mix_.caller_names.size()];
    }
    // Ring group members: distinct extensions starting at a random one.
    const std::size_t n = std::clamp<std::size_t>(mix_.ring_group_size, 1, extensions.size());
    const auto first = below(extensions.size());
    for (std::size_t k = 0; k < n; ++k) p.extensions.push_back(extensions[(first + k) % extensions.size()]);
    p.answered_by = static_cast<std::size_t>(below(n));

    const std::uint64_t total = std::uint64_t{mix_.answered} + mix_.caller_cancels + mix_.busy + mix_.no_answer;
    p.outcome = Outcome::answered;
    if (total > 0) {
        auto r = below(total);
        if (r < mix_.answered) p.outcome = Outcome::answered;
        else if ((r -= mix_.answered) < mix_.caller_cancels) p.outcome = Outcome::caller_cancels;
        else if ((r -= mix_.caller_cancels) < mix_.busy) p.outcome = Outcome::busy;
        else p.outcome = Outcome::no_answer;
    }
    p.ring_time = between(mix_.ring_min, mix_.ring_max);
    p.talk_time = between(mix_.talk_min, mix_.talk_max);
    // Drawn only when asked for, after everything above: the plans of mixes
    // without queues or transfers stay what they were for the same seed.
    if (mix_.queue_percent > 0 && !mix_.queues.empty() && below(100) < mix_.queue_percent) {
        const auto& q = mix_.queues[below(mix_.queues.size())];
        if (!q.members.empty()) {
            p.queue = q.name;
            p.extensions = q.members;
            p.answered_by = static_cast<std::size_t>(below(q.members.size()));
        }
    }
    if (mix_.transfer_percent > 0 && p.outcome == Outcome::answered && !p.queue && p.extensions.size() == 1 &&
        extensions.size() > 1 && below(100) < mix_.transfer_percent) {
        // Any other extension: the next ones after the answerer, skipping it.
        const auto self = static_cast<std::size_t>(
            std::find(extensions.begin(), extensions.end(), p.extensions.front()) - extensions.begin());
        p.transfer_to = extensions[(self + 1 + below(extensions.size() - 1)) % extensions.size()];
        p.transfer_talk_time = between(mix_.talk_min, mix_.talk_max);
    }
    return p;
}

}  // namespace ringside::sim
