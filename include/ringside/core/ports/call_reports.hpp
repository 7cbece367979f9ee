#pragma once
// The call log and reports over stored calls, for supervisors and exports.
// Owned by the core; storage implements it. The call engine never reads
// through it: its own writes and reads of call records are CallLog's.
//
// Blocking: every call reads the store on the caller's thread; none is for
// the engine's strand. A page (list_call_page, list_calls) is one seek on an
// index, milliseconds on SQLite however deep the page. call_figures is one
// range scan of a covering index (a day's calls: milliseconds). call_report
// reads the rollups for whole slots and days and the calls at the ragged
// ends: tens of milliseconds to seconds over long ranges of a large file.
// for_each_call holds a read snapshot for as long as its callback streams.
// A store that gathers writes (write-behind) first waits for the writes
// queued before a read of calls (at most its gathering time, ~25 ms).
// Infrastructure failures throw.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ringside/core/model.hpp"

namespace ringside {

struct CallFilter {
    std::optional<Timestamp> since;        // started_at >= since
    std::optional<Timestamp> until;        // started_at < until
    std::optional<AgentId> agent;          // answered by this agent
    std::optional<CallStatus> status;
    std::optional<std::int64_t> customer_id;
    std::optional<PbxId> pbx;
    std::optional<std::string> phone;      // from or to is this number (E.164 as stored)
    std::size_t limit = 100;               // 1..1000 for lists; ignored by for_each_call

    // ---- supervisor call log
    std::optional<Direction> direction;
    std::optional<std::string> queue;      // exact queue name
    std::optional<std::string> text;       // substring of notes or disposition, case-insensitive for ASCII
    /// Sort key, newest/largest first unless ascending. Every order ends
    /// with id so that a page boundary is exact.
    enum class Sort { started_at, wait_seconds, talk_seconds };
    Sort sort = Sort::started_at;
    bool ascending = false;
    /// Keyset paging: only calls strictly after this (sort value, id) in the
    /// chosen order. Taken from CallPage::next; never an OFFSET.
    struct Cursor {
        std::int64_t value = 0;            // the sort column (started_at in ms, or seconds)
        std::string id;
    };
    std::optional<Cursor> after;
};

/// One page of list_call_page: the calls and where the next page starts.
struct CallPage {
    std::vector<CallRecord> calls;
    std::optional<CallFilter::Cursor> next;  // unset on the last page
};

/// A day's (or any range's) figures of inbound calls, for the wallboard.
struct CallFigures {
    std::int64_t offered = 0;              // inbound calls started in the range
    std::int64_t answered = 0;
    std::int64_t missed = 0;               // missed, busy and failed
    std::int64_t abandoned = 0;            // the caller hung up in a queue
    std::int64_t ringing = 0;              // not final yet
    double average_wait_seconds = 0;       // over answered calls (start to answer)
    double average_talk_seconds = 0;       // over answered calls
    std::int64_t answered_within = 0;      // answered with wait <= service_level_seconds
    /// answered_within / (offered - ringing), 0..1; 1 when nothing finished yet.
    double service_level = 1;
};

/// Reports over a range of call start times. Buckets are in the
/// caller's time zone: utc_offset_minutes east of UTC.
struct ReportQuery {
    Timestamp since{};
    Timestamp until{};
    int utc_offset_minutes = 0;
    std::size_t max_rows = 50;             // per list (agents, repeat callers, missed)
};

struct CallReport {
    struct Bucket {
        std::int64_t start_ms = 0;         // bucket start, UTC ms (local hour/day boundary)
        std::int64_t answered = 0, missed = 0, abandoned = 0, other = 0;
    };
    struct AgentRow {
        std::string agent;
        std::int64_t answered = 0;
        std::int64_t talk_seconds = 0;     // total
        double average_handle_seconds = 0;
    };
    struct RepeatCaller {
        std::string number;
        std::optional<std::int64_t> customer_id;
        std::int64_t calls = 0;
        Timestamp last_at{};
    };
    std::vector<Bucket> hourly;            // only hours with calls
    std::vector<Bucket> daily;
    std::vector<AgentRow> agents;          // by answered desc
    std::vector<RepeatCaller> repeat_callers;  // 2+ inbound calls, most first
    /// Inbound missed/abandoned calls with no later answered call from that
    /// number nor an outbound call to it (anytime after), newest first.
    std::vector<CallRecord> missed_not_called_back;
};

class CallReports {
public:
    virtual ~CallReports() = default;
    /// Newest first (started_at desc), at most filter.limit.
    virtual std::vector<CallRecord> list_calls(const CallFilter& f) = 0;
    /// Streams every matching call, newest first, without holding them all;
    /// stops when fn returns false.
    virtual void for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) = 0;
    /// One page in the filter's order (keyset paging on an index: as fast on
    /// the last page of millions as on the first). next is set when more follow.
    virtual CallPage list_call_page(const CallFilter& f) = 0;
    /// Figures of inbound calls started in [since, until); answered_within
    /// counts waits of at most service_level_seconds.
    virtual CallFigures call_figures(Timestamp since, Timestamp until, int service_level_seconds) = 0;
    virtual CallReport call_report(const ReportQuery& q) = 0;
};

}  // namespace ringside
