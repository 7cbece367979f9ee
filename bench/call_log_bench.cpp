// The supervisor call log at scale (issue 4): seeds N calls (default 5
// million, a year of a busy call centre) into a real SQLite file, then
// measures what a supervisor waits for:
//   - the first page (50) of a filtered call log, for several filters, and a
//     page deep into the log through its keyset cursor;
//   - the day's figures for the wallboard;
//   - a CSV export of M rows (default 1 million) through for_each_call and the
//     server's own CSV row writer, with the peak RSS during the export.
//   call_log_bench [calls=5000000] [export_rows=1000000] [dir=/tmp]
// The file is seeded once per size and reused (ringside-calllog-N.db).
// Targets: each query < 100 ms; export memory flat (peak RSS barely above
// the RSS before it).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ringside/server/http_util.hpp"
#include "ringside/storage/sqlite_store.hpp"

using namespace ringside;
using clock_type = std::chrono::steady_clock;

namespace {

// 2026-11-30T00:00:00Z: the last seeded day ends here.
const Timestamp end_of_data = Timestamp{std::chrono::milliseconds{1'796'083'200'000}};

long status_kb(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::string(key).size());
    return -1;
}

/// Resets the kernel's peak RSS (VmHWM) so the export's own peak can be read.
void reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";
}

double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

void seed(SqliteStore& s, std::size_t n) {
    const auto t0 = clock_type::now();
    const std::int64_t span_ms = 365LL * 24 * 3600 * 1000;
    const std::int64_t start_ms = end_of_data.time_since_epoch().count() - span_ms;
    const char* queues[] = {"sales", "support", "billing", "vip", "retention"};
    const char* words[] = {"refund requested", "address changed", "invoice resent", "complaint about delay", "upsell"};
    std::vector<CallRecord> batch;
    constexpr std::size_t batch_size = 50'000;
    batch.reserve(batch_size);
    std::uint64_t x = 88172645463325252ull;
    auto rnd = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    for (std::size_t i = 0; i < n; ++i) {
        CallRecord c;
        char id[32];
        std::snprintf(id, sizeof id, "bench-%010zu", i);
        c.id = CallId(id);
        c.pbx = PbxId("main");
        const auto r = rnd();
        c.direction = r % 10 < 8 ? Direction::inbound : (r % 10 == 8 ? Direction::outbound : Direction::internal);
        c.from = "+98912" + std::to_string(1'000'000 + rnd() % 400'000);
        c.from_raw = c.from;
        c.to = "100" + std::to_string(rnd() % 10);
        if (rnd() % 3 == 0) c.customer_id = static_cast<std::int64_t>(rnd() % 200'000 + 1);
        if (rnd() % 2 == 0) c.queue = queues[rnd() % 5];
        c.started_at = Timestamp{std::chrono::milliseconds{start_ms + static_cast<std::int64_t>(i) * (span_ms / static_cast<std::int64_t>(n))}};
        const auto st = rnd() % 100;
        c.status = st < 70 ? CallStatus::answered : st < 85 ? CallStatus::missed : st < 95 ? CallStatus::abandoned : CallStatus::busy;
        c.wait_seconds = static_cast<std::int64_t>(rnd() % 90);
        if (c.status == CallStatus::answered) {
            c.agent = AgentId("agent" + std::to_string(rnd() % 50));
            c.extension = Extension("1" + std::to_string(rnd() % 50 + 100));
            c.answered_at = c.started_at + std::chrono::seconds(c.wait_seconds);
            c.talk_seconds = static_cast<std::int64_t>(rnd() % 900);
            if (rnd() % 4 == 0) c.disposition = "resolved";
            if (rnd() % 20 == 0) c.notes = words[rnd() % 5];
        }
        c.ended_at = c.started_at + std::chrono::seconds(c.wait_seconds + c.talk_seconds);
        batch.push_back(std::move(c));
        if (batch.size() == batch_size) {
            s.bulk_load_calls(batch);
            batch.clear();
            if ((i + 1) % 1'000'000 == 0) std::fprintf(stderr, "seeded %zu calls (%.0f s)\n", i + 1, ms_since(t0) / 1000);
        }
    }
    s.bulk_load_calls(batch);
    const double secs = ms_since(t0) / 1000;
    std::printf("seeded %zu calls in %.1f s (%.0f calls/s)\n", n, secs, static_cast<double>(n) / secs);
}

template <class F>
void timed(const char* what, int runs, F&& f) {
    std::vector<double> ms;
    std::size_t rows = 0;
    for (int i = 0; i < runs; ++i) {
        const auto t0 = clock_type::now();
        rows = f();
        ms.push_back(ms_since(t0));
    }
    const double first = ms.front();  // the first run: a cold statement cache
    std::sort(ms.begin(), ms.end());
    std::printf("%-46s rows %5zu  first %7.2f ms  p50 %7.2f ms  max %7.2f ms\n", what, rows, first, ms[ms.size() / 2],
                ms.back());
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5'000'000;
    const std::size_t export_rows = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
    const std::filesystem::path dir = argc > 3 ? argv[3] : "/tmp";
    const auto file = dir / ("ringside-calllog-" + std::to_string(n) + ".db");
    try {
        bool fresh = !std::filesystem::exists(file);
        SqliteStore s(file);
        if (fresh) {
            try {
                seed(s, n);
            } catch (...) {
                std::filesystem::remove(file);
                throw;
            }
        } else {
            std::printf("reusing %s\n", file.string().c_str());
        }
        const auto day = std::chrono::hours(24);
        const auto last_day = end_of_data - day;

        CallFilter missed_month;
        missed_month.status = CallStatus::missed;
        missed_month.since = end_of_data - 30 * day;
        missed_month.until = end_of_data;
        missed_month.limit = 50;
        timed("first page: missed, last 30 days", 20, [&] { return s.list_call_page(missed_month).calls.size(); });

        CallFilter by_agent;
        by_agent.agent = AgentId("agent7");
        by_agent.limit = 50;
        timed("first page: one agent, all time", 20, [&] { return s.list_call_page(by_agent).calls.size(); });

        CallFilter outbound;
        outbound.direction = Direction::outbound;
        outbound.since = end_of_data - 7 * day;
        outbound.limit = 50;
        timed("first page: outbound, last 7 days", 20, [&] { return s.list_call_page(outbound).calls.size(); });

        CallFilter queue;
        queue.queue = "vip";
        queue.status = CallStatus::abandoned;
        queue.limit = 50;
        timed("first page: queue vip + abandoned, all time", 20, [&] { return s.list_call_page(queue).calls.size(); });

        CallFilter text;
        text.text = "refund";
        text.since = end_of_data - 7 * day;
        text.limit = 50;
        timed("first page: 'refund' in notes, last 7 days", 20, [&] { return s.list_call_page(text).calls.size(); });
        CallFilter text_year = text;
        text_year.since = end_of_data - 365 * day;
        timed("first page: 'refund' in notes, last 365 days", 20, [&] { return s.list_call_page(text_year).calls.size(); });
        CallFilter rare = text_year;
        rare.text = "complaint about d";  // one in 100 calls, matched across a space
        timed("first page: 'complaint about d', 365 days", 20, [&] { return s.list_call_page(rare).calls.size(); });
        CallFilter none = text_year;
        none.text = "no such words";
        timed("first page: text found nowhere, 365 days", 5, [&] { return s.list_call_page(none).calls.size(); });

        CallFilter all;
        all.limit = 50;
        timed("first page: no filter", 20, [&] { return s.list_call_page(all).calls.size(); });

        // Page 200 of the whole log by following the cursor; then time the next page alone.
        CallFilter deep = all;
        for (int i = 0; i < 200; ++i) deep.after = s.list_call_page(deep).next;
        timed("page 201 via keyset cursor (no OFFSET)", 20, [&] { return s.list_call_page(deep).calls.size(); });

        CallFilter wait_sorted;
        wait_sorted.sort = CallFilter::Sort::wait_seconds;
        wait_sorted.since = last_day;
        wait_sorted.limit = 50;
        timed("first page: last day by longest wait", 20, [&] { return s.list_call_page(wait_sorted).calls.size(); });

        timed("day's figures (wallboard)", 20, [&] {
            auto f = s.call_figures(last_day, end_of_data, 20);
            return static_cast<std::size_t>(f.offered);
        });

        ReportQuery rq;
        rq.since = end_of_data - 7 * day;
        rq.until = end_of_data;
        rq.utc_offset_minutes = 210;
        timed("reports: last 7 days (all five lists)", 3, [&] {
            auto r = s.call_report(rq);
            return r.hourly.size();
        });
        ReportQuery year = rq;
        year.since = end_of_data - 365 * day;
        timed("reports: last 365 days (all five lists)", 2, [&] {
            auto r = s.call_report(year);
            return r.hourly.size();
        });

        // CSV export: the newest export_rows calls (a time range holding that many).
        CallFilter exp;
        exp.since = end_of_data - std::chrono::milliseconds(static_cast<std::int64_t>(
                                      365.0 * 24 * 3600 * 1000 * static_cast<double>(export_rows) / static_cast<double>(n)));
        const long rss_before = status_kb("VmRSS:");
        reset_peak_rss();
        const auto t0 = clock_type::now();
        std::size_t rows = 0, bytes = 0, chunks = 0;
        std::string buf = server::calls_csv_header();
        std::FILE* sink = std::fopen("/dev/null", "w");
        s.for_each_call(exp, [&](const CallRecord& c) {
            buf += server::calls_csv_row(c);
            ++rows;
            if (buf.size() >= 32 * 1024) {  // the server's chunk size
                bytes += std::fwrite(buf.data(), 1, buf.size(), sink);
                ++chunks;
                buf.clear();
            }
            return true;
        });
        bytes += std::fwrite(buf.data(), 1, buf.size(), sink);
        std::fclose(sink);
        const double ms = ms_since(t0);
        std::printf("CSV export: %zu rows, %.1f MB in %.0f ms (%.0f rows/s); RSS before %ld kB, peak during %ld kB\n",
                    rows, static_cast<double>(bytes) / 1e6, ms, static_cast<double>(rows) / (ms / 1000), rss_before,
                    status_kb("VmHWM:"));
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "call_log_bench: %s\n", e.what());
        return 1;
    }
}
