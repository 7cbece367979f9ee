// libFuzzer target: the SIP parser must never throw, crash or grow without
// bound, for any bytes in any split. As a datagram, the input gives one item;
// as a stream, every split gives the same messages and rejections as one
// put(), until a framing error (whose kind may depend on how much was seen:
// a limit can be crossed before a later, different fault is reached). Every
// accepted message also goes through the identity readers, and its body
// (and the raw input) through the dialog-info reader, which must never
// return more dialogs than its limit. The first input
// byte picks the split size; small limits reach the limit paths quickly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "../../common/fuzz/split_input.hpp"
#include "ringside/sip/dialog_info.hpp"
#include "ringside/sip/grammar.hpp"
#include "ringside/sip/identity.hpp"
#include "ringside/sip/parser.hpp"

namespace {

using namespace ringside::sip;

ParserLimits small_limits() {
    ParserLimits l;
    l.max_line = 256;
    l.max_headers = 16;
    l.max_message = 4096;
    return l;
}

void dialog_info(std::string_view body) {
    DialogInfoLimits limits;
    limits.max_dialogs = 8;
    limits.max_bytes = 16 * 1024;
    std::string error;
    auto info = parse_dialog_info(body, &error, limits);
    if (info && info->dialogs.size() > limits.max_dialogs) __builtin_trap();
    if (!info && error.empty()) __builtin_trap();
}

void exercise(const Message& m) {
    if (m.headers.size() > small_limits().max_headers) __builtin_trap();
    if (m.body.size() > small_limits().max_message) __builtin_trap();
    (void)caller_identity(m);
    (void)diversion(m);
    (void)called_user(m);
    if (auto r = replaces(m); r && (r->call_id.empty() || r->to_tag.empty() || r->from_tag.empty())) __builtin_trap();
    if (referred_by(m).size() > 64) __builtin_trap();
    (void)parse_via(m.get("via"));
    (void)parse_name_addr_list(m.get("contact"));
    if (!m.body.empty()) dialog_info(m.body);
}

std::string drain(StreamParser& p) {
    std::string s;
    while (auto item = p.next()) {
        if (auto* m = std::get_if<Message>(&*item)) {
            exercise(*m);
            s += "M" + m->start_line + '\x01';
            for (const auto& h : m->headers) s += h.key + '\x02' + h.value + '\x03';
            s += m->body;
        } else {
            const auto& r = std::get<Rejected>(*item);
            (void)r.describe();
            // A framing error ends the stream; only the fact is compared.
            s += p.failed() && r.error != ParseError::invalid_header ? std::string("F") : "R" + r.detail;
        }
    }
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto in = ringside::fuzz::split_input(data, size);
    if (!in) return 0;
    const std::string_view bytes = in->bytes;

    if (data[0] >= 0xf0) dialog_info(bytes);
    auto one = parse_datagram(bytes, small_limits());
    if (auto* m = std::get_if<Message>(&one)) exercise(*m);

    StreamParser whole(small_limits());
    if (whole.put(bytes) != bytes.size()) __builtin_trap();
    const std::string expected = drain(whole);

    StreamParser split(small_limits());
    std::string got;
    ringside::fuzz::for_each_piece(bytes, in->chunk, [&](std::string_view piece) {
        const auto n = split.put(piece);
        if (n != piece.size() && !(n == 0 && split.failed())) __builtin_trap();
        got += drain(split);
    });
    if (got != expected) {
        // Splits may only differ in which framing error ended the stream.
        const bool both_failed = whole.failed() && split.failed();
        if (!both_failed) __builtin_trap();
        const auto cut = std::min(got.rfind('F'), expected.rfind('F'));
        if (got.substr(0, cut) != expected.substr(0, cut)) __builtin_trap();
    }
    return 0;
}
