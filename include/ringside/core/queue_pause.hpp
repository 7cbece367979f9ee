#pragma once
// Agent states on the PBX, PBX-neutral: an agent who is not ready (or in
// wrap-up) is paused in their queues, so the PBX offers them no queue call;
// ready unpauses them. The app implements it over its PBX links (AMI
// QueuePause on the agent's device); the server only sees this interface.
// PBXs without a way to do it (FreeSWITCH's callcenter is not driven yet, SIP,
// webhooks) are answered as not applied.
#include <functional>
#include <string>
#include <vector>

#include "ringside/core/strong_typedef.hpp"

namespace ringside {

struct QueuePauseRequest {
    AgentId agent;        // whose state it is (logs)
    Extension extension;  // the agent's phone: the queue member's device on the PBX
    bool paused = false;
    std::string reason;   // shown by the PBX ("lunch", "wrap_up"); "" when unpausing
    PbxId pbx;            // "": every PBX link; else only this one (re-applied after its login)
};

/// What one PBX link answered: ok, or its refusal / "link lost" in words.
struct QueuePauseOutcome {
    PbxId pbx;
    bool ok = false;
    std::string message;
};

/// Where a request went: the links it was sent to (an outcome follows for
/// each) and the PBXs that cannot apply it.
struct QueuePauseStart {
    std::vector<PbxId> sent;
    std::vector<PbxId> not_applied;
};

class QueuePauser {
public:
    virtual ~QueuePauser() = default;
    /// Sends the pause to every PBX link that can apply it (connected or not:
    /// a link that is down applies it after its next login). `done` is called
    /// once per PBX in `sent`, later, from any thread.
    virtual QueuePauseStart apply(const QueuePauseRequest& request,
                                  std::function<void(const QueuePauseOutcome&)> done) = 0;
};

}  // namespace ringside
