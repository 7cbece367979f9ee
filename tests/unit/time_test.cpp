#include <doctest/doctest.h>

#include "ringside/core/time.hpp"

using namespace ringside;
using namespace std::chrono;

namespace {
Timestamp at(int y, unsigned mo, unsigned d, int h, int mi, int s, int ms) {
    return Timestamp{sys_days{year{y} / mo / d}} + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
}
}  // namespace

TEST_CASE("format_iso writes UTC with milliseconds and a Z") {
    CHECK(format_iso(at(2026, 11, 23, 14, 0, 0, 123)) == "2026-11-23T14:00:00.123Z");
    CHECK(format_iso(Timestamp{}) == "1970-01-01T00:00:00.000Z");
    CHECK(format_iso(at(2024, 2, 29, 23, 59, 59, 999)) == "2024-02-29T23:59:59.999Z");
}

TEST_CASE("parse_iso reads what format_iso writes") {
    for (auto t : {at(2026, 11, 23, 14, 0, 0, 123), Timestamp{}, at(2031, 1, 1, 0, 0, 0, 1)})
        CHECK(parse_iso(format_iso(t)) == t);
}

TEST_CASE("parse_iso accepts offsets, short fractions and plain dates") {
    const auto t = at(2026, 11, 23, 14, 0, 0, 0);
    CHECK(parse_iso("2026-11-23T14:00:00Z") == t);
    CHECK(parse_iso("2026-11-23T17:30:00+03:30") == t);
    CHECK(parse_iso("2026-11-23T17:30:00+0330") == t);
    CHECK(parse_iso("2026-11-23T09:00:00-05:00") == t);
    CHECK(parse_iso("2026-11-23T14:00:00.5Z") == t + 500ms);
    CHECK(parse_iso("2026-11-23T14:00:00.123456Z") == t + 123ms);
    CHECK(parse_iso("2026-11-23") == at(2026, 11, 23, 0, 0, 0, 0));
}

TEST_CASE("parse_iso refuses what it cannot read without guessing") {
    for (const char* s : {"", "2026", "2026-13-01", "2026-02-30", "2026-11-23T14:00:00", "2026-11-23T24:00:00Z",
                          "2026-11-23T14:00Z", "2026-11-23T14:00:00.Z", "2026-11-23T14:00:00Zjunk",
                          "2026-11-23X14:00:00Z", "2026/11/23", "yesterday"}) {
        CAPTURE(s);
        CHECK_FALSE(parse_iso(s));
    }
}

TEST_CASE("parse_epoch_seconds reads Asterisk timestamps to the millisecond") {
    CHECK(parse_epoch_seconds("1598887681.123456") == Timestamp{milliseconds{1598887681123}});
    CHECK(parse_epoch_seconds("1598887681") == Timestamp{milliseconds{1598887681000}});
    CHECK(parse_epoch_seconds("1598887681.5") == Timestamp{milliseconds{1598887681500}});
    for (const char* s : {"", ".5", "abc", "12x", "1598887681.12a", "1598887681 "}) {
        CAPTURE(s);
        CHECK_FALSE(parse_epoch_seconds(s));
    }
}

TEST_CASE("seconds_between counts whole seconds and never goes negative") {
    const auto t = at(2026, 1, 1, 0, 0, 0, 0);
    CHECK(seconds_between(t, t + 61999ms) == 61);
    CHECK(seconds_between(t + 5s, t) == 0);
}
