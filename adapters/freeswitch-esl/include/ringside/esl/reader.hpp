#pragma once
// Sans-I/O FreeSWITCH Event Socket reader, shaped like Beast's basic_parser:
// put() bytes split anywhere, take parsed items out with next(). No sockets,
// never throws for any input (std::bad_alloc aside), memory bounded by the
// limits below whatever the peer sends.
//
// Wire format (mod_event_socket): a block of "Name: value" lines ended by a
// blank line; when the block has `Content-Length: N`, exactly N body bytes
// follow (an api/response body often has no trailing newline, so the next
// block starts right after it). A `text/event-plain` body is itself a header
// block whose values are %-encoded, optionally with its own Content-Length and
// body (BACKGROUND_JOB): the reader frames first, then parses that body into
// Message::event and %-decodes the event's header values. Outer header values
// are never decoded. CRLF and bare LF are both accepted.
//
// Errors: a limit crossed gives a ReadError and the offending data is dropped
// (a too-long body is skipped by its Content-Length, so framing holds); lines
// without a colon are skipped and counted (garbage_lines()); a Content-Length
// that is not a number gives a ReadError and the block is taken as bodiless.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ringside/core/ascii.hpp"

namespace ringside::esl {

struct Header {
    std::string name;
    std::string value;
};

/// Header lines in wire order; names compare ASCII case-insensitively.
struct Headers {
    std::vector<Header> items;
    /// First value of name, "" when absent.
    std::string_view get(std::string_view name) const noexcept;
    bool has(std::string_view name) const noexcept;
};

/// A parsed `text/event-plain` body: decoded headers and the event's own body.
struct Event {
    Headers headers;
    std::string body;  // BACKGROUND_JOB result, "" for channel events
    std::string_view get(std::string_view name) const noexcept { return headers.get(name); }
    std::string_view name() const noexcept { return headers.get("Event-Name"); }
};

struct Message {
    Headers headers;            // raw values, as framed
    std::string body;           // Content-Length bytes, "" when none
    std::optional<Event> event; // set for Content-Type: text/event-plain
    std::string_view content_type() const noexcept { return headers.get("Content-Type"); }
    /// command/reply Reply-Text ("+OK accepted", "-ERR invalid").
    std::string_view reply_text() const noexcept { return headers.get("Reply-Text"); }
};

struct ReaderLimits {
    std::size_t max_line = 8 * 1024;          // bytes in one header line, terminator excluded
    std::size_t max_headers = 512;            // header lines in one block (outer or event)
    std::size_t max_body = 4 * 1024 * 1024;   // Content-Length accepted (show channels on a busy box is large)
};

enum class Limit { line_length, header_count, body_size, bad_content_length };

/// Something was wrong and dropped; `size` is how big it was when the reader
/// gave up (for bad_content_length: 0).
struct ReadError {
    Limit which = Limit::line_length;
    std::size_t limit = 0;
    std::size_t size = 0;
    /// "ESL body of 5000000 bytes over the 4194304 byte limit; skipped"
    std::string describe() const;
};

using ReaderItem = std::variant<Message, ReadError>;

class Reader {
public:
    explicit Reader(ReaderLimits limits = {}) noexcept : limits_(limits) {}

    /// Takes all of `bytes` (always returns bytes.size()).
    std::size_t put(std::string_view bytes);
    /// The next parsed item in wire order, or nullopt when more bytes are needed.
    std::optional<ReaderItem> next();
    bool need_more() const noexcept { return out_.empty(); }
    /// Start over as for a fresh connection (queued items are dropped).
    void reset();

    const ReaderLimits& limits() const noexcept { return limits_; }
    std::uint64_t garbage_lines() const noexcept { return garbage_lines_; }
    std::uint64_t errors() const noexcept { return errors_; }

private:
    enum class Mode { headers, skip_line, skip_block, body, skip_body };

    void on_line(std::string_view line);
    void end_block();
    void finish_message();
    void fail(Limit which, std::size_t limit, std::size_t size);

    ReaderLimits limits_;
    Mode mode_ = Mode::headers;
    Mode after_skip_line_ = Mode::headers;
    std::string line_;
    Message cur_;
    std::size_t body_left_ = 0;
    std::deque<ReaderItem> out_;
    std::uint64_t garbage_lines_ = 0;
    std::uint64_t errors_ = 0;
};

/// "%2B" -> "+"; a '%' not followed by two hex digits stays as it is. '+' is
/// not a space here (FreeSWITCH encodes spaces as %20).
std::string percent_decode(std::string_view s);

/// Parses a text/event-plain body: header lines up to a blank line or the end
/// (%-decoded values), then the event's own Content-Length body, cut to what
/// is there. Lines without a colon are skipped; more than max_headers are dropped.
Event parse_event_plain(std::string_view body, std::size_t max_headers);

}  // namespace ringside::esl
