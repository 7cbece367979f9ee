// libFuzzer target: any AMI bytes through the reader, the event mapper and
// the call tracker, as the link feeds them. Neither may throw or crash, a
// call never ends more often than it started, no phone rings or answers for
// a call that ended, and a resync that lists no
// channel leaves no call open (every channel the PBX no longer has is gone).
// The mapper's guesses (transferee and target from bridges, a blonde
// transfer's consultation channel) are where odd input lands.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "../../common/fuzz/call_flow.hpp"
#include "../../common/fuzz/split_input.hpp"
#include "ringside/ami/mapper.hpp"
#include "ringside/ami/reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = ringside::fuzz::split_input(data, size);
    if (!in) return 0;

    ringside::ami::ReaderLimits limits;
    limits.max_line = 512;
    limits.max_fields = 64;
    limits.max_message = 8192;
    ringside::ami::Reader reader(limits);
    ringside::fuzz::CallFlow flow(ringside::PbxId("main"));
    ringside::ami::EventMapper mapper(flow.pbx());
    ringside::fuzz::for_each_piece(in->bytes, in->chunk, [&](std::string_view piece) {
        reader.put(piece);
        while (auto item = reader.next()) {
            const auto* m = std::get_if<ringside::ami::Message>(&*item);
            if (!m) continue;
            flow.play(mapper.map(*m, flow.step()));
        }
    });
    flow.resync_to_nothing();
    return 0;
}
