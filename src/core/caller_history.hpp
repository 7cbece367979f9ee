#pragma once
// Internal to ringside_core: repeat and missed callers for the pops, one of
// CallService's jobs on its own so it can be tested and replaced apart from
// the engine.
//
// Per E.164 number, kept in memory so a pop never waits on a read: seeded
// once per number from the customer's recent interactions (already read for
// the pop), then kept up to date from the calls the engine sees. Bounded:
// forgotten wholesale past max_numbers (a number seen again is seeded again).
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "ringside/core/model.hpp"

namespace ringside::detail {

class CallerHistory {
public:
    static constexpr std::size_t max_numbers = 200'000;

    /// The first ring of an inbound call `call` from `e164` at `at`: counts
    /// it and returns the pop's {"calls_today","missed_waiting"} (the
    /// missed call owed a call-back, {"id","at","status"}, or null). O(1)
    /// amortised; `ctx` (the caller's customer, if any) seeds an unseen number.
    nlohmann::json count_ring(const std::string& e164, const CallId& call, const std::optional<CustomerContext>& ctx,
                              Timestamp at);

    /// The end of `r`, a call from or to `e164`: an answered call closes the
    /// number's missed call; a missed or abandoned inbound call becomes it.
    void settle(const std::string& e164, const CallRecord& r, const std::optional<CustomerContext>& ctx);

private:
    struct Log {
        std::int64_t day = -1;            // UTC day number `today` counts
        int today = 0;                    // inbound calls from the number that day
        nlohmann::json missed = nullptr;  // {"id","at","status"} of a missed call owed a call-back
    };
    Log& log_of(const std::string& e164, const CallId& call, const std::optional<CustomerContext>& ctx, Timestamp at);

    std::unordered_map<std::string, Log> numbers_;
};

}  // namespace ringside::detail
