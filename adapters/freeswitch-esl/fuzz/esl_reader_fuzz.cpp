// libFuzzer target: the ESL reader must never throw, crash or grow without
// bound, for any bytes in any split, and every split must give the same
// items as one put(). The first input byte picks the split size; small
// limits reach the limit paths quickly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "../../common/fuzz/split_input.hpp"
#include "ringside/esl/reader.hpp"

namespace {

using namespace ringside::esl;

ReaderLimits small_limits() {
    ReaderLimits l;
    l.max_line = 256;
    l.max_headers = 16;
    l.max_body = 2048;
    return l;
}

/// A comparable fingerprint of what the reader produced.
std::string drain(Reader& r) {
    std::string s;
    while (auto item = r.next()) {
        if (auto* m = std::get_if<Message>(&*item)) {
            if (m->headers.items.empty() || m->headers.items.size() > r.limits().max_headers) __builtin_trap();
            if (m->body.size() > r.limits().max_body) __builtin_trap();
            s += "M";
            for (const auto& h : m->headers.items) s += h.name + '\x01' + h.value + '\x02';
            s += m->body;
            if (m->event) {
                if (m->event->body.size() > m->body.size()) __builtin_trap();
                for (const auto& h : m->event->headers.items) s += h.name + '\x03' + h.value + '\x04';
            }
        } else {
            // `size` says how much was seen when the reader gave up, which
            // depends on the split; the kind of error must not.
            const auto& e = std::get<ReadError>(*item);
            (void)e.describe();
            s += "E" + std::to_string(static_cast<int>(e.which));
        }
    }
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = ringside::fuzz::split_input(data, size);
    if (!in) return 0;
    const std::string_view bytes = in->bytes;

    Reader whole(small_limits());
    if (whole.put(bytes) != bytes.size()) __builtin_trap();
    const std::string expected = drain(whole);

    Reader split(small_limits());
    std::string got;
    ringside::fuzz::for_each_piece(bytes, in->chunk, [&](std::string_view piece) {
        if (split.put(piece) != piece.size()) __builtin_trap();
        got += drain(split);
    });
    if (got != expected) __builtin_trap();
    (void)percent_decode(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
