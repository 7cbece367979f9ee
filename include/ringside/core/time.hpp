#pragma once
// Wall-clock instants with millisecond precision and their ISO 8601 UTC form
// ("2026-11-23T14:00:00.123Z"), the only time format on the wire.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ringside {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

/// "2026-11-23T14:00:00.123Z"
std::string format_iso(Timestamp t);
/// Accepts "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM)" and "YYYY-MM-DD" (midnight UTC).
std::optional<Timestamp> parse_iso(std::string_view s);
/// Asterisk `Timestamp:` header ("1598887681.123456", seconds since the epoch).
std::optional<Timestamp> parse_epoch_seconds(std::string_view s);
Timestamp now_ms();
/// Whole seconds from a to b, never negative.
long long seconds_between(Timestamp a, Timestamp b);

}  // namespace ringside
