// The text of LDAP requests built from what a user typed: filter values
// (RFC 4515), DN values (RFC 4514) and the {user}/{dn} templates.
#include <doctest/doctest.h>

#include "ringside/directory/ldap_text.hpp"

using namespace ringside::directory;

TEST_CASE("a filter value cannot close the filter or add a wildcard") {
    CHECK(escape_filter_value("alice") == "alice");
    CHECK(escape_filter_value("*)(uid=*") == "\\2a\\29\\28uid=\\2a");
    CHECK(escape_filter_value("a\\b") == "a\\5cb");
    CHECK(escape_filter_value(std::string("a\0b", 3)) == "a\\00b");
    CHECK(escape_filter_value("x\ny") == "x\\0ay");
    // RFC 4515's own example: the value "Parens R Us (for all your parenthetical needs)".
    CHECK(escape_filter_value("Parens R Us (for all your parenthetical needs)") ==
          "Parens R Us \\28for all your parenthetical needs\\29");
    CHECK(expand_template("(uid={user})", escape_filter_value("*)(uid=*")) == "(uid=\\2a\\29\\28uid=\\2a)");
}

TEST_CASE("a DN value cannot add a component or an attribute") {
    CHECK(escape_dn_value("alice") == "alice");
    CHECK(escape_dn_value("a,ou=admins") == "a\\,ou\\=admins");
    CHECK(escape_dn_value("a+cn=x") == "a\\+cn\\=x");
    CHECK(escape_dn_value("\"q\"<>;\\") == "\\\"q\\\"\\<\\>\\;\\\\");
    CHECK(escape_dn_value("#lead") == "\\#lead");
    CHECK(escape_dn_value(" both ") == "\\ both\\ ");
    CHECK(escape_dn_value("in # side") == "in # side");
    CHECK(escape_dn_value(std::string("a\0b", 3)) == "a\\00b");
    CHECK(expand_template("uid={user},ou=people,dc=example,dc=com", escape_dn_value("x,dc=evil")) ==
          "uid=x\\,dc\\=evil,ou=people,dc=example,dc=com");
}

TEST_CASE("templates replace every {user} and {dn} and keep the rest") {
    CHECK(expand_template("(|(member={dn})(memberUid={user}))", "bob", "uid=bob,dc=x") ==
          "(|(member=uid=bob,dc=x)(memberUid=bob))");
    CHECK(expand_template("{user}{user}", "a") == "aa");
    CHECK(expand_template("{usr} {", "a") == "{usr} {");
}

TEST_CASE("DNs compare without regard to ASCII case or spaces after commas") {
    CHECK(same_dn("uid=Bob, ou=People,dc=Example,dc=com", "uid=bob,ou=people,dc=example,dc=com"));
    CHECK_FALSE(same_dn("uid=bob,ou=people", "uid=bobby,ou=people"));
}
