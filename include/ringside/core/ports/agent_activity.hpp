#pragma once
// What the call engine tells about agents' calls besides pops: the end of an
// answered call an agent took, which starts their wrap-up. Owned by the
// core; the server's agent states implement it. Called on the engine's
// thread; must not block.
#include <optional>
#include <string>

#include "ringside/core/strong_typedef.hpp"
#include "ringside/core/time.hpp"

namespace ringside {

class AgentActivity {
public:
    virtual ~AgentActivity() = default;
    /// An answered call `agent` took has ended at `at`; `queue` is the
    /// queue it came through (none for a direct or outbound call).
    virtual void answered_call_ended(const AgentId& agent, const std::optional<std::string>& queue, Timestamp at) = 0;
};

}  // namespace ringside
