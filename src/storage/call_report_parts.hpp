#pragma once
// What both stores' call logs and reports share beside their SQL: the
// column and value each sort keys on, and how a report's rows are added up
// from what the rollups and the raw calls answer. Internal to src/storage.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ringside/core/ports/call_reports.hpp"

namespace ringside::call_report_parts {

/// The column a call-log sort orders by.
inline const char* sort_column(CallFilter::Sort s) {
    switch (s) {
    case CallFilter::Sort::wait_seconds: return "wait_seconds";
    case CallFilter::Sort::talk_seconds: return "talk_seconds";
    case CallFilter::Sort::started_at: break;
    }
    return "started_at";
}

/// That column's value for a call: a page's cursor.
inline std::int64_t sort_value(const CallRecord& c, CallFilter::Sort s) {
    switch (s) {
    case CallFilter::Sort::wait_seconds: return c.wait_seconds;
    case CallFilter::Sort::talk_seconds: return c.talk_seconds;
    case CallFilter::Sort::started_at: break;
    }
    return c.started_at.time_since_epoch().count();
}

/// Time buckets by start, from (bucket, status, calls) rows of either source.
class Buckets {
public:
    void add(std::int64_t start_ms, const std::string& status, std::int64_t n) {
        if (n <= 0) return;
        auto& bk = by_start_.try_emplace(start_ms, CallReport::Bucket{start_ms, 0, 0, 0, 0}).first->second;
        if (status == "answered") bk.answered += n;
        else if (status == "missed") bk.missed += n;
        else if (status == "abandoned") bk.abandoned += n;
        else bk.other += n;
    }
    /// Oldest first, only buckets with calls.
    std::vector<CallReport::Bucket> list() const {
        std::vector<CallReport::Bucket> out;
        for (const auto& [b, bk] : by_start_) out.push_back(bk);
        return out;
    }

private:
    std::map<std::int64_t, CallReport::Bucket> by_start_;
};

/// Agents' answered calls and talk time, from (agent, answered, talk) rows.
class AgentTotals {
public:
    void add(const std::string& agent, std::int64_t answered, std::int64_t talk_seconds) {
        auto& a = by_agent_[agent];
        a.first += answered;
        a.second += talk_seconds;
    }
    /// Most answered first, then by name (bytes), at most `rows`.
    std::vector<CallReport::AgentRow> rows(std::size_t rows) const {
        std::vector<CallReport::AgentRow> out;
        for (const auto& [agent, v] : by_agent_) {
            if (v.first <= 0) continue;
            CallReport::AgentRow a;
            a.agent = agent;
            a.answered = v.first;
            a.talk_seconds = v.second;
            a.average_handle_seconds = static_cast<double>(a.talk_seconds) / static_cast<double>(a.answered);
            out.push_back(std::move(a));
        }
        std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
            return x.answered != y.answered ? x.answered > y.answered : x.agent < y.agent;
        });
        if (out.size() > rows) out.resize(rows);
        return out;
    }

private:
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_agent_;
};

/// The whole rollup slots and days inside [since, until): the stores read
/// the rollups for these and the raw calls for the ragged ends. Empty
/// (from == to == until) when none fits, e.g. an offset that is no
/// multiple of 15 minutes.
struct RollupSpan {
    std::int64_t from = 0, to = 0;
};
inline RollupSpan whole_units(std::int64_t since_ms, std::int64_t until_ms, std::int64_t unit_ms, bool fits) {
    const std::int64_t from = (since_ms + unit_ms - 1) / unit_ms * unit_ms, to = until_ms / unit_ms * unit_ms;
    if (!fits || since_ms < 0 || from >= to) return {until_ms, until_ms};
    return {from, to};
}

}  // namespace ringside::call_report_parts
