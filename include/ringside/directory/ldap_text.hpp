#pragma once
// The text of LDAP requests built from user input, without sockets: what a
// username may be, its escaping inside a search filter (RFC 4515) and inside
// a DN (RFC 4514), and the {user} / {dn} templates of [auth.ldap].
#include <string>
#include <string_view>

namespace ringside::directory {

/// A value inside a search filter: `*`, `(`, `)`, `\`, NUL and every other
/// byte below 0x20 or 0x7F become \XX, so "*)(uid=*" matches only itself.
std::string escape_filter_value(std::string_view value);

/// An attribute value inside a DN: `,` `+` `"` `\` `<` `>` `;` `=` get a
/// backslash, as do a leading space or `#` and a trailing space; NUL and
/// other control bytes become \XX.
std::string escape_dn_value(std::string_view value);

/// Replaces every "{user}" with `user` and every "{dn}" with `dn`, both as
/// given (escape them first for where they go). Other text is kept.
std::string expand_template(std::string_view templ, std::string_view user, std::string_view dn = {});

/// DNs compared as the directory would for the common case: ASCII letters
/// case-insensitively and spaces after commas ignored.
bool same_dn(std::string_view a, std::string_view b);

}  // namespace ringside::directory
