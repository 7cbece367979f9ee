#include "ringside/esl/reader.hpp"

#include <algorithm>

namespace ringside::esl {
namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

/// Splits "Name: value" (one optional space after the colon is not part of
/// the value). False for a line without a colon or with an empty name.
bool split_header(std::string_view line, std::string_view& name, std::string_view& value) noexcept {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    name = trim(line.substr(0, colon));
    if (name.empty()) return false;
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return true;
}

/// Decimal Content-Length; nullopt unless it is all digits and fits comfortably.
std::optional<std::size_t> parse_length(std::string_view s) noexcept {
    s = trim(s);
    if (s.empty() || s.size() > 15) return std::nullopt;
    std::size_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(c - '0');
    }
    return n;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string_view Headers::get(std::string_view name) const noexcept {
    for (const auto& h : items)
        if (iequals(h.name, name)) return h.value;
    return {};
}

bool Headers::has(std::string_view name) const noexcept {
    for (const auto& h : items)
        if (iequals(h.name, name)) return true;
    return false;
}

std::string ReadError::describe() const {
    switch (which) {
    case Limit::line_length:
        return "ESL header line longer than " + std::to_string(limit) + " bytes (" + std::to_string(size) +
               " seen); skipped to the next message";
    case Limit::header_count:
        return "ESL message with more than " + std::to_string(limit) + " headers; skipped to the next message";
    case Limit::body_size:
        return "ESL body of " + std::to_string(size) + " bytes over the " + std::to_string(limit) +
               " byte limit; skipped";
    case Limit::bad_content_length:
        return "ESL Content-Length is not a number; message taken without a body";
    }
    return "ESL read error";
}

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            const int hi = hex_value(s[i + 1]);
            const int lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

Event parse_event_plain(std::string_view body, std::size_t max_headers) {
    Event ev;
    std::size_t pos = 0;
    bool ended = false;
    while (pos < body.size()) {
        auto nl = body.find('\n', pos);
        const auto end = nl == std::string_view::npos ? body.size() : nl;
        std::string_view line = body.substr(pos, end - pos);
        pos = nl == std::string_view::npos ? body.size() : nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) {
            if (ev.headers.items.empty()) continue;  // leading blank lines
            ended = true;
            break;
        }
        std::string_view name, value;
        if (!split_header(line, name, value)) continue;
        if (ev.headers.items.size() >= max_headers) continue;
        ev.headers.items.push_back(Header{std::string(name), percent_decode(value)});
    }
    if (ended) {
        if (auto n = parse_length(ev.headers.get("Content-Length")))
            ev.body.assign(body.substr(pos, std::min(*n, body.size() - pos)));
    }
    return ev;
}

std::size_t Reader::put(std::string_view bytes) {
    const auto total = bytes.size();
    while (!bytes.empty()) {
        if (mode_ == Mode::body || mode_ == Mode::skip_body) {
            const auto n = std::min(body_left_, bytes.size());
            if (mode_ == Mode::body) cur_.body.append(bytes.data(), n);
            body_left_ -= n;
            bytes.remove_prefix(n);
            if (body_left_ == 0) {
                if (mode_ == Mode::body) finish_message();
                cur_ = Message{};
                mode_ = Mode::headers;
            }
            continue;
        }
        const auto nl = bytes.find('\n');
        const auto piece = bytes.substr(0, nl == std::string_view::npos ? bytes.size() : nl);
        if (mode_ != Mode::skip_line) {
            // +1: a CR before the LF is not part of the line.
            if (line_.size() + piece.size() > limits_.max_line + 1) {
                fail(Limit::line_length, limits_.max_line, line_.size() + piece.size());
                after_skip_line_ = (mode_ == Mode::headers && cur_.headers.items.empty()) ? Mode::headers
                                                                                          : Mode::skip_block;
                line_.clear();
                cur_ = Message{};
                mode_ = Mode::skip_line;
            } else {
                line_.append(piece);
            }
        }
        if (nl == std::string_view::npos) break;
        bytes.remove_prefix(nl + 1);
        if (mode_ == Mode::skip_line) {
            mode_ = after_skip_line_;
            line_.clear();
            continue;
        }
        std::string_view line = line_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() > limits_.max_line) {
            fail(Limit::line_length, limits_.max_line, line.size());
            mode_ = cur_.headers.items.empty() ? Mode::headers : Mode::skip_block;
            cur_ = Message{};
            line_.clear();
            continue;
        }
        on_line(line);
        line_.clear();
    }
    return total;
}

void Reader::on_line(std::string_view line) {
    if (mode_ == Mode::skip_block) {
        if (line.empty()) mode_ = Mode::headers;
        return;
    }
    if (line.empty()) {
        if (!cur_.headers.items.empty()) end_block();  // stray blank lines between blocks are fine
        return;
    }
    std::string_view name, value;
    if (!split_header(line, name, value)) {
        ++garbage_lines_;
        return;
    }
    if (cur_.headers.items.size() >= limits_.max_headers) {
        fail(Limit::header_count, limits_.max_headers, cur_.headers.items.size() + 1);
        cur_ = Message{};
        mode_ = Mode::skip_block;
        return;
    }
    cur_.headers.items.push_back(Header{std::string(name), std::string(value)});
}

void Reader::end_block() {
    if (!cur_.headers.has("Content-Length")) return finish_message();
    const auto n = parse_length(cur_.headers.get("Content-Length"));
    if (!n) {
        fail(Limit::bad_content_length, 0, 0);
        return finish_message();
    }
    if (*n > limits_.max_body) {
        fail(Limit::body_size, limits_.max_body, *n);
        cur_ = Message{};
        body_left_ = *n;
        mode_ = Mode::skip_body;
        return;
    }
    if (*n == 0) return finish_message();
    body_left_ = *n;
    cur_.body.reserve(*n);
    mode_ = Mode::body;
}

void Reader::finish_message() {
    if (iequals(cur_.content_type(), "text/event-plain"))
        cur_.event = parse_event_plain(cur_.body, limits_.max_headers);
    out_.emplace_back(std::move(cur_));
    cur_ = Message{};
    mode_ = Mode::headers;
}

void Reader::fail(Limit which, std::size_t limit, std::size_t size) {
    ++errors_;
    out_.emplace_back(ReadError{which, limit, size});
}

std::optional<ReaderItem> Reader::next() {
    if (out_.empty()) return std::nullopt;
    ReaderItem item = std::move(out_.front());
    out_.pop_front();
    return item;
}

void Reader::reset() {
    mode_ = Mode::headers;
    line_.clear();
    cur_ = Message{};
    body_left_ = 0;
    out_.clear();
}

}  // namespace ringside::esl
