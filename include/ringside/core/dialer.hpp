#pragma once
// Click-to-dial, PBX-neutral: ring an agent's own phone and, when it answers,
// call a number from it. The app implements it over the PBX link that owns
// the extension (AMI Originate, ESL bgapi originate); the HTTP route and the
// tests only see this interface. The call that follows is an ordinary
// outbound call: tracked, logged and matched to the customer like any other.
#include <functional>
#include <string>

#include "ringside/core/strong_typedef.hpp"

namespace ringside {

struct DialRequest {
    PbxId pbx;             // "" : the PBX the app dials through by default (the first configured)
    Extension extension;   // the agent's phone, rung first
    std::string number;    // the number to call, E.164 ("+989121234567")
    AgentId agent;         // who asked (for the outcome message and the audit log)
};

/// How a dial that was accepted ended: ok when the agent's phone answered and
/// the PBX went on to dial the number. reason: "answered", "no_answer",
/// "busy", "congestion", "failed", "link lost", or the PBX's refusal.
struct DialOutcome {
    bool ok = false;
    std::string reason;
};

enum class DialStart {
    accepted,   // sent to the PBX; `done` follows
    no_pbx,     // the named PBX is not configured (or none is)
    link_down,  // the PBX link is not connected now
    invalid,    // the request cannot be sent (characters the protocol cannot carry)
};

class Dialer {
public:
    virtual ~Dialer() = default;
    /// Starts the dial. On `accepted`, `done` is called exactly once later,
    /// from any thread; otherwise it is never called.
    virtual DialStart dial(const DialRequest& request, std::function<void(const DialOutcome&)> done) = 0;
};

}  // namespace ringside
