#pragma once
// A parsed SIP message (RFC 3261 section 7): start line, header fields in
// wire order with folded lines joined, and the body. Plain data; parsing is
// in parser.hpp, the header grammar checks in validate.hpp.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringside::sip {

struct Header {
    std::string name;   // as written ("v", "Via", "C%6Fntact")
    std::string key;    // lower-case long form: compact forms expanded ("v" -> "via")
    std::string value;  // folding (CRLF + SP/HT) replaced by one SP, outer whitespace trimmed
};

struct Message {
    bool is_request = false;
    // request line
    std::string method;       // "INVITE"; as written (methods are case-sensitive)
    std::string uri;          // Request-URI, as written
    // status line
    int status = 0;           // 100..699
    std::string reason;       // may be empty (RFC 4475 "noreason")
    std::string version;      // "SIP/2.0" as written
    std::string start_line;   // the whole first line, for validation and logs
    std::vector<Header> headers;
    std::string body;

    /// First header with this lower-case long-form key, or nullptr.
    const Header* find(std::string_view key) const noexcept;
    /// Its value, or "" when absent.
    std::string_view get(std::string_view key) const noexcept;
    /// How many headers carry this key.
    std::size_t count(std::string_view key) const noexcept;
};

/// Lower-case long form of a header name: compact forms (RFC 3261 7.3.3 and
/// later RFCs: i, m, e, l, c, f, s, k, t, v, o, u, r, b, x, y) are expanded.
std::string header_key(std::string_view name);

}  // namespace ringside::sip
