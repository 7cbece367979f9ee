#pragma once
// The company directory as the sign-in code sees it (a port: the LDAP
// client in src/directory implements it). Every call may block on the
// network for up to the directory's timeout, so callers run it on a worker
// pool, never on an I/O thread or the engine strand.
#include <string>
#include <string_view>

#include "ringside/core/model.hpp"

namespace ringside {

/// What the directory said of one user.
struct DirectoryAnswer {
    enum class Verdict {
        ok,              // the password is right (sign_in) or the account still holds (recheck); role set
        bad_credentials, // no such user, wrong password, or an account the directory refuses
        no_role,         // the account is fine but in none of the mapped groups
        unavailable,     // the directory could not be reached or answered an error
    };
    Verdict verdict = Verdict::unavailable;
    std::string dn;      // the user's entry (ok, no_role)
    std::string name;    // display name from the entry; "" when it has none
    Role role = Role::agent;  // the highest role of the mapped groups the user is in (ok)
    /// For the operator's log: what failed, never a password.
    std::string detail;
};

class Directory {
public:
    virtual ~Directory() = default;
    /// Checks `password` for `username` (a Ringside username: 1-64 of
    /// a-z 0-9 . _ -) and finds the user's role. An empty password is
    /// bad_credentials without asking the directory.
    virtual DirectoryAnswer sign_in(std::string_view username, std::string_view password) = 0;
    /// Whether the account found at sign-in (`dn`) still exists, still
    /// matches the configured filter, and is still in a mapped group.
    virtual DirectoryAnswer recheck(std::string_view username, std::string_view dn) = 0;
};

}  // namespace ringside
