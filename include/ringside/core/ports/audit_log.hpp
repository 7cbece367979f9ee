#pragma once
// The audit trail port: append-only. Owned by the core; storage implements
// it. Blocking: one write (a disk commit on SQLite, a few ms); the engine
// writes it only for an agent's disposition, never per PBX event.
// Infrastructure failures throw.
#include <cstdint>
#include <string>

#include "ringside/core/time.hpp"

namespace ringside {

/// One audit_log row.
struct AuditEntry {
    std::int64_t id = 0;                   // increasing; pages go by it
    Timestamp at{};
    std::string actor;                     // username, or "system"
    std::string action;                    // "pbx.add", "user.disable", "login", ...
    std::string detail;                    // JSON text, never a secret
};

class AuditLog {
public:
    virtual ~AuditLog() = default;
    /// actor: a username, or "system"; detail: JSON text or an id, never a secret.
    virtual void audit(const std::string& actor, const std::string& action, const std::string& detail, Timestamp at) = 0;
};

}  // namespace ringside
