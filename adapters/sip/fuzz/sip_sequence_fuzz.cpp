// libFuzzer target: one input played as a whole SIP conversation through
// both modes, each with fresh state and a fresh call tracker per input: the
// UAS that takes forked INVITEs and the dialog-event watcher. The input's
// messages (a stream, split at the size its first byte picks) go to both;
// between two messages the clocks move on and both modes' timers run, so
// max ring, Timer H, retransmissions and subscription refreshes are played
// too. None may throw or crash; after every message, CallCounts (a call ends
// at most once per start, no phone rings or answers for an ended call);
// the TCP connection closing ends every call of the UAS; a closing resync
// that lists no channel leaves no call open in either tracker.
//
// The first byte: its low 6 bits pick the split (split_input.hpp); bit 6
// set plays UDP (retransmissions, no reliable transport), else TCP; bit 7
// set moves the clock 13 s between messages (max ring is 60 s here), else
// 100 ms.
//
// The watcher's subscriptions have random Call-IDs and tags, which an input
// cannot know. A message whose Call-ID is "watch-<ext>" (ext 1001 or 1002,
// the watched phones) is taken to be about that extension's current
// subscription: its Call-ID becomes the subscription's, "tag=watch" in any
// header its From tag, and a response's CSeq number 0 the subscription's
// current number. The seeds in tests/fixtures/sip/sequence use this.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>

#include "../../common/fuzz/call_flow.hpp"
#include "../../common/fuzz/split_input.hpp"
#include "ringside/sip/grammar.hpp"
#include "ringside/sip/parser.hpp"
#include "ringside/sip/uas.hpp"
#include "ringside/sip/watcher.hpp"

namespace {

using namespace ringside;
using namespace ringside::sip;
using namespace std::chrono_literals;

/// What the watcher last asked of the server, per extension.
struct Subscription {
    std::string call_id, from_tag;
    std::uint32_t cseq = 0;
};

class Subscriptions {
public:
    void note(const std::vector<std::string>& requests) {
        for (const auto& r : requests) {
            auto item = parse_datagram(r);
            const auto* m = std::get_if<Message>(&item);
            if (!m) __builtin_trap();  // the watcher sent what its own parser refuses
            auto& s = by_ext_[uri_user(m->uri)];
            s.call_id = m->get("call-id");
            auto from = parse_name_addr(m->get("from"));
            s.from_tag = from ? from->param("tag").value_or("") : "";
            auto cseq = parse_cseq(m->get("cseq"));
            s.cseq = cseq ? cseq->number : 0;
        }
    }

    /// The item with the placeholders of a watched extension filled in.
    Item fill(const Item& item) const {
        const auto* m = std::get_if<Message>(&item);
        if (!m) return item;
        const auto call_id = m->get("call-id");
        if (call_id.substr(0, 6) != "watch-") return item;
        auto it = by_ext_.find(std::string(call_id.substr(6)));
        if (it == by_ext_.end()) return item;
        const auto& s = it->second;
        Message f = *m;
        for (auto& h : f.headers) {
            if (h.key == "call-id") h.value = s.call_id;
            for (auto at = h.value.find("tag=watch"); at != std::string::npos; at = h.value.find("tag=watch", at))
                h.value.replace(at + 4, 5, s.from_tag);
            if (h.key == "cseq" && !f.is_request && h.value.substr(0, 2) == "0 ")
                h.value = std::to_string(s.cseq) + h.value.substr(1);
        }
        return f;
    }

private:
    std::map<std::string, Subscription> by_ext_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = fuzz::split_input(data, size);
    if (!in) return 0;
    const bool udp = (data[0] & 0x40) != 0;
    const std::chrono::milliseconds step = (data[0] & 0x80) ? 13'000ms : 100ms;
    const std::string_view transport = udp ? "UDP" : "TCP";
    constexpr Origin origin = 1;

    fuzz::CallFlow uas_flow(PbxId("uas")), watch_flow(PbxId("watch"));
    Uas uas(uas_flow.pbx(), UasConfig{.max_ring = 60s, .linger = 32s, .seed = 1, .user_agent = "Ringside"});
    Watcher watcher(watch_flow.pbx(),
                    WatcherConfig{.extensions = {"1001", "1002"}, .server = "127.0.0.1:5070", .domain = "",
                                  .local = "127.0.0.1:5080", .transport = std::string(transport), .expires = 120s,
                                  .retry_after = 30s, .seed = 2, .user_agent = "Ringside"});
    Subscriptions subs;
    std::chrono::steady_clock::time_point now{};
    subs.note(watcher.start(now).requests);

    ParserLimits limits;
    limits.max_message = 16 * 1024;
    StreamParser parser(limits);
    fuzz::for_each_piece(in->bytes, in->chunk, [&](std::string_view piece) {
        parser.put(piece);
        while (auto item = parser.next()) {
            now += step;
            const auto uas_wall = uas_flow.step(step);
            const auto watch_wall = watch_flow.step(step);
            uas_flow.play(uas.on_item(*item, origin, "127.0.0.1:5080", transport, now, uas_wall).events);
            uas_flow.play(uas.tick(now, uas_wall).events);

            auto w = watcher.on_item(subs.fill(*item), origin, now, watch_wall);
            subs.note(w.requests);
            watch_flow.play(w.events);
            auto t = watcher.tick(now, watch_wall);
            subs.note(t.requests);
            watch_flow.play(t.events);
        }
    });

    // The connection goes away: nothing of the UAS may ring on.
    uas_flow.play(uas.origin_closed(origin, uas_flow.now()).events);
    if (uas.transactions() != 0 || uas.calls().active_calls() != 0) __builtin_trap();
    uas_flow.resync_to_nothing();
    watch_flow.resync_to_nothing();
    return 0;
}
