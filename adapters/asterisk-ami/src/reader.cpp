#include "ringside/ami/reader.hpp"

namespace ringside::ami {
namespace {

constexpr std::string_view greeting_prefix = "Asterisk Call Manager";
constexpr std::string_view end_command = "--END COMMAND--";

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// "Event: ...", "Response: ..." or "Action: ...": the first line of a message.
bool starts_message(std::string_view line) noexcept {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    const auto key = line.substr(0, colon);  // at column 0: indented output is output
    return iequals(key, "Event") || iequals(key, "Response") || iequals(key, "Action");
}

}  // namespace

std::string ReadError::describe() const {
    std::string what;
    switch (which) {
    case Limit::line_length: what = "AMI line longer than " + std::to_string(limit) + " bytes"; break;
    case Limit::field_count: what = "AMI message with more than " + std::to_string(limit) + " fields"; break;
    case Limit::message_size: what = "AMI message larger than " + std::to_string(limit) + " bytes"; break;
    }
    return what + " (" + std::to_string(size) + " seen); skipped to the next message";
}

std::size_t Reader::put(std::string_view bytes) {
    const std::size_t consumed = bytes.size();
    while (!bytes.empty()) {
        const auto nl = bytes.find('\n');
        const std::string_view chunk = bytes.substr(0, nl);
        if (nl != std::string_view::npos && line_.empty() && line_size_ == 0 && chunk.size() <= limits_.max_line + 1) {
            // A whole line inside this read (the usual case): handled where
            // it lies, without a copy.
            bytes.remove_prefix(nl + 1);
            complete_line(chunk, chunk.size() + 1);
            continue;
        }
        line_size_ += chunk.size();
        if (!line_too_long_) {
            // Keep one byte over the limit for the '\r' of a CRLF terminator.
            if (line_.size() + chunk.size() > limits_.max_line + 1) {
                line_too_long_ = true;
                had_fields_when_too_long_ = cur_used_ > 0 || mode_ != Mode::normal;
                line_.clear();
                line_.shrink_to_fit();
                if (mode_ != Mode::skipping) fail(Limit::line_length, limits_.max_line, line_size_);
            } else {
                line_.append(chunk);
            }
        }
        if (nl == std::string_view::npos) break;
        bytes.remove_prefix(nl + 1);

        const std::size_t wire_size = line_size_ + 1;
        line_size_ = 0;
        if (line_too_long_) {
            line_too_long_ = false;
            // An over-long line between messages is just dropped; one inside a
            // message spoilt that message, so skip to its end.
            if (!had_fields_when_too_long_) mode_ = Mode::normal;
            continue;
        }
        complete_line(line_, wire_size);
        line_.clear();
    }
    return consumed;
}

void Reader::complete_line(std::string_view line, std::size_t wire_size) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > limits_.max_line) {
        if (mode_ != Mode::skipping) fail(Limit::line_length, limits_.max_line, line.size());
        if (cur_used_ == 0) mode_ = Mode::normal;
        return;
    }
    line_wire_size_ = wire_size;
    on_line(line);
}

void Reader::on_line(std::string_view line) {
    switch (mode_) {
    case Mode::skipping:
        if (line.empty()) mode_ = Mode::normal;
        return;
    case Mode::after_follows:
        if (line.empty())
            finish_message();
        else
            on_field_line(line, false);
        return;
    case Mode::follows:
        if (follows_blank_pending_) {
            follows_blank_pending_ = false;
            if (starts_message(line)) {
                // A Follows response that never sent --END COMMAND--.
                finish_message();
                on_line(line);
                return;
            }
            add_field("Output", "");
            if (mode_ != Mode::follows) return;
        }
        if (line.empty()) {
            follows_blank_pending_ = true;
            return;
        }
        if (line.size() >= end_command.size() && line.substr(line.size() - end_command.size()) == end_command) {
            // Some versions glue the marker to the last output line.
            auto rest = line.substr(0, line.size() - end_command.size());
            if (!rest.empty()) add_field("Output", rest);
            if (mode_ == Mode::follows) mode_ = Mode::after_follows;
            return;
        }
        on_field_line(line, false);
        return;
    case Mode::normal:
        if (line.empty()) {
            if (cur_used_ > 0) finish_message();
            return;
        }
        if (cur_used_ == 0 && line.substr(0, greeting_prefix.size()) == greeting_prefix &&
            line.find('/') != std::string_view::npos) {
            auto slash = line.rfind('/');
            push(Greeting{std::string(line), std::string(trim(line.substr(slash + 1)))});
            return;
        }
        on_field_line(line, true);
        return;
    }
}

void Reader::on_field_line(std::string_view line, bool allow_split) {
    const auto colon = line.find(':');
    const std::string_view key = colon == std::string_view::npos ? std::string_view{} : trim(line.substr(0, colon));
    if (key.empty()) {
        if (mode_ == Mode::follows) {
            add_field("Output", line);  // command output is kept verbatim
        } else {
            ++garbage_lines_;
        }
        return;
    }
    const std::string_view value = trim(line.substr(colon + 1));
    if (allow_split && cur_used_ > 0) {
        // A missing blank line: a message never carries two of these keys.
        // OriginateResponse is the one event with a Response header of its own.
        const bool is_event = iequals(key, "Event");
        const bool is_response = iequals(key, "Response");
        if ((is_event && (cur_has_event_ || cur_has_response_)) ||
            (is_response && (cur_has_response_ || (cur_has_event_ && !cur_is_originate_response_))))
            finish_message();
    }
    add_field(key, value);
    if (mode_ == Mode::normal && iequals(key, "Response") && iequals(value, "Follows")) mode_ = Mode::follows;
}

void Reader::add_field(std::string_view key, std::string_view value) {
    if (cur_used_ >= limits_.max_fields) {
        fail(Limit::field_count, limits_.max_fields, cur_used_ + 1);
        return;
    }
    if (cur_size_ + line_wire_size_ > limits_.max_message) {
        fail(Limit::message_size, limits_.max_message, cur_size_ + line_wire_size_);
        return;
    }
    cur_size_ += line_wire_size_;
    // Whether the message has these keys yet, kept as fields come: asking
    // the message per line made reading a message quadratic in its fields.
    if (!cur_has_event_ && iequals(key, "Event")) {
        cur_has_event_ = true;
        cur_is_originate_response_ = iequals(value, "OriginateResponse");
    } else if (!cur_has_response_ && iequals(key, "Response")) {
        cur_has_response_ = true;
    }
    if (cur_used_ < cur_.fields.size()) {
        // A recycled message's field: its strings' buffers are reused, so a
        // steady stream of events reads without allocating.
        auto& f = cur_.fields[cur_used_];
        f.key.assign(key);
        f.value.assign(value);
    } else {
        if (cur_.fields.empty()) cur_.fields.reserve(24);
        cur_.fields.push_back(Field{std::string(key), std::string(value)});
    }
    ++cur_used_;
}

void Reader::recycle(Message&& m) {
    // Bounded: a hostile peer's huge message is not kept for reuse, and no
    // reused string holds more than 1 KiB, so a link keeps at most 128 KiB.
    constexpr std::size_t max_kept_fields = 64, max_kept_bytes = 1024;
    if (m.fields.size() > max_kept_fields || m.fields.capacity() <= spare_.fields.capacity()) return;
    for (auto& f : m.fields) {
        if (f.key.capacity() > max_kept_bytes) f.key = std::string();
        if (f.value.capacity() > max_kept_bytes) f.value = std::string();
    }
    spare_ = std::move(m);
}

void Reader::clear_message() {
    // The message being read starts from the spare one (fields left over from
    // an earlier message are overwritten in place, and cut off when it ends).
    // A message dropped at a limit is freed here, not kept for reuse.
    cur_ = std::move(spare_);
    spare_ = Message{};
    cur_used_ = 0;
    cur_size_ = 0;
    cur_has_event_ = cur_has_response_ = cur_is_originate_response_ = false;
}

void Reader::finish_message() {
    follows_blank_pending_ = false;
    cur_.fields.resize(cur_used_);
    push(std::move(cur_));
    clear_message();
    mode_ = Mode::normal;
}

void Reader::fail(Limit which, std::size_t limit, std::size_t size) {
    ++limit_errors_;
    follows_blank_pending_ = false;
    push(ReadError{which, limit, size});
    clear_message();
    mode_ = Mode::skipping;
}

void Reader::push(ReaderItem item) { out_.push_back(std::move(item)); }

std::optional<ReaderItem> Reader::next() {
    if (out_.empty()) return std::nullopt;
    ReaderItem item = std::move(out_.front());
    out_.pop_front();
    return item;
}

void Reader::reset() {
    mode_ = Mode::normal;
    line_.clear();
    line_size_ = 0;
    line_too_long_ = false;
    had_fields_when_too_long_ = false;
    follows_blank_pending_ = false;
    clear_message();
    out_.clear();
}

}  // namespace ringside::ami
