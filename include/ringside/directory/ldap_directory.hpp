#pragma once
// [auth.ldap]: sign-in against OpenLDAP or Active Directory through
// OpenLDAP's libldap, one short connection per check. Blocking: see
// core/directory.hpp for where it may run.
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ringside/core/directory.hpp"

namespace ringside::directory {

struct LdapOptions {
    std::string url;                       // ldap://host[:port] or ldaps://host[:port]
    bool start_tls = false;                // ldap:// only: upgrade with StartTLS before any bind
    std::string ca_file;                   // PEM file of the CAs the server's certificate must chain to; "" = the system's
    /// Either user_dn (a DN template: the user binds as it, {user} the
    /// DN-escaped username) ...
    std::string user_dn;
    /// ... or search_base and search_filter ({user} filter-escaped): the
    /// one entry found is the user's DN.
    std::string search_base;
    std::string search_filter = "(uid={user})";
    /// The service account that searches and rechecks; empty: anonymous.
    std::string service_dn;
    std::string service_password;
    /// Read on each mapped group's entry (base scope): {dn} is the user's
    /// DN, {user} the username, both filter-escaped.
    std::string group_filter = "(|(member={dn})(uniqueMember={dn}))";
    std::string name_attribute = "cn";     // the display name; "" = the username
    /// Group DN -> the role its members get; a user in several gets the highest.
    std::vector<std::pair<std::string, Role>> groups;
    std::chrono::seconds timeout{5};       // connect and each operation
    std::chrono::seconds recheck{60};      // a session is checked again after this long (used by the server)
};

class LdapDirectory final : public Directory {
public:
    explicit LdapDirectory(LdapOptions options);
    DirectoryAnswer sign_in(std::string_view username, std::string_view password) override;
    DirectoryAnswer recheck(std::string_view username, std::string_view dn) override;
    const LdapOptions& options() const { return opt_; }

private:
    LdapOptions opt_;
};

}  // namespace ringside::directory
