#pragma once
// SIP message parser, shaped like Beast's basic_parser: put(bytes) returns
// how much it consumed, items come out of next(), and need_more() says it is
// waiting for more bytes. No sockets.
//
// Two framings (RFC 3261 18.3):
//  - datagram (UDP): one message per datagram. Bytes after Content-Length are
//    ignored; a Content-Length larger than the rest of the datagram rejects
//    the message. parse_datagram() does it in one call.
//  - stream (TCP): messages back to back, framed by Content-Length (absent:
//    no body), split at any byte. CRLF keep-alives between messages
//    (RFC 5626 section 3.5.1) are skipped. A framing error (a limit crossed, a
//    header block that cannot be read, a bad Content-Length) leaves the
//    stream unusable: failed() turns true and the connection must be closed.
//
// Every complete message is also checked against the RFC 3261 grammar of the
// headers a user agent relies on (validate.hpp); one that fails comes out as
// a Rejected item naming the reason, with what was parsed so the caller can
// answer 400 (the stream carries on: framing was fine).
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ringside/sip/message.hpp"

namespace ringside::sip {

struct ParserLimits {
    std::size_t max_line = 8 * 1024;          // one header line, folded continuation lines included
    std::size_t max_headers = 100;            // header fields in one message
    std::size_t max_message = 64 * 1024;      // header block plus body
};

enum class ParseError {
    line_too_long,        // a line longer than max_line
    too_many_headers,     // more than max_headers header fields
    message_too_large,    // header block plus body over max_message
    bad_start_line,       // not "METHOD SP URI SP SIP/2.0" nor "SIP/2.0 SP CODE SP REASON"
    bad_header_line,      // a header line without "name:", or a continuation line with nothing before it
    bad_content_length,   // Content-Length not a single non-negative integer
    truncated_body,       // datagram: Content-Length larger than the bytes that follow
    invalid_header,       // framing was fine; a header breaks the RFC 3261 grammar (see detail)
};
std::string_view to_string(ParseError e) noexcept;

struct Rejected {
    ParseError error = ParseError::bad_start_line;
    std::string detail;            // "CSeq method INVITE does not match the request method OPTIONS"
    std::optional<Message> partial;  // set when the start line and headers could be read
    std::string describe() const;  // "invalid header: CSeq ..."
};

using Item = std::variant<Message, Rejected>;

/// One UDP datagram -> one item.
Item parse_datagram(std::string_view datagram, const ParserLimits& limits = {});

class StreamParser {
public:
    explicit StreamParser(ParserLimits limits = {}) : limits_(limits) {}

    /// Takes bytes; returns how many it consumed (all of them, unless failed()).
    std::size_t put(std::string_view bytes);
    /// The next parsed item, in wire order.
    std::optional<Item> next();
    /// True while a message is incomplete (bytes buffered or none yet).
    bool need_more() const noexcept { return !failed_ && items_.empty(); }
    /// A framing error was reported; nothing more will be parsed.
    bool failed() const noexcept { return failed_; }
    std::size_t buffered() const noexcept { return buf_.size(); }
    const ParserLimits& limits() const noexcept { return limits_; }

private:
    void parse_available();
    void fail(ParseError e, std::string detail);

    ParserLimits limits_;
    std::string buf_;
    std::size_t scanned_ = 0;           // bytes of buf_ already searched for the end of the header block
    std::size_t line_start_ = 0;        // start of the first header-block line not yet checked against max_line
    std::optional<std::size_t> body_at_;  // header block complete: body starts here
    std::optional<Message> pending_;       // its parsed head while the body arrives
    std::size_t body_len_ = 0;
    std::deque<Item> items_;
    bool failed_ = false;
};

}  // namespace ringside::sip
