#pragma once
// What the byte-stream fuzz targets (AMI, ESL, SIP) share: the first input
// byte picks a split size so that chunk boundaries are fuzzed too, the rest
// is the bytes; the bytes are then fed in pieces of that size.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace ringside::fuzz {

struct SplitInput {
    std::size_t chunk;       // 1 to 64
    std::string_view bytes;  // the input after its first byte
};

/// The input read as a split size and bytes; nullopt for an empty input.
inline std::optional<SplitInput> split_input(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return std::nullopt;
    const std::size_t chunk = 1 + data[0] % 64;
    return SplitInput{chunk, std::string_view(reinterpret_cast<const char*>(data + 1), size - 1)};
}

/// Calls feed(piece) for each chunk-sized piece of bytes, in order.
template <class Feed>
void for_each_piece(std::string_view bytes, std::size_t chunk, Feed&& feed) {
    while (!bytes.empty()) {
        const auto piece = bytes.substr(0, chunk);
        bytes.remove_prefix(piece.size());
        feed(piece);
    }
}

}  // namespace ringside::fuzz
