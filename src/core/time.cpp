#include "ringside/core/time.hpp"

#include <charconv>
#include <cstdio>

namespace ringside {
namespace {

bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
    if (pos + len > s.size()) return false;
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
}

}  // namespace

std::string format_iso(Timestamp t) {
    using namespace std::chrono;
    auto day = floor<days>(t);
    year_month_day ymd{day};
    hh_mm_ss<milliseconds> hms{t - day};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
    return buf;
}

std::optional<Timestamp> parse_iso(std::string_view s) {
    using namespace std::chrono;
    int y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
    if (!read_int(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !read_int(s, 5, 2, mo) || s[7] != '-' ||
        !read_int(s, 8, 2, d))
        return std::nullopt;
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    std::size_t pos = 10;
    minutes offset{0};
    if (pos < s.size()) {
        if (s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
        if (!read_int(s, pos + 1, 2, h) || s.size() < pos + 9 || s[pos + 3] != ':' || !read_int(s, pos + 4, 2, mi) ||
            s[pos + 6] != ':' || !read_int(s, pos + 7, 2, se))
            return std::nullopt;
        if (h > 23 || mi > 59 || se > 60) return std::nullopt;
        pos += 9;
        if (pos < s.size() && s[pos] == '.') {
            ++pos;
            int digits = 0;
            int frac = 0;
            while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
                if (digits < 3) frac = frac * 10 + (s[pos] - '0');
                ++digits;
                ++pos;
            }
            if (digits == 0) return std::nullopt;
            for (int i = digits; i < 3; ++i) frac *= 10;
            ms = frac;
        }
        if (pos == s.size()) return std::nullopt;  // a time needs a zone: we never guess local time
        if (s[pos] == 'Z') {
            ++pos;
        } else if (s[pos] == '+' || s[pos] == '-') {
            int sign = s[pos] == '-' ? -1 : 1;
            int oh, om;
            if (!read_int(s, pos + 1, 2, oh)) return std::nullopt;
            std::size_t mpos = pos + 3;
            if (mpos < s.size() && s[mpos] == ':') ++mpos;
            if (!read_int(s, mpos, 2, om)) return std::nullopt;
            offset = minutes{sign * (oh * 60 + om)};
            pos = mpos + 2;
        } else {
            return std::nullopt;
        }
        if (pos != s.size()) return std::nullopt;
    }
    return Timestamp{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{se} + milliseconds{ms} - offset;
}

std::optional<Timestamp> parse_epoch_seconds(std::string_view s) {
    auto dot = s.find('.');
    std::string_view whole = s.substr(0, dot);
    long long secs = 0;
    auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
    if (ec != std::errc{} || p != whole.data() + whole.size() || whole.empty()) return std::nullopt;
    int ms = 0;
    if (dot != std::string_view::npos) {
        std::string_view frac = s.substr(dot + 1);
        int digits = 0;
        for (char c : frac) {
            if (c < '0' || c > '9') return std::nullopt;
            if (digits < 3) ms = ms * 10 + (c - '0');
            ++digits;
        }
        for (int i = digits; i < 3; ++i) ms *= 10;
    }
    return Timestamp{std::chrono::milliseconds{secs * 1000 + ms}};
}

Timestamp now_ms() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

long long seconds_between(Timestamp a, Timestamp b) {
    auto d = std::chrono::duration_cast<std::chrono::seconds>(b - a).count();
    return d < 0 ? 0 : d;
}

}  // namespace ringside
