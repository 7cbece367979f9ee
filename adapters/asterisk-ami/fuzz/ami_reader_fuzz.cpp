// libFuzzer target: the AMI reader must never throw, crash or grow without
// bound, for any bytes in any split. The first input byte picks the split
// size so that chunk boundaries are fuzzed too; small limits reach the
// limit paths quickly.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "../../common/fuzz/split_input.hpp"
#include "ringside/ami/reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = ringside::fuzz::split_input(data, size);
    if (!in) return 0;

    ringside::ami::ReaderLimits limits;
    limits.max_line = 256;
    limits.max_fields = 16;
    limits.max_message = 1024;
    ringside::ami::Reader reader(limits);
    ringside::fuzz::for_each_piece(in->bytes, in->chunk, [&](std::string_view piece) {
        if (reader.put(piece) != piece.size()) __builtin_trap();
        while (auto item = reader.next()) {
            if (auto* m = std::get_if<ringside::ami::Message>(&*item)) {
                if (m->fields.empty() || m->fields.size() > limits.max_fields) __builtin_trap();
                (void)m->serialize();
            }
        }
    });
    return 0;
}
