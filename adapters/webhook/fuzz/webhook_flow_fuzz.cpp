// libFuzzer target: a sequence of webhook events (the input's lines, each
// one request body) through the parser, a fresh mapper and the call
// tracker, so one input can play a whole call: 64 phones ringing and a 65th
// answering, a call answered twice, ended and answered again. None may throw
// or crash; the mapper holds no more calls than its cap; a call never ends
// more often than it started and no phone rings or answers for a call that
// ended. Seeded with the example events in tests/fixtures/webhook.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "../../common/fuzz/call_flow.hpp"
#include "ringside/webhook/event.hpp"
#include "ringside/webhook/mapper.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    constexpr std::size_t max_calls = 8;
    ringside::fuzz::CallFlow flow(ringside::PbxId("cloud"));
    ringside::webhook::Mapper mapper(flow.pbx(), max_calls);
    ringside::webhook::Limits limits;
    limits.max_body = 16 * 1024;
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        const auto body = rest.substr(0, nl);
        rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        auto r = ringside::webhook::parse_event(body, limits);
        const auto* e = std::get_if<ringside::webhook::Event>(&r);
        if (!e) continue;
        flow.play(mapper.map(*e, flow.step()));
        if (mapper.tracked_calls() > max_calls) __builtin_trap();
    }
    return 0;
}
