// SIP parser throughput: the stream captures (tests/fixtures/sip/stream) read
// again and again as one TCP stream in 1,400-byte reads, and every RFC 4475
// message as a datagram. Prints messages/s and MB/s; asserts nothing.
//   sip_bench [seconds per measure, default 2]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ringside/sip/parser.hpp"

namespace {
std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

int main(int argc, char** argv) {
    using clock = std::chrono::steady_clock;
    const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
    const std::filesystem::path dir = std::filesystem::path(RINGSIDE_SOURCE_DIR) / "tests" / "fixtures" / "sip";
    std::string stream;
    for (auto name : {"generic.txt", "lioneagle-sipparser.txt"}) stream += slurp(dir / "stream" / name);
    std::vector<std::string> datagrams;
    for (const auto& e : std::filesystem::directory_iterator(dir / "rfc4475")) datagrams.push_back(slurp(e.path()));

    {
        std::size_t messages = 0, bytes = 0;
        const auto start = clock::now();
        while (clock::now() - start < std::chrono::duration<double>(seconds)) {
            ringside::sip::StreamParser p;
            for (std::size_t i = 0; i < stream.size(); i += 1400) p.put(std::string_view(stream).substr(i, 1400));
            while (p.next()) ++messages;
            bytes += stream.size();
        }
        const double s = std::chrono::duration<double>(clock::now() - start).count();
        std::printf("stream (TCP, 1400-byte reads): %.0f messages/s, %.1f MB/s\n", messages / s, bytes / s / 1e6);
    }
    {
        std::size_t messages = 0, bytes = 0;
        const auto start = clock::now();
        while (clock::now() - start < std::chrono::duration<double>(seconds)) {
            for (const auto& d : datagrams) {
                auto item = ringside::sip::parse_datagram(d);
                (void)item;
                ++messages;
                bytes += d.size();
            }
        }
        const double s = std::chrono::duration<double>(clock::now() - start).count();
        std::printf("datagram (UDP, RFC 4475 set, valid and invalid): %.0f messages/s, %.1f MB/s\n", messages / s,
                    bytes / s / 1e6);
    }
    return 0;
}
