// libFuzzer target: any AMI bytes through the reader, the event mapper and
// the call tracker, as the link feeds them. Neither may throw or crash, a
// call never ends more often than it started, no phone rings or answers for
// a call that ended, and a resync that lists no
// channel leaves no call open (every channel the PBX no longer has is gone).
// The mapper's guesses (transferee and target from bridges, a blonde
// transfer's consultation channel) are where odd input lands.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "../../common/fuzz/call_counts.hpp"
#include "../../common/fuzz/split_input.hpp"
#include "ringside/ami/mapper.hpp"
#include "ringside/ami/reader.hpp"
#include "ringside/core/call_tracker.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = ringside::fuzz::split_input(data, size);
    if (!in) return 0;

    ringside::ami::ReaderLimits limits;
    limits.max_line = 512;
    limits.max_fields = 64;
    limits.max_message = 8192;
    ringside::ami::Reader reader(limits);
    const ringside::PbxId pbx("main");
    ringside::ami::EventMapper mapper(pbx);
    ringside::CallTracker tracker;
    ringside::fuzz::CallCounts counts;
    ringside::Timestamp now(std::chrono::seconds(1'700'000'000));
    ringside::fuzz::for_each_piece(in->bytes, in->chunk, [&](std::string_view piece) {
        reader.put(piece);
        while (auto item = reader.next()) {
            const auto* m = std::get_if<ringside::ami::Message>(&*item);
            if (!m) continue;
            now += std::chrono::milliseconds(100);
            for (const auto& ev : mapper.map(*m, now)) counts.add(tracker.on_event(ev));
        }
    });
    counts.add(tracker.on_event(ringside::pbx::Event{pbx, now, ringside::pbx::ResyncBegin{}}));
    counts.add(tracker.on_event(ringside::pbx::Event{pbx, now, ringside::pbx::ResyncEnd{}}));
    if (tracker.active_calls() != 0) __builtin_trap();
    return 0;
}
