#include "ringside/sip/parser.hpp"

#include <charconv>

#include "ringside/core/ascii.hpp"
#include "ringside/sip/grammar.hpp"

namespace ringside::sip {

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
    return s;
}

Rejected reject(ParseError e, std::string detail, std::optional<Message> partial = std::nullopt) {
    return Rejected{e, std::move(detail), std::move(partial)};
}

/// Reads the start line: the structure only; the exact spacing rules are in check_message().
bool read_start_line(std::string_view line, Message& m) {
    m.start_line = std::string(line);
    if (line.size() >= 4 && iequals(line.substr(0, 4), "SIP/")) {
        m.is_request = false;
        auto sp1 = line.find(' ');
        if (sp1 == std::string_view::npos) return false;
        m.version = std::string(line.substr(0, sp1));
        auto rest = line.substr(sp1 + 1);
        auto sp2 = rest.find(' ');
        auto code = rest.substr(0, sp2);
        if (code.empty()) return false;
        for (char c : code)
            if (c < '0' || c > '9') return false;
        // Out-of-range codes (RFC 4475 bigcode) read as 0; check_message() refuses them.
        if (code.size() > 3 || std::from_chars(code.data(), code.data() + code.size(), m.status).ec != std::errc{})
            m.status = 0;
        m.reason = sp2 == std::string_view::npos ? std::string() : std::string(rest.substr(sp2 + 1));
        return true;
    }
    m.is_request = true;
    auto sp1 = line.find(' ');
    auto sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos) return false;
    m.method = std::string(line.substr(0, sp1));
    if (sp2 == sp1) {  // no version (RFC 4475 test.dat): check_message() names it
        m.uri = std::string(line.substr(sp1 + 1));
        return !m.method.empty();
    }
    m.uri = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    m.version = std::string(line.substr(sp2 + 1));
    return !m.method.empty();
}

/// Parses a header block (start line and header lines, without the blank
/// line that ends it). Framing-level errors only.
std::variant<Message, Rejected> parse_head(std::string_view head, const ParserLimits& limits) {
    Message m;
    bool first = true;
    std::size_t header_len = 0;  // length of the current header, folding included
    while (true) {
        auto eol = head.find("\r\n");
        std::string_view line = head.substr(0, eol);
        if (line.size() > limits.max_line)
            return reject(ParseError::line_too_long, "a line is longer than " + std::to_string(limits.max_line) + " bytes");
        if (first) {
            if (line.empty() || !read_start_line(line, m))
                return reject(ParseError::bad_start_line, "the first line is neither a request line nor a status line");
            first = false;
        } else if (!line.empty() && is_ws(line.front())) {
            if (m.headers.empty()) return reject(ParseError::bad_header_line, "a continuation line comes before any header");
            header_len += line.size();
            if (header_len > limits.max_line)
                return reject(ParseError::line_too_long, "a folded header is longer than " + std::to_string(limits.max_line) + " bytes");
            auto more = trim(line);
            auto& v = m.headers.back().value;
            if (!more.empty()) {
                if (!v.empty()) v += ' ';
                v += more;
            }
        } else {
            auto colon = line.find(':');
            if (colon == std::string_view::npos)
                return reject(ParseError::bad_header_line, "a header line has no colon");
            auto name = line.substr(0, colon);
            while (!name.empty() && is_ws(name.back())) name.remove_suffix(1);
            if (name.empty()) return reject(ParseError::bad_header_line, "a header line has no name");
            for (char c : name)
                if (!is_token_char(c)) return reject(ParseError::bad_header_line, "a header name has a character a token cannot have");
            if (m.headers.size() == limits.max_headers)
                return reject(ParseError::too_many_headers, "more than " + std::to_string(limits.max_headers) + " header fields");
            m.headers.push_back(Header{std::string(name), header_key(name), std::string(trim(line.substr(colon + 1)))});
            header_len = line.size();
        }
        if (eol == std::string_view::npos) break;
        head.remove_prefix(eol + 2);
    }
    return m;
}

/// The Content-Length of a parsed head: 0 when absent; error text when
/// repeated with different values or not a number.
std::variant<std::size_t, std::string> content_length(const Message& m) {
    std::optional<std::size_t> len;
    for (const auto& h : m.headers) {
        if (h.key != "content-length") continue;
        std::size_t v = 0;
        auto s = h.value;
        if (s.empty() || s.size() > 9) return std::string("Content-Length is not a number from 0 to 999999999");
        for (char c : s)
            if (c < '0' || c > '9') return std::string("Content-Length is not a non-negative integer");
        std::from_chars(s.data(), s.data() + s.size(), v);
        if (len && *len != v) return std::string("Content-Length appears more than once with different values");
        if (len) return std::string("Content-Length appears more than once");
        len = v;
    }
    return len.value_or(0);
}

Item finish(Message m) {
    if (auto why = check_message(m)) return reject(ParseError::invalid_header, *why, std::move(m));
    return m;
}

}  // namespace

std::string_view to_string(ParseError e) noexcept {
    switch (e) {
    case ParseError::line_too_long: return "line too long";
    case ParseError::too_many_headers: return "too many headers";
    case ParseError::message_too_large: return "message too large";
    case ParseError::bad_start_line: return "bad start line";
    case ParseError::bad_header_line: return "bad header line";
    case ParseError::bad_content_length: return "bad Content-Length";
    case ParseError::truncated_body: return "truncated body";
    case ParseError::invalid_header: return "invalid header";
    }
    return "unknown";
}

std::string Rejected::describe() const { return std::string(to_string(error)) + ": " + detail; }

Item parse_datagram(std::string_view d, const ParserLimits& limits) {
    while (d.size() >= 2 && d.substr(0, 2) == "\r\n") d.remove_prefix(2);
    if (d.size() > limits.max_message)
        return reject(ParseError::message_too_large, "the datagram is larger than " + std::to_string(limits.max_message) + " bytes");
    auto end = d.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (d.size() >= 2 && d.substr(d.size() - 2) == "\r\n") end = d.size() - 2;  // blank line missing at the very end
        else return reject(ParseError::bad_header_line, "no blank line ends the header block");
    }
    auto head = parse_head(d.substr(0, end), limits);
    if (auto* r = std::get_if<Rejected>(&head)) return std::move(*r);
    auto& m = std::get<Message>(head);
    auto rest = end + 4 <= d.size() ? d.substr(end + 4) : std::string_view{};
    auto len = content_length(m);
    if (auto* e = std::get_if<std::string>(&len)) return reject(ParseError::bad_content_length, *e, std::move(m));
    const bool has_length = m.find("content-length") != nullptr;
    std::size_t n = has_length ? std::get<std::size_t>(len) : rest.size();
    if (n > rest.size())
        return reject(ParseError::truncated_body,
                      "Content-Length " + std::to_string(n) + " is larger than the " + std::to_string(rest.size()) +
                          " bytes the datagram carries",
                      std::move(m));
    m.body = std::string(rest.substr(0, n));  // bytes after Content-Length are ignored (RFC 3261 18.3)
    return finish(std::move(m));
}

void StreamParser::fail(ParseError e, std::string detail) {
    failed_ = true;
    items_.push_back(reject(e, std::move(detail), std::move(pending_)));
    pending_.reset();
    buf_.clear();
}

std::size_t StreamParser::put(std::string_view bytes) {
    if (failed_) return 0;
    buf_.append(bytes);
    parse_available();
    return bytes.size();
}

std::optional<Item> StreamParser::next() {
    if (items_.empty()) return std::nullopt;
    Item it = std::move(items_.front());
    items_.pop_front();
    return it;
}

void StreamParser::parse_available() {
    while (!failed_) {
        if (!body_at_) {
            // CRLF keep-alives and stray empty lines before a start line.
            std::size_t skip = 0;
            while (skip < buf_.size() && (buf_[skip] == '\r' || buf_[skip] == '\n')) ++skip;
            if (skip) {
                buf_.erase(0, skip);
                scanned_ = 0;
                line_start_ = 0;
            }
            if (buf_.empty()) return;
            auto from = scanned_ >= 3 ? scanned_ - 3 : 0;
            auto end = buf_.find("\r\n\r\n", from);
            if (end == std::string::npos) {
                scanned_ = buf_.size();
                if (buf_.size() > limits_.max_message)
                    return fail(ParseError::message_too_large,
                                "the header block is larger than " + std::to_string(limits_.max_message) + " bytes");
                // Every complete line so far, and the one still arriving, must fit max_line
                // (checked here too, not only once the block is complete, so a peer cannot
                // make Ringside buffer a huge line; any split sees the same lines).
                for (auto eol = buf_.find("\r\n", line_start_); eol != std::string::npos; eol = buf_.find("\r\n", line_start_)) {
                    if (eol - line_start_ > limits_.max_line) break;
                    line_start_ = eol + 2;
                }
                auto eol = buf_.find("\r\n", line_start_);
                std::size_t line = (eol == std::string::npos ? buf_.size() : eol) - line_start_;
                // A CR at the very end may be the first half of the line's CRLF:
                // not part of the line, as it is not once its LF arrives.
                if (eol == std::string::npos && line > 0 && buf_.back() == '\r') --line;
                if (line > limits_.max_line)
                    return fail(ParseError::line_too_long, "a line is longer than " + std::to_string(limits_.max_line) + " bytes");
                return;
            }
            auto head = parse_head(std::string_view(buf_).substr(0, end), limits_);
            if (auto* r = std::get_if<Rejected>(&head)) return fail(r->error, r->detail);
            pending_ = std::move(std::get<Message>(head));
            auto len = content_length(*pending_);
            if (auto* e = std::get_if<std::string>(&len)) return fail(ParseError::bad_content_length, *e);
            body_len_ = std::get<std::size_t>(len);
            if (end + 4 + body_len_ > limits_.max_message)
                return fail(ParseError::message_too_large,
                            "Content-Length " + std::to_string(body_len_) + " makes the message larger than " +
                                std::to_string(limits_.max_message) + " bytes");
            body_at_ = end + 4;
        }
        if (buf_.size() < *body_at_ + body_len_) return;
        pending_->body = buf_.substr(*body_at_, body_len_);
        buf_.erase(0, *body_at_ + body_len_);
        body_at_.reset();
        scanned_ = 0;
        line_start_ = 0;
        Message m = std::move(*pending_);
        pending_.reset();
        items_.push_back(finish(std::move(m)));
    }
}

}  // namespace ringside::sip
