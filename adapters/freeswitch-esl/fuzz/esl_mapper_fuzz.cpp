// libFuzzer target: any Event Socket bytes through the reader, the event
// mapper and the call tracker, as the link feeds them, with a fresh mapper
// and tracker per input so one input can play a whole call. None may throw
// or crash; a call never ends more often than it started, no phone rings or
// answers for a call that ended, and a resync that lists no channel leaves
// no call open. Seeded with the real captures in tests/fixtures/esl.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "../../common/fuzz/call_flow.hpp"
#include "../../common/fuzz/split_input.hpp"
#include "ringside/esl/mapper.hpp"
#include "ringside/esl/reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = ringside::fuzz::split_input(data, size);
    if (!in) return 0;

    ringside::esl::ReaderLimits limits;
    limits.max_line = 512;
    limits.max_headers = 64;
    limits.max_body = 8192;
    ringside::esl::Reader reader(limits);
    ringside::fuzz::CallFlow flow(ringside::PbxId("fs"));
    ringside::esl::EventMapper mapper(flow.pbx());
    ringside::fuzz::for_each_piece(in->bytes, in->chunk, [&](std::string_view piece) {
        reader.put(piece);
        while (auto item = reader.next()) {
            const auto* m = std::get_if<ringside::esl::Message>(&*item);
            if (!m || !m->event) continue;
            flow.play(mapper.map(*m->event, flow.step()));
        }
    });
    flow.resync_to_nothing();
    return 0;
}
