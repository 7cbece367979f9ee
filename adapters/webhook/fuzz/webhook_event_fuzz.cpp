// libFuzzer target: the webhook event parser and mapper must never throw or
// crash, for any body; a parsed event's fields stay within the limits; the
// mapper holds no more calls than it is allowed.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "ringside/webhook/event.hpp"
#include "ringside/webhook/mapper.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static ringside::webhook::Mapper mapper(ringside::PbxId("fuzz"), 64);
    ringside::webhook::Limits limits;
    limits.max_body = 16 * 1024;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto r = ringside::webhook::parse_event(body, limits);
    if (auto* e = std::get_if<ringside::webhook::Event>(&r)) {
        if (e->id.empty() || e->call_id.empty() || e->call_id.size() > 64) __builtin_trap();
        if (e->extensions.size() > limits.max_extensions || e->from.size() > limits.max_text) __builtin_trap();
        (void)mapper.map(*e, ringside::Timestamp{});
        if (mapper.tracked_calls() > 64) __builtin_trap();
    }
    return 0;
}
