// libFuzzer target: the AMI reader must never throw, crash or grow without
// bound, for any bytes in any split, and must read the same items whatever
// the split (a line whole in one read takes a path of its own). The first
// input byte picks the split size so that chunk boundaries are fuzzed too;
// small limits reach the limit paths quickly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "../../common/fuzz/split_input.hpp"
#include "ringside/ami/reader.hpp"

namespace {

/// The items read so far, as text. An error's size is left out: where a
/// line crosses the limit depends on where the reads split it.
void drain(ringside::ami::Reader& reader, std::size_t max_fields, std::string& out) {
    while (auto item = reader.next()) {
        if (auto* m = std::get_if<ringside::ami::Message>(&*item)) {
            if (m->fields.empty() || m->fields.size() > max_fields) __builtin_trap();
            out += "M" + m->serialize();
        } else if (auto* e = std::get_if<ringside::ami::ReadError>(&*item)) {
            out += "E" + std::to_string(static_cast<int>(e->which)) + "/" + std::to_string(e->limit) + "\n";
        } else if (auto* g = std::get_if<ringside::ami::Greeting>(&*item)) {
            out += "G" + g->line + "|" + g->version + "\n";
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = ringside::fuzz::split_input(data, size);
    if (!in) return 0;

    ringside::ami::ReaderLimits limits;
    limits.max_line = 256;
    limits.max_fields = 16;
    limits.max_message = 1024;
    ringside::ami::Reader reader(limits);
    std::string split_items;
    ringside::fuzz::for_each_piece(in->bytes, in->chunk, [&](std::string_view piece) {
        if (reader.put(piece) != piece.size()) __builtin_trap();
        drain(reader, limits.max_fields, split_items);
    });
    ringside::ami::Reader whole(limits);
    std::string whole_items;
    if (whole.put(in->bytes) != in->bytes.size()) __builtin_trap();
    drain(whole, limits.max_fields, whole_items);
    if (split_items != whole_items) __builtin_trap();
    return 0;
}
