#pragma once
// Sans-I/O AMI stream reader, shaped like Beast's basic_parser: put() bytes
// split anywhere, take parsed items out with next(). No sockets, never throws
// for any input, memory bounded by the limits below whatever the peer sends.
//
// Wire format: an optional greeting line "Asterisk Call Manager/X.Y.Z", then
// messages of "Key: Value" lines ended by a blank line. CRLF and bare LF are
// both accepted. Tolerated quirks:
//  - an `Event:` or `Response:` key inside a message that already has one
//    starts a new message: real Asterisk 13 output sometimes lacks the blank
//    line (OriginateResponse, whose Response header is its own, excepted);
//  - "Response: Follows" (Command action, Asterisk < 14): every line up to
//    "--END COMMAND--" belongs to the response, blank lines included, unless
//    a blank line is followed by an Event/Response/Action line (a Follows
//    response without the marker ends there); lines that are not
//    "Key: Value" become `Output` fields, one per line;
//  - lines without a colon are skipped and counted (garbage_lines()).
// When a limit is crossed the reader reports a ReadError, drops the message
// being read and skips to the next blank line; the messages after it are read
// normally.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ringside/ami/message.hpp"

namespace ringside::ami {

struct ReaderLimits {
    std::size_t max_line = 8 * 1024;        // bytes in one line, terminator excluded
    std::size_t max_fields = 512;           // "Key: Value" lines in one message
    std::size_t max_message = 64 * 1024;    // bytes of one message, terminators included
};

enum class Limit { line_length, field_count, message_size };

/// A limit was crossed. `size` is how big the thing was when the reader gave
/// up on it (at least limit + 1); the offending data was dropped.
struct ReadError {
    Limit which = Limit::line_length;
    std::size_t limit = 0;
    std::size_t size = 0;
    /// "AMI line longer than 8192 bytes (8193 seen); skipped to the next message"
    std::string describe() const;
};

/// The first line a server sends: "Asterisk Call Manager/5.0.1".
struct Greeting {
    std::string line;     // the whole line, without terminator
    std::string version;  // "5.0.1"
};

using ReaderItem = std::variant<Greeting, Message, ReadError>;

class Reader {
public:
    explicit Reader(ReaderLimits limits = {}) noexcept : limits_(limits) {}

    /// Takes all of `bytes` (always returns bytes.size(); memory stays bounded
    /// because over-long data is dropped as it arrives). Throws nothing but
    /// std::bad_alloc.
    std::size_t put(std::string_view bytes);
    /// The next parsed item in wire order, or nullopt when more bytes are needed.
    std::optional<ReaderItem> next();
    /// Gives back a message taken from next() once its reader is done with
    /// it: its fields' storage is reused for the messages read after it
    /// (optional; a steady event stream then reads without allocating).
    void recycle(Message&& m);
    /// True when no parsed item is waiting.
    bool need_more() const noexcept { return out_.empty(); }

    /// Start over as for a fresh connection (queued items are dropped).
    void reset();

    const ReaderLimits& limits() const noexcept { return limits_; }
    std::uint64_t garbage_lines() const noexcept { return garbage_lines_; }
    std::uint64_t limit_errors() const noexcept { return limit_errors_; }

private:
    enum class Mode {
        normal,        // reading "Key: Value" lines
        follows,       // inside "Response: Follows" command output
        after_follows, // saw --END COMMAND--, waiting for the blank line
        skipping,      // a limit was crossed: drop lines up to a blank one
    };

    /// A whole line (its terminator's '\r' maybe still on), `wire_size` bytes on the wire.
    void complete_line(std::string_view line, std::size_t wire_size);
    void on_line(std::string_view line);
    void on_field_line(std::string_view line, bool allow_split);
    void add_field(std::string_view key, std::string_view value);
    void finish_message();
    void clear_message();
    void fail(Limit which, std::size_t limit, std::size_t size);
    void push(ReaderItem item);

    ReaderLimits limits_;
    Mode mode_ = Mode::normal;
    std::string line_;             // the partial line, at most max_line bytes
    std::size_t line_size_ = 0;    // bytes of the partial line seen so far (may exceed line_.size())
    bool line_too_long_ = false;   // line_size_ crossed max_line; rest of the line is dropped
    bool had_fields_when_too_long_ = false;
    bool follows_blank_pending_ = false; // a blank line inside command output: output, or the end?
    std::size_t line_wire_size_ = 0; // bytes of the line being handled, terminator included
    Message cur_;                  // fields past cur_used_ are storage left from a recycled message
    std::size_t cur_used_ = 0;     // fields of the message being read
    Message spare_;                // given back by recycle(), taken by the next message
    std::size_t cur_size_ = 0;
    bool cur_has_event_ = false;     // cur_ has an Event field
    bool cur_has_response_ = false;  // cur_ has a Response field
    bool cur_is_originate_response_ = false;  // its (first) Event is OriginateResponse
    std::deque<ReaderItem> out_;
    std::uint64_t garbage_lines_ = 0;
    std::uint64_t limit_errors_ = 0;
};

}  // namespace ringside::ami
