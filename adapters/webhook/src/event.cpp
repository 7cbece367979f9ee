#include "ringside/webhook/event.hpp"

#include <nlohmann/json.hpp>

namespace ringside::webhook {

const char* to_string(EventType t) noexcept {
    switch (t) {
    case EventType::ringing: return "call.ringing";
    case EventType::answered: return "call.answered";
    case EventType::transferred: return "call.transferred";
    case EventType::ended: return "call.ended";
    }
    return "unknown";
}

const char* to_string(EndCause c) noexcept {
    switch (c) {
    case EndCause::normal: return "normal";
    case EndCause::busy: return "busy";
    case EndCause::no_answer: return "no_answer";
    case EndCause::cancelled: return "cancelled";
    case EndCause::rejected: return "rejected";
    case EndCause::failed: return "failed";
    }
    return "unknown";
}

int q850(EndCause c) noexcept {
    switch (c) {
    case EndCause::normal: return 16;
    case EndCause::busy: return 17;
    case EndCause::no_answer: return 19;
    case EndCause::cancelled: return 16;
    case EndCause::rejected: return 21;
    case EndCause::failed: return 41;
    }
    return 0;
}

namespace {

using json = nlohmann::json;

bool id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == ':' || c == '@' || c == '-';
}

/// Extensions and ids: printable ASCII without spaces or '/', so they can
/// be part of a channel name and never smuggle control bytes into logs.
bool token_ok(std::string_view s, std::size_t max) {
    if (s.empty() || s.size() > max) return false;
    for (char c : s)
        if (!id_char(c)) return false;
    return true;
}

class Reader {
public:
    Reader(const json& j, const Limits& l) : j_(j), limits_(l) {}

    /// A string field; "" when absent and not required.
    std::string text(const char* name, bool required) {
        if (error_) return {};
        auto it = j_.find(name);
        if (it == j_.end() || it->is_null()) {
            if (required) fail(name, "is required");
            return {};
        }
        if (!it->is_string()) {
            fail(name, "must be a string");
            return {};
        }
        const auto& s = it->get_ref<const std::string&>();
        if (s.size() > limits_.max_text) {
            fail(name, "is longer than " + std::to_string(limits_.max_text) + " bytes");
            return {};
        }
        if (required && s.empty()) fail(name, "must not be empty");
        return s;
    }

    /// A token field (ids, extensions).
    std::string token(const char* name, bool required, std::size_t max = 64) {
        auto s = text(name, required);
        if (error_ || s.empty()) return s;
        if (!token_ok(s, max))
            fail(name, "must be 1 to " + std::to_string(max) + " letters, digits or . _ : @ -");
        return s;
    }

    void fail(std::string field, std::string what) {
        if (!error_) error_ = ParseError{field, "field '" + field + "' " + what};
    }
    void fail_message(std::string field, std::string message) {
        if (!error_) error_ = ParseError{std::move(field), std::move(message)};
    }
    const std::optional<ParseError>& error() const { return error_; }

private:
    const json& j_;
    const Limits& limits_;
    std::optional<ParseError> error_;
};

constexpr const char* known_fields[] = {"id",         "type",      "call_id", "at",     "from",  "from_name",
                                        "to",         "extensions", "extension", "target", "cause",
                                        "hangup_by",  "anonymous"};

}  // namespace

std::variant<Event, ParseError> parse_event(std::string_view body, const Limits& limits) {
    if (body.size() > limits.max_body)
        return ParseError{"", "the body is larger than " + std::to_string(limits.max_body) + " bytes"};
    // Depth is bounded by the size limit; nlohmann's parser is recursive, so
    // refuse deep nesting before it sees the bytes (no valid event nests).
    std::size_t depth = 0;
    bool in_string = false, escaped = false;
    for (char c : body) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '{' || c == '[') {
            if (++depth > 4) return ParseError{"", "the body nests deeper than an event ever does"};
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    json j = json::parse(body.begin(), body.end(), nullptr, false);
    if (j.is_discarded()) return ParseError{"", "the body is not valid JSON"};
    if (!j.is_object()) return ParseError{"", "the body must be a JSON object"};
    for (const auto& [key, value] : j.items()) {
        bool known = false;
        for (const char* k : known_fields) known = known || key == k;
        if (!known) {
            std::string shown = key.size() > 64 ? key.substr(0, 64) + "..." : key;
            for (auto& ch : shown)
                if (static_cast<unsigned char>(ch) < 0x20) ch = '?';
            return ParseError{shown, "unknown field '" + shown + "'"};
        }
    }

    Reader r(j, limits);
    Event e;
    e.id = r.token("id", true, 128);
    const auto type = r.text("type", true);
    if (!r.error()) {
        if (type == "call.ringing") e.type = EventType::ringing;
        else if (type == "call.answered") e.type = EventType::answered;
        else if (type == "call.transferred") e.type = EventType::transferred;
        else if (type == "call.ended") e.type = EventType::ended;
        else r.fail("type", "must be one of call.ringing, call.answered, call.transferred, call.ended");
    }
    e.call_id = r.token("call_id", true);
    const auto at = r.text("at", false);
    if (!r.error() && !at.empty()) {
        e.at = parse_iso(at);
        if (!e.at) r.fail("at", "must be an ISO 8601 UTC time such as 2026-11-23T14:00:00.123Z");
    }
    if (r.error()) return *r.error();

    switch (e.type) {
    case EventType::ringing: {
        e.from = r.text("from", false);
        e.from_name = r.text("from_name", false);
        e.to = r.text("to", false);
        if (auto a = j.find("anonymous"); a != j.end() && !r.error()) {
            if (!a->is_boolean()) r.fail("anonymous", "must be true or false");
            else e.anonymous = a->get<bool>();
        }
        auto it = j.find("extensions");
        if (it == j.end() || !it->is_array() || it->empty()) {
            r.fail("extensions", "must be a non-empty array of extensions");
        } else if (it->size() > limits.max_extensions) {
            r.fail("extensions", "has more than " + std::to_string(limits.max_extensions) + " items");
        } else {
            for (std::size_t i = 0; i < it->size(); ++i) {
                const auto& v = (*it)[i];
                const std::string label = "extensions[" + std::to_string(i) + "]";
                if (!v.is_string() || !token_ok(v.get_ref<const std::string&>(), 32)) {
                    r.fail(label, "must be an extension: 1 to 32 letters, digits or . _ : @ -");
                    break;
                }
                e.extensions.push_back(v.get<std::string>());
            }
        }
        break;
    }
    case EventType::answered:
        e.extension = r.token("extension", true, 32);
        break;
    case EventType::transferred:
        e.extension = r.token("extension", true, 32);
        e.target = r.token("target", true, 32);
        if (!r.error() && e.extension == e.target) r.fail("target", "must differ from 'extension'");
        break;
    case EventType::ended: {
        const auto cause = r.text("cause", false);
        if (r.error() || cause.empty() || cause == "normal") e.cause = EndCause::normal;
        else if (cause == "busy") e.cause = EndCause::busy;
        else if (cause == "no_answer") e.cause = EndCause::no_answer;
        else if (cause == "cancelled") e.cause = EndCause::cancelled;
        else if (cause == "rejected") e.cause = EndCause::rejected;
        else if (cause == "failed") e.cause = EndCause::failed;
        else r.fail("cause", "must be one of normal, busy, no_answer, cancelled, rejected, failed");
        if (const auto by = r.text("hangup_by", false); !r.error() && !by.empty()) {
            e.hangup_by = hangup_by_from_string(by);
            if (!e.hangup_by) r.fail("hangup_by", "must be one of caller, agent, system");
            else if (*e.hangup_by == HangupBy::agent) e.extension = r.token("extension", false, 32);
        }
        break;
    }
    }
    if (r.error()) return *r.error();
    return e;
}

}  // namespace ringside::webhook
