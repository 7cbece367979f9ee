#include "ringside/webhook/receiver.hpp"

#include <sodium.h>

#include <charconv>
#include <stdexcept>

namespace ringside::webhook {

const char* to_string(Verdict v) noexcept {
    switch (v) {
    case Verdict::accepted: return "accepted";
    case Verdict::duplicate: return "duplicate";
    case Verdict::too_large: return "payload_too_large";
    case Verdict::missing_signature: return "missing_signature";
    case Verdict::bad_signature: return "bad_signature";
    case Verdict::stale_timestamp: return "stale_timestamp";
    case Verdict::bad_timestamp: return "bad_timestamp";
    case Verdict::invalid_event: return "invalid_event";
    }
    return "unknown";
}

int http_status(Verdict v) noexcept {
    switch (v) {
    case Verdict::accepted:
    case Verdict::duplicate: return 200;
    case Verdict::too_large: return 413;
    case Verdict::missing_signature:
    case Verdict::bad_signature:
    case Verdict::stale_timestamp: return 401;
    case Verdict::bad_timestamp:
    case Verdict::invalid_event: return 400;
    }
    return 400;
}

namespace {

void mac(std::string_view secret, std::string_view timestamp, std::string_view body,
         unsigned char out[crypto_auth_hmacsha256_BYTES]) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(timestamp.data()), timestamp.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>("."), 1);
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()), body.size());
    crypto_auth_hmacsha256_final(&st, out);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string sign(std::string_view secret, std::string_view timestamp, std::string_view body) {
    unsigned char m[crypto_auth_hmacsha256_BYTES];
    mac(secret, timestamp, body, m);
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char b : m) {
        hex += digits[b >> 4];
        hex += digits[b & 15];
    }
    return hex;
}

Receiver::Receiver(ReceiverConfig config) : config_(std::move(config)), mapper_(config_.pbx) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

Outcome Receiver::receive(std::string_view timestamp, std::string_view signature, std::string_view body, Timestamp now) {
    if (body.size() > config_.limits.max_body)
        return {Verdict::too_large, "the body is larger than " + std::to_string(config_.limits.max_body) + " bytes", {}};
    if (timestamp.empty() || signature.empty())
        return {Verdict::missing_signature,
                std::string("header ") + (timestamp.empty() ? "X-Ringside-Timestamp" : "X-Ringside-Signature") +
                    " is missing",
                {}};
    long long ts = 0;
    auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
    if (ec != std::errc{} || end != timestamp.data() + timestamp.size() || timestamp.size() > 12 || ts < 0)
        return {Verdict::bad_timestamp, "header X-Ringside-Timestamp must be whole seconds since 1970 (UTC)", {}};

    // Signature first, so nothing about the body or the window is revealed to
    // someone without the secret.
    if (signature.starts_with("sha256=")) signature.remove_prefix(7);
    unsigned char given[crypto_auth_hmacsha256_BYTES] = {};
    bool shape_ok = signature.size() == 2 * crypto_auth_hmacsha256_BYTES;
    for (std::size_t i = 0; shape_ok && i < crypto_auth_hmacsha256_BYTES; ++i) {
        const int hi = hex_value(signature[2 * i]), lo = hex_value(signature[2 * i + 1]);
        if (hi < 0 || lo < 0) shape_ok = false;
        else given[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    unsigned char expected[crypto_auth_hmacsha256_BYTES];
    mac(config_.secret, timestamp, body, expected);
    if (!shape_ok || sodium_memcmp(given, expected, sizeof expected) != 0)
        return {Verdict::bad_signature,
                "header X-Ringside-Signature is not the HMAC-SHA256 of \"<timestamp>.<body>\" with this PBX's secret",
                {}};

    const auto sent = Timestamp(std::chrono::seconds(ts));
    const auto skew = sent > now ? sent - now : now - sent;
    if (skew > config_.window)
        return {Verdict::stale_timestamp,
                "header X-Ringside-Timestamp is more than " + std::to_string(config_.window.count()) +
                    " seconds from the server's clock (a replay, or a clock that is off)",
                {}};

    auto parsed = parse_event(body, config_.limits);
    if (auto* err = std::get_if<ParseError>(&parsed)) return {Verdict::invalid_event, err->message, {}};
    auto& event = std::get<Event>(parsed);

    forget_old(now);
    if (seen_.count(event.id)) return {Verdict::duplicate, "event " + event.id + " was received before", {}};
    // Mapped before the id is marked seen: were mapping ever to fail, the
    // sender's retry would still be taken, not answered "duplicate".
    auto events = mapper_.map(event, now);
    remember(event.id, now);
    return {Verdict::accepted, "", std::move(events)};
}

void Receiver::remember(const std::string& id, Timestamp now) {
    if (seen_order_.size() >= config_.max_remembered_ids) {
        seen_.erase(seen_order_.front().id);
        seen_order_.pop_front();
    }
    seen_.insert(id);
    seen_order_.push_back({id, now});
}

void Receiver::forget_old(Timestamp now) {
    // An id needs remembering only while its timestamp can still pass the
    // window: twice the window covers a sender clock ahead by the window.
    while (!seen_order_.empty() && now - seen_order_.front().at > 2 * config_.window) {
        seen_.erase(seen_order_.front().id);
        seen_order_.pop_front();
    }
}

}  // namespace ringside::webhook
