#pragma once
// Everything a webhook POST goes through before its events reach the engine,
// without I/O: body size, signature (HMAC-SHA256 over "<timestamp>.<body>",
// compared in constant time), timestamp window, event id seen before (a
// retry: accepted again with no effect), then parse and map. The HTTP route
// only copies three headers and the body in and writes the verdict out.
//
// Thread safety: none; the caller serialises receive() (one mutex per PBX).
#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ringside/core/pbx_event.hpp"
#include "ringside/webhook/event.hpp"
#include "ringside/webhook/mapper.hpp"

namespace ringside::webhook {

struct ReceiverConfig {
    PbxId pbx;
    std::string secret;                          // the shared HMAC key (never logged)
    Limits limits;
    std::chrono::seconds window{300};            // a timestamp further from now than this is refused
    std::size_t max_remembered_ids = 100000;     // event ids kept for the window (oldest forgotten first)
};

enum class Verdict {
    accepted,           // 200: mapped and handed on
    duplicate,          // 200: this event id was accepted before; nothing happens again
    too_large,          // 413: body over limits.max_body
    missing_signature,  // 401: no X-Ringside-Signature or X-Ringside-Timestamp
    bad_signature,      // 401: the signature does not match
    stale_timestamp,    // 401: timestamp outside the window (a replay, or a clock far off)
    bad_timestamp,      // 400: the timestamp header is not whole seconds since 1970
    invalid_event,      // 400: the body is not a valid event (field named)
};
/// "accepted", "duplicate", "payload_too_large", "missing_signature", "bad_signature",
/// "stale_timestamp", "bad_timestamp", "invalid_event": the error code on the wire.
const char* to_string(Verdict v) noexcept;
/// 200, 413, 401 or 400.
int http_status(Verdict v) noexcept;

struct Outcome {
    Verdict verdict = Verdict::accepted;
    std::string message;                // plain words for the sender ("field 'type' must be one of ...")
    std::vector<pbx::Event> events;     // set when accepted
};

/// HMAC-SHA256(secret, timestamp + "." + body) as 64 lower-case hex digits.
std::string sign(std::string_view secret, std::string_view timestamp, std::string_view body);

class Receiver {
public:
    explicit Receiver(ReceiverConfig config);

    /// timestamp: X-Ringside-Timestamp (Unix seconds); signature:
    /// X-Ringside-Signature (hex, optionally prefixed "sha256="). now is the
    /// receive time (the window's centre and the default event time).
    Outcome receive(std::string_view timestamp, std::string_view signature, std::string_view body, Timestamp now);

    const ReceiverConfig& config() const noexcept { return config_; }

private:
    void remember(const std::string& id, Timestamp now);
    void forget_old(Timestamp now);

    ReceiverConfig config_;
    Mapper mapper_;
    struct Seen {
        std::string id;
        Timestamp at;
    };
    std::deque<Seen> seen_order_;
    std::unordered_set<std::string> seen_;
};

}  // namespace ringside::webhook
