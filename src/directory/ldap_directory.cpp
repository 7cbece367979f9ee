#include "ringside/directory/ldap_directory.hpp"

#include <ldap.h>
#include <sys/time.h>

#include <optional>
#include <variant>

#include "ringside/directory/ldap_text.hpp"

namespace ringside::directory {
namespace {

using Verdict = DirectoryAnswer::Verdict;

DirectoryAnswer answer(Verdict v, std::string detail) {
    DirectoryAnswer a;
    a.verdict = v;
    a.detail = std::move(detail);
    return a;
}

bool username_ok(std::string_view u) {
    return !u.empty() && u.size() <= 64 && u.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string_view::npos;
}

/// A search's result, freed with it.
struct Result {
    LDAPMessage* msg = nullptr;
    Result() = default;
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    ~Result() {
        if (msg) ldap_msgfree(msg);
    }
};

/// One connection to the directory for one check; unbound at destruction.
class Connection {
public:
    explicit Connection(const LdapOptions& opt) : opt_(opt) {}
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        if (ld_) ldap_unbind_ext_s(ld_, nullptr, nullptr);
    }

    /// nullopt when connected (and StartTLS done), else why not.
    std::optional<std::string> open() {
        if (int rc = ldap_initialize(&ld_, opt_.url.c_str()); rc != LDAP_SUCCESS) {
            ld_ = nullptr;
            return "cannot use " + opt_.url + ": " + ldap_err2string(rc);
        }
        int version = LDAP_VERSION3;
        ldap_set_option(ld_, LDAP_OPT_PROTOCOL_VERSION, &version);
        ldap_set_option(ld_, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
        timeval tv{static_cast<time_t>(opt_.timeout.count()), 0};
        ldap_set_option(ld_, LDAP_OPT_NETWORK_TIMEOUT, &tv);
        ldap_set_option(ld_, LDAP_OPT_TIMEOUT, &tv);
        if (opt_.start_tls || opt_.url.starts_with("ldaps://")) {
            // The server's certificate must chain to a trusted CA and name the host.
            int demand = LDAP_OPT_X_TLS_DEMAND;
            ldap_set_option(ld_, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
            if (!opt_.ca_file.empty()) ldap_set_option(ld_, LDAP_OPT_X_TLS_CACERTFILE, opt_.ca_file.c_str());
            // The options above take effect in a TLS context of this handle's own.
            int is_server = 0;
            if (int rc = ldap_set_option(ld_, LDAP_OPT_X_TLS_NEWCTX, &is_server); rc != LDAP_OPT_SUCCESS)
                return "cannot set up TLS for " + opt_.url + " (ca_file " + opt_.ca_file + ")";
        }
        if (opt_.start_tls)
            if (int rc = ldap_start_tls_s(ld_, nullptr, nullptr); rc != LDAP_SUCCESS)
                return "StartTLS with " + opt_.url + " failed: " + ldap_err2string(rc);
        return std::nullopt;
    }

    /// A simple bind; LDAP_SUCCESS or the directory's code. `password` must
    /// not be empty for a user (an empty one is an anonymous bind).
    int bind(const std::string& dn, std::string_view password) {
        berval cred{static_cast<ber_len_t>(password.size()), const_cast<char*>(password.data())};
        return ldap_sasl_bind_s(ld_, dn.empty() ? nullptr : dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
    }

    /// Binds as the service account (or anonymously without one).
    int bind_service() { return bind(opt_.service_dn, opt_.service_password); }

    int search(const std::string& base, int scope, const std::string& filter, const char* attribute, int size_limit,
               Result& out) {
        char* attrs[2] = {const_cast<char*>(attribute && *attribute ? attribute : LDAP_NO_ATTRS), nullptr};
        timeval tv{static_cast<time_t>(opt_.timeout.count()), 0};
        return ldap_search_ext_s(ld_, base.c_str(), scope, filter.c_str(), attrs, 0, nullptr, nullptr, &tv, size_limit,
                                 &out.msg);
    }

    /// The first value of `attribute` of the search's first entry, "" if none.
    std::string first_value(LDAPMessage* entry, const char* attribute) {
        std::string out;
        if (!entry || !attribute || !*attribute) return out;
        if (berval** vals = ldap_get_values_len(ld_, entry, attribute)) {
            if (vals[0]) out.assign(vals[0]->bv_val, vals[0]->bv_len);
            ldap_value_free_len(vals);
        }
        return out;
    }

    std::string dn_of(LDAPMessage* entry) {
        std::string out;
        if (char* dn = ldap_get_dn(ld_, entry)) {
            out = dn;
            ldap_memfree(dn);
        }
        return out;
    }

    LDAP* handle() { return ld_; }

private:
    const LdapOptions& opt_;
    LDAP* ld_ = nullptr;
};

std::string words(const char* what, int rc) { return std::string(what) + ": " + ldap_err2string(rc); }

/// The one entry the search filter finds for `username`: its DN and display
/// name, or the answer that ends the check.
struct Found {
    std::string dn;
    std::string name;
};
std::variant<Found, DirectoryAnswer> find_user(Connection& c, const LdapOptions& opt, std::string_view username) {
    const auto filter = expand_template(opt.search_filter, escape_filter_value(username));
    Result r;
    const int rc = c.search(opt.search_base, LDAP_SCOPE_SUBTREE, filter, opt.name_attribute.c_str(), 2, r);
    if (rc == LDAP_SIZELIMIT_EXCEEDED)
        return answer(Verdict::bad_credentials, "the search filter finds several entries for this user");
    if (rc == LDAP_NO_SUCH_OBJECT) return answer(Verdict::unavailable, "search_base does not exist in the directory");
    if (rc != LDAP_SUCCESS) return answer(Verdict::unavailable, words("searching for the user failed", rc));
    LDAPMessage* e = ldap_first_entry(c.handle(), r.msg);
    if (!e) return answer(Verdict::bad_credentials, "no entry matches the search filter");
    return Found{c.dn_of(e), c.first_value(e, opt.name_attribute.c_str())};
}

/// The highest role of the mapped groups `dn` is in; nullopt in none.
/// Sets *problem when a group could not be read.
std::optional<Role> role_of(Connection& c, const LdapOptions& opt, std::string_view username, const std::string& dn,
                            std::string* problem) {
    const auto filter = expand_template(opt.group_filter, escape_filter_value(username), escape_filter_value(dn));
    std::optional<Role> best;
    for (const auto& [group, role] : opt.groups) {
        Result r;
        const int rc = c.search(group, LDAP_SCOPE_BASE, filter, nullptr, 1, r);
        if (rc == LDAP_NO_SUCH_OBJECT) continue;  // a group that was removed has no members
        if (rc != LDAP_SUCCESS) {
            *problem = words("reading a group failed", rc);
            return std::nullopt;
        }
        if (ldap_count_entries(c.handle(), r.msg) > 0 && (!best || role_at_least(role, *best))) best = role;
    }
    return best;
}

DirectoryAnswer with_role(Connection& c, const LdapOptions& opt, std::string_view username, std::string dn,
                          std::string name) {
    std::string problem;
    auto role = role_of(c, opt, username, dn, &problem);
    if (!problem.empty()) return answer(Verdict::unavailable, problem);
    DirectoryAnswer a;
    a.dn = std::move(dn);
    a.name = std::move(name);
    if (!role) {
        a.verdict = Verdict::no_role;
        a.detail = "the user is in none of the groups of [auth.ldap.groups]";
        return a;
    }
    a.verdict = Verdict::ok;
    a.role = *role;
    return a;
}

}  // namespace

LdapDirectory::LdapDirectory(LdapOptions options) : opt_(std::move(options)) {}

DirectoryAnswer LdapDirectory::sign_in(std::string_view username, std::string_view password) {
    // An empty password is an anonymous bind, which "succeeds": never send one.
    if (password.empty()) return answer(Verdict::bad_credentials, "empty password");
    if (!username_ok(username)) return answer(Verdict::bad_credentials, "not a valid username");
    Connection c(opt_);
    if (auto problem = c.open()) return answer(Verdict::unavailable, *problem);

    if (!opt_.user_dn.empty()) {
        auto dn = expand_template(opt_.user_dn, escape_dn_value(username));
        const int rc = c.bind(dn, password);
        if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INVALID_DN_SYNTAX || rc == LDAP_UNWILLING_TO_PERFORM ||
            rc == LDAP_INAPPROPRIATE_AUTH)
            return answer(Verdict::bad_credentials, words("bind refused", rc));
        if (rc != LDAP_SUCCESS) return answer(Verdict::unavailable, words("bind failed", rc));
        // Bound as the user: their own entry gives the display name.
        std::string name;
        Result r;
        if (c.search(dn, LDAP_SCOPE_BASE, "(objectClass=*)", opt_.name_attribute.c_str(), 1, r) == LDAP_SUCCESS)
            name = c.first_value(ldap_first_entry(c.handle(), r.msg), opt_.name_attribute.c_str());
        return with_role(c, opt_, username, std::move(dn), std::move(name));
    }

    if (int rc = c.bind_service(); rc != LDAP_SUCCESS)
        return answer(Verdict::unavailable, words("the service account's bind failed", rc));
    auto found = find_user(c, opt_, username);
    if (auto* a = std::get_if<DirectoryAnswer>(&found)) return std::move(*a);
    auto& user = std::get<Found>(found);
    // Groups are read as the service account, before the user's bind
    // replaces it; the verdict waits for the password.
    auto verdict = with_role(c, opt_, username, user.dn, user.name);
    if (verdict.verdict == Verdict::unavailable) return verdict;
    const int rc = c.bind(user.dn, password);
    if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_UNWILLING_TO_PERFORM || rc == LDAP_INAPPROPRIATE_AUTH)
        return answer(Verdict::bad_credentials, words("bind refused", rc));
    if (rc != LDAP_SUCCESS) return answer(Verdict::unavailable, words("bind failed", rc));
    return verdict;
}

DirectoryAnswer LdapDirectory::recheck(std::string_view username, std::string_view dn_view) {
    const std::string dn(dn_view);
    Connection c(opt_);
    if (auto problem = c.open()) return answer(Verdict::unavailable, *problem);
    if (int rc = c.bind_service(); rc != LDAP_SUCCESS)
        return answer(Verdict::unavailable, words("the service account's bind failed", rc));
    if (opt_.user_dn.empty()) {
        auto found = find_user(c, opt_, username);
        if (auto* a = std::get_if<DirectoryAnswer>(&found)) return std::move(*a);
        auto& user = std::get<Found>(found);
        if (!same_dn(user.dn, dn)) return answer(Verdict::bad_credentials, "the search filter now finds another entry");
        return with_role(c, opt_, username, user.dn, user.name);
    }
    Result r;
    const int rc = c.search(dn, LDAP_SCOPE_BASE, "(objectClass=*)", opt_.name_attribute.c_str(), 1, r);
    if (rc == LDAP_NO_SUCH_OBJECT) return answer(Verdict::bad_credentials, "the user's entry no longer exists");
    if (rc != LDAP_SUCCESS) return answer(Verdict::unavailable, words("reading the user's entry failed", rc));
    auto name = c.first_value(ldap_first_entry(c.handle(), r.msg), opt_.name_attribute.c_str());
    return with_role(c, opt_, username, dn, std::move(name));
}

}  // namespace ringside::directory
