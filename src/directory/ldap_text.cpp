#include "ringside/directory/ldap_text.hpp"

#include <cctype>

namespace ringside::directory {
namespace {

void hex_escape(std::string& out, unsigned char c) {
    static constexpr char digits[] = "0123456789abcdef";
    out += '\\';
    out += digits[c >> 4];
    out += digits[c & 0xF];
}

std::string normal_dn(std::string_view dn) {
    std::string out;
    out.reserve(dn.size());
    bool after_comma = false;
    for (char ch : dn) {
        if (after_comma && ch == ' ') continue;
        after_comma = ch == ',';
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    return out;
}

}  // namespace

std::string escape_filter_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c == 0x7F) hex_escape(out, c);
        else out += ch;
    }
    return out;
}

std::string escape_dn_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c < 0x20 || c == 0x7F) {
            hex_escape(out, c);
            continue;
        }
        const bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' || c == '=';
        const bool edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == value.size() && c == ' ');
        if (special || edge) out += '\\';
        out += value[i];
    }
    return out;
}

std::string expand_template(std::string_view templ, std::string_view user, std::string_view dn) {
    std::string out;
    out.reserve(templ.size() + user.size() + dn.size());
    for (std::size_t i = 0; i < templ.size();) {
        if (templ.substr(i).starts_with("{user}")) {
            out += user;
            i += 6;
        } else if (templ.substr(i).starts_with("{dn}")) {
            out += dn;
            i += 4;
        } else {
            out += templ[i++];
        }
    }
    return out;
}

bool same_dn(std::string_view a, std::string_view b) { return normal_dn(a) == normal_dn(b); }

}  // namespace ringside::directory
