#include "ringside/sip/grammar.hpp"

#include <algorithm>
#include <charconv>

#include "ringside/core/ascii.hpp"

namespace ringside::sip {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

void set(std::string* error, std::string text) {
    if (error) *error = std::move(text);
}

bool all_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return is_token_char(c); });
}

/// Reads a quoted-string starting at s[0] == '"'; returns its unescaped
/// content and advances s past the closing quote. nullopt when unterminated.
std::optional<std::string> read_quoted(std::string_view& s) {
    std::string out;
    std::size_t i = 1;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (c == '\\') {
            if (++i >= s.size()) return std::nullopt;
            out += s[i];
        } else if (c == '"') {
            s.remove_prefix(i + 1);
            return out;
        } else {
            out += c;
        }
    }
    return std::nullopt;
}

/// Parameters: *( SWS ";" SWS name [ SWS "=" SWS value ] ). Values are
/// tokens, hosts ("[v6]" too) or quoted strings.
bool read_params(std::string_view s, std::vector<std::pair<std::string, std::string>>& out, std::string* error,
                 std::string_view what) {
    s = trim(s);
    while (!s.empty()) {
        if (s.front() != ';') {
            set(error, std::string(what) + " has text after the address that is not a ;parameter");
            return false;
        }
        s = trim(s.substr(1));
        std::size_t n = 0;
        while (n < s.size() && is_token_char(s[n])) ++n;
        if (n == 0) {
            set(error, std::string(what) + " has an empty parameter");
            return false;
        }
        std::string name = lower(s.substr(0, n));
        s = trim(s.substr(n));
        std::string value;
        if (!s.empty() && s.front() == '=') {
            s = trim(s.substr(1));
            if (!s.empty() && s.front() == '"') {
                auto q = read_quoted(s);
                if (!q) {
                    set(error, std::string(what) + " has a parameter with an unterminated quoted value");
                    return false;
                }
                value = *q;
            } else {
                std::size_t m = 0;
                while (m < s.size() && (is_token_char(s[m]) || s[m] == '[' || s[m] == ']' || s[m] == ':')) ++m;
                if (m == 0) {
                    set(error, std::string(what) + " has a parameter " + name + "= without a value");
                    return false;
                }
                value = std::string(s.substr(0, m));
                s = s.substr(m);
            }
            s = trim(s);
        }
        out.emplace_back(std::move(name), std::move(value));
    }
    return true;
}

std::optional<std::string> find_param(const std::vector<std::pair<std::string, std::string>>& ps, std::string_view name) {
    for (const auto& [k, v] : ps)
        if (iequals(k, name)) return v;
    return std::nullopt;
}

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string pct_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out += static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

bool has_scheme(std::string_view uri) {
    auto colon = uri.find(':');
    if (colon == 0 || colon == std::string_view::npos) return false;
    auto scheme = uri.substr(0, colon);
    if (!((scheme[0] >= 'a' && scheme[0] <= 'z') || (scheme[0] >= 'A' && scheme[0] <= 'Z'))) return false;
    return std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    });
}

bool is_sip_scheme(std::string_view uri) {
    return (uri.size() > 4 && iequals(uri.substr(0, 4), "sip:")) || (uri.size() > 5 && iequals(uri.substr(0, 5), "sips:"));
}

}  // namespace

bool is_token_char(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'': case '~': return true;
    default: return false;
    }
}

std::string header_key(std::string_view name) {
    if (name.size() == 1) {
        switch (name[0] | 0x20) {
        case 'i': return "call-id";
        case 'm': return "contact";
        case 'e': return "content-encoding";
        case 'l': return "content-length";
        case 'c': return "content-type";
        case 'f': return "from";
        case 's': return "subject";
        case 'k': return "supported";
        case 't': return "to";
        case 'v': return "via";
        case 'o': return "event";
        case 'u': return "allow-events";
        case 'r': return "refer-to";
        case 'b': return "referred-by";
        case 'x': return "session-expires";
        case 'y': return "identity";
        default: break;
        }
    }
    return lower(name);
}

const Header* Message::find(std::string_view key) const noexcept {
    for (const auto& h : headers)
        if (h.key == key) return &h;
    return nullptr;
}
std::string_view Message::get(std::string_view key) const noexcept {
    const Header* h = find(key);
    return h ? std::string_view(h->value) : std::string_view{};
}
std::size_t Message::count(std::string_view key) const noexcept {
    return static_cast<std::size_t>(std::count_if(headers.begin(), headers.end(), [&](const Header& h) { return h.key == key; }));
}

std::optional<std::string> NameAddr::param(std::string_view name) const { return find_param(params, name); }
std::optional<std::string> Via::param(std::string_view name) const { return find_param(params, name); }

std::vector<std::string_view> split_list(std::string_view value) {
    std::vector<std::string_view> out;
    bool quoted = false;
    int angle = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        if (quoted) {
            if (c == '\\') ++i;
            else if (c == '"') quoted = false;
        } else if (c == '"') {
            quoted = true;
        } else if (c == '<') {
            ++angle;
        } else if (c == '>') {
            if (angle > 0) --angle;
        } else if (c == ',' && angle == 0) {
            out.push_back(trim(value.substr(start, i - start)));
            start = i + 1;
        }
    }
    out.push_back(trim(value.substr(std::min(start, value.size()))));
    return out;
}

std::optional<NameAddr> parse_name_addr(std::string_view s, std::string* error) {
    NameAddr na;
    s = trim(s);
    if (s.empty()) {
        set(error, "is empty");
        return std::nullopt;
    }
    std::string_view after;
    if (s.front() == '"') {
        auto q = read_quoted(s);
        if (!q) {
            set(error, "has an unterminated quoted display name");
            return std::nullopt;
        }
        na.display = *q;
        s = trim(s);
        if (s.empty() || s.front() != '<') {
            set(error, "has a quoted display name not followed by <URI>");
            return std::nullopt;
        }
    }
    auto lt = s.find('<');
    if (lt != std::string_view::npos) {
        // Unquoted display name: tokens separated by whitespace.
        auto disp = trim(s.substr(0, lt));
        for (char c : disp) {
            if (!is_token_char(c) && !is_ws(c)) {
                set(error, "has an unquoted display name with a character that needs quotes");
                return std::nullopt;
            }
        }
        if (na.display.empty()) {
            std::string d;
            bool space = false;
            for (char c : disp) {
                if (is_ws(c)) space = true;
                else {
                    if (space && !d.empty()) d += ' ';
                    space = false;
                    d += c;
                }
            }
            na.display = d;
        }
        auto gt = s.find('>', lt);
        if (gt == std::string_view::npos) {
            set(error, "has < without >");
            return std::nullopt;
        }
        auto uri = s.substr(lt + 1, gt - lt - 1);
        if (std::any_of(uri.begin(), uri.end(), [](char c) { return is_ws(c); })) {
            set(error, "has whitespace inside <>");
            return std::nullopt;
        }
        if (!has_scheme(uri)) {
            set(error, "has no URI scheme inside <>");
            return std::nullopt;
        }
        na.uri = std::string(uri);
        na.bracketed = true;
        after = s.substr(gt + 1);
    } else {
        // addr-spec: the URI runs to the first ';' (what follows are header
        // parameters), and so may carry neither URI parameters nor headers.
        auto semi = s.find(';');
        auto uri = trim(s.substr(0, semi));
        if (!has_scheme(uri) || std::any_of(uri.begin(), uri.end(), [](char c) { return is_ws(c) || c == '"'; })) {
            set(error, "is neither a name-addr nor an addr-spec");
            return std::nullopt;
        }
        if (uri.find('?') != std::string_view::npos || uri.find(',') != std::string_view::npos) {
            set(error, "has a URI with ? or , that is not enclosed in <>");
            return std::nullopt;
        }
        na.uri = std::string(uri);
        after = semi == std::string_view::npos ? std::string_view{} : s.substr(semi);
    }
    std::string perr;
    if (!read_params(after, na.params, &perr, "the address")) {
        set(error, perr.substr(std::string_view("the address ").size()));
        return std::nullopt;
    }
    return na;
}

std::optional<std::vector<NameAddr>> parse_name_addr_list(std::string_view value, std::string* error) {
    std::vector<NameAddr> out;
    for (auto piece : split_list(value)) {
        auto na = parse_name_addr(piece, error);
        if (!na) return std::nullopt;
        out.push_back(std::move(*na));
    }
    return out;
}

std::optional<CSeq> parse_cseq(std::string_view value, std::string* error) {
    auto s = trim(value);
    std::size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    if (n == 0) {
        set(error, "CSeq does not start with a sequence number");
        return std::nullopt;
    }
    auto digits = s.substr(0, n);
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    std::uint64_t v = 0;
    if (digits.size() > 10 || std::from_chars(digits.data(), digits.data() + digits.size(), v).ec != std::errc{} ||
        v > 0x7fffffffu) {
        set(error, "CSeq sequence number is larger than 2**31-1");
        return std::nullopt;
    }
    auto method = trim(s.substr(n));
    if (method.size() == s.size() - n || !all_token(method)) {  // no LWS before the method, or not a token
        set(error, "CSeq has no method after the number");
        return std::nullopt;
    }
    return CSeq{static_cast<std::uint32_t>(v), std::string(method)};
}

std::optional<std::vector<Via>> parse_via(std::string_view value, std::string* error) {
    std::vector<Via> out;
    for (auto piece : split_list(value)) {
        if (piece.empty()) {
            set(error, "Via has an empty value");
            return std::nullopt;
        }
        // "SIP" SWS "/" SWS "2.0" SWS "/" SWS transport LWS sent-by
        auto s = piece;
        std::string_view parts[3];
        for (int i = 0; i < 3; ++i) {
            s = trim(s);
            std::size_t n = 0;
            while (n < s.size() && is_token_char(s[n])) ++n;
            parts[i] = s.substr(0, n);
            s = trim(s.substr(n));
            if (i < 2) {
                if (s.empty() || s.front() != '/') {
                    set(error, "Via does not start with SIP/2.0/<transport>");
                    return std::nullopt;
                }
                s.remove_prefix(1);
            }
        }
        if (!iequals(parts[0], "SIP") || parts[1] != "2.0" || parts[2].empty()) {
            set(error, "Via does not start with SIP/2.0/<transport>");
            return std::nullopt;
        }
        Via v;
        v.transport = std::string(parts[2]);
        std::size_t n = 0;
        while (n < s.size() && s[n] != ';' && !is_ws(s[n])) ++n;
        if (n == 0) {
            set(error, "Via has no sent-by host");
            return std::nullopt;
        }
        v.sent_by = std::string(s.substr(0, n));
        std::string perr;
        if (!read_params(s.substr(n), v.params, &perr, "Via")) {
            set(error, perr);
            return std::nullopt;
        }
        out.push_back(std::move(v));
    }
    return out;
}

std::string uri_user(std::string_view uri) {
    auto colon = uri.find(':');
    if (colon == std::string_view::npos) return {};
    auto scheme = uri.substr(0, colon);
    auto rest = uri.substr(colon + 1);
    if (iequals(scheme, "tel")) return pct_decode(rest.substr(0, rest.find_first_of(";?")));
    if (!iequals(scheme, "sip") && !iequals(scheme, "sips")) return {};
    auto at = rest.find('@');
    if (at == std::string_view::npos) return {};
    auto user = rest.substr(0, at);
    user = user.substr(0, user.find_first_of(";:"));  // user params (RFC 4475 semiuri), password
    return pct_decode(user);
}

std::string uri_host(std::string_view uri) {
    if (!is_sip_scheme(uri)) return {};
    auto rest = uri.substr(uri.find(':') + 1);
    auto at = rest.find('@');
    if (at != std::string_view::npos) rest = rest.substr(at + 1);
    return std::string(rest.substr(0, rest.find_first_of(";?>")));
}

std::optional<std::string> check_message(const Message& m) {
    // Start line: single spaces, nothing trailing (RFC 4475 lwsstart, trws, lwsruri, ltgtruri, badvers, bigcode).
    if (m.is_request) {
        const auto& line = m.start_line;
        if (std::count(line.begin(), line.end(), ' ') != 2 || line.find('\t') != std::string::npos)
            return "the request line must be METHOD SP Request-URI SP SIP/2.0 with single spaces";
        if (!all_token(m.method)) return "the method is not a token";
        if (m.version != "SIP/2.0") return "the request line's version is not SIP/2.0";
        if (!has_scheme(m.uri) || m.uri.find_first_of("<>\"") != std::string::npos)
            return "the Request-URI is not a bare absolute URI";
        // '?' may appear in the user part (RFC 4475 intmeth), not after the host.
        if (is_sip_scheme(m.uri) && m.uri.find('?', m.uri.rfind('@') == std::string::npos ? 0 : m.uri.rfind('@')) !=
                                        std::string::npos)
            return "the Request-URI carries URI headers (?...), which a Request-URI must not";
    } else {
        if (m.version != "SIP/2.0") return "the status line's version is not SIP/2.0";
        auto code = m.start_line.substr(8, m.start_line.find(' ', 8) == std::string::npos ? std::string::npos
                                                                                          : m.start_line.find(' ', 8) - 8);
        if (code.size() != 3 || m.status < 100 || m.status > 699) return "the status code is not three digits from 100 to 699";
    }
    // Mandatory headers (RFC 3261 8.1.1; RFC 4475 insuf).
    for (auto key : {"via", "from", "to", "call-id", "cseq"})
        if (!m.find(key)) return std::string("the ") + key + " header is missing";
    // Headers that take one value (RFC 4475 multi01, mcl01).
    for (auto key : {"from", "to", "call-id", "cseq", "max-forwards", "content-length", "content-type"})
        if (m.count(key) > 1) return std::string("the ") + key + " header appears more than once";
    std::string err;
    auto cseq = parse_cseq(m.get("cseq"), &err);
    if (!cseq) return err;
    if (m.is_request && cseq->method != m.method)
        return "CSeq method " + cseq->method + " does not match the request method " + m.method;
    if (const Header* mf = m.find("max-forwards")) {
        auto v = mf->value;
        int n = 0;
        if (v.empty() || v.size() > 5 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            (std::from_chars(v.data(), v.data() + v.size(), n), n > 255))
            return "Max-Forwards is not a number from 0 to 255";
    }
    for (const auto& h : m.headers) {
        if (h.key == "via") {
            if (!parse_via(h.value, &err)) return err;
        } else if (h.key == "from" || h.key == "to") {
            if (!parse_name_addr(h.value, &err)) return (h.key == "to" ? "To " : "From ") + err;
        } else if (h.key == "contact") {
            if (trim(h.value) != "*" && !parse_name_addr_list(h.value, &err)) return "Contact " + err;
        } else if (h.key == "date") {
            auto v = trim(h.value);
            if (v.size() < 4 || v.substr(v.size() - 4) != " GMT") return "Date is not in GMT (RFC 3261 20.17)";
        }
    }
    return std::nullopt;
}

}  // namespace ringside::sip
