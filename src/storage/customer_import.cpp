#include "ringside/storage/customer_import.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace ringside {

ImportReport run_customer_import(Storage& store, std::string_view csv_text, const PhoneNormalizer& phones,
                                 const CustomerRules& rules, bool dry_run, const std::string& actor,
                                 std::size_t batch_rows) {
    ImportReport report;
    report.dry_run = dry_run;
    const auto now = now_ms();
    batch_rows = std::max<std::size_t>(batch_rows, 1);
    using Chunk = std::vector<std::pair<std::size_t, Customer>>;

    // Checking rows (libphonenumber, ICU) and storing them take about as
    // long as each other, so they overlap: this thread parses, a second one
    // stores each chunk as it comes. The queue holds a few chunks at most;
    // after a storage failure the parser's chunks are dropped and the
    // failure is rethrown here.
    std::mutex m;
    std::condition_variable cv;
    std::deque<Chunk> queue;
    bool parsed_all = false;
    std::exception_ptr failure;
    std::vector<ImportRowResult> present;
    std::size_t imported = 0;
    constexpr std::size_t max_queued = 4;

    std::thread storer([&] {
        for (;;) {
            Chunk chunk;
            {
                std::unique_lock lk(m);
                cv.wait(lk, [&] { return !queue.empty() || parsed_all; });
                if (queue.empty()) return;
                chunk = std::move(queue.front());
                queue.pop_front();
            }
            cv.notify_all();
            try {
                std::vector<Customer> batch;
                batch.reserve(chunk.size());
                for (auto& [row, c] : chunk) {
                    c.created_at = now;
                    batch.push_back(std::move(c));
                }
                const auto matches = store.import_customers(batch, dry_run, actor, now);
                for (std::size_t i = 0; i < matches.size(); ++i) {
                    if (matches[i].created) {
                        ++imported;
                    } else {
                        present.push_back({chunk[i].first, "already_present",
                                           "same " + matches[i].matched_on + " as customer " +
                                               std::to_string(matches[i].customer_id),
                                           matches[i].customer_id});
                    }
                }
            } catch (...) {
                std::lock_guard lk(m);
                failure = std::current_exception();
                queue.clear();
                parsed_all = true;  // nothing more will be taken
                cv.notify_all();
                return;
            }
        }
    });
    ParsedImport parsed;
    try {
        parsed = parse_customer_csv(
            csv_text, phones, rules, actor,
            [&](Chunk&& chunk) {
                std::unique_lock lk(m);
                cv.wait(lk, [&] { return queue.size() < max_queued || failure; });
                if (failure) return;
                queue.push_back(std::move(chunk));
                cv.notify_all();
            },
            batch_rows);
    } catch (...) {
        {
            std::lock_guard lk(m);
            parsed_all = true;
        }
        cv.notify_all();
        storer.join();
        throw;
    }
    {
        std::lock_guard lk(m);
        parsed_all = true;
    }
    cv.notify_all();
    storer.join();
    if (failure) std::rethrow_exception(failure);
    if (parsed.fatal) {
        report.fatal = parsed.fatal;
        return report;
    }
    report.rows = std::move(parsed.results);
    report.imported = imported;
    report.rows.insert(report.rows.end(), std::make_move_iterator(present.begin()),
                       std::make_move_iterator(present.end()));
    for (const auto& r : report.rows) {
        if (r.status == "rejected") ++report.rejected;
        else if (r.status == "already_present") ++report.already_present;
    }
    std::sort(report.rows.begin(), report.rows.end(), [](const auto& a, const auto& b) { return a.row < b.row; });
    return report;
}

ImportReport run_orders_import(Storage& store, std::string_view csv_text, const PhoneNormalizer& phones, bool dry_run,
                               const std::string& actor, std::size_t batch_rows) {
    ImportReport report;
    report.dry_run = dry_run;
    const auto now = now_ms();
    auto parsed = parse_orders_csv(csv_text, phones, now);
    if (parsed.fatal) {
        report.fatal = parsed.fatal;
        return report;
    }
    report.rows = std::move(parsed.results);
    batch_rows = std::max<std::size_t>(batch_rows, 1);
    for (std::size_t start = 0; start < parsed.orders.size(); start += batch_rows) {
        const auto end = std::min(parsed.orders.size(), start + batch_rows);
        std::vector<OrderRow> batch(parsed.orders.begin() + static_cast<std::ptrdiff_t>(start),
                                    parsed.orders.begin() + static_cast<std::ptrdiff_t>(end));
        for (auto& r : store.import_orders(batch, dry_run, actor, now)) {
            if (r.status == "imported") ++report.imported;
            else report.rows.push_back(std::move(r));
        }
    }
    for (const auto& r : report.rows) {
        if (r.status == "rejected") ++report.rejected;
        else if (r.status == "already_present") ++report.already_present;
    }
    std::sort(report.rows.begin(), report.rows.end(), [](const auto& a, const auto& b) { return a.row < b.row; });
    return report;
}

}  // namespace ringside
