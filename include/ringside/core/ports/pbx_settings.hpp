#pragma once
// The PBX connections added on the admin page (connections from the config
// file are not stored). Owned by the core; storage implements it.
//
// Blocking: list_pbx reads a small table (well under a millisecond); each
// change is one write and a disk commit (a few ms), waiting for the store's
// one writer behind another write. Called by the admin routes and the
// connection manager at start and on a change, never per call or event.
// Infrastructure failures throw; a taken id throws the store's conflict error.
#include <string>
#include <vector>

#include "ringside/core/time.hpp"

namespace ringside {

/// A PBX connection added on the admin page (connections from the config
/// file are not stored). settings is the connection's JSON object as the
/// admin API takes it, secrets included: the link needs them to log in.
struct StoredPbx {
    std::string id;                        // [a-z0-9-]+, unique across config and database
    std::string type;                      // asterisk-ami | freeswitch-esl | sip | webhook
    std::string settings;                  // JSON object: host, port, username, secret, password, path, ...
    bool enabled = true;
    Timestamp created_at{};
    std::string created_by;                // username of the admin who added it
};

class PbxSettings {
public:
    virtual ~PbxSettings() = default;
    /// PBX connections added on the admin page, in the order they were added.
    virtual std::vector<StoredPbx> list_pbx() = 0;
    /// Throws the store's conflict error (StorageConflict) if the id is taken.
    virtual void create_pbx(const StoredPbx& p) = 0;
    /// false if no such stored connection.
    virtual bool set_pbx_enabled(const std::string& id, bool enabled) = 0;
    /// Replaces a stored connection's settings and enabled flag (type and id
    /// stay); false if no such stored connection.
    virtual bool update_pbx(const std::string& id, const std::string& settings, bool enabled) = 0;
    /// Removes a stored connection (the caller audits what it was); false if
    /// no such stored connection. Call records of that PBX stay.
    virtual bool remove_pbx(const std::string& id) = 0;
};

}  // namespace ringside
