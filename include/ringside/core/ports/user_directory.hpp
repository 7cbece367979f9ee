#pragma once
// The user directory port: who answers which phone. Owned by the core;
// storage implements it.
//
// Blocking: a read asks the database (about 10-50 us on SQLite's warm page
// cache). The engine asks once per extension and call (its first ring, a
// transfer), never once per event. Infrastructure failures throw.
#include <optional>
#include <vector>

#include "ringside/core/model.hpp"

namespace ringside {

class UserDirectory {
public:
    virtual ~UserDirectory() = default;
    /// Enabled users whose extension is ext (normally one).
    virtual std::vector<User> users_by_extension(const Extension& ext) = 0;
    virtual std::optional<User> find_user(const AgentId& username) = 0;
    virtual std::vector<User> list_users() = 0;
};

}  // namespace ringside
