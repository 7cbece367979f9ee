#include "ringside/storage/customer_import.hpp"

#include <algorithm>

namespace ringside {

ImportReport run_customer_import(Storage& store, std::string_view csv_text, const PhoneNormalizer& phones,
                                 const CustomerRules& rules, bool dry_run, const std::string& actor,
                                 std::size_t batch_rows) {
    ImportReport report;
    report.dry_run = dry_run;
    auto parsed = parse_customer_csv(csv_text, phones, rules, actor);
    if (parsed.fatal) {
        report.fatal = parsed.fatal;
        return report;
    }
    report.rows = std::move(parsed.results);
    const auto now = now_ms();
    batch_rows = std::max<std::size_t>(batch_rows, 1);
    for (std::size_t start = 0; start < parsed.customers.size(); start += batch_rows) {
        const auto end = std::min(parsed.customers.size(), start + batch_rows);
        std::vector<Customer> batch;
        batch.reserve(end - start);
        for (std::size_t i = start; i < end; ++i) {
            auto c = parsed.customers[i].second;
            c.created_at = now;
            batch.push_back(std::move(c));
        }
        const auto matches = store.import_customers(batch, dry_run, actor, now);
        for (std::size_t i = 0; i < matches.size(); ++i) {
            const auto row = parsed.customers[start + i].first;
            if (matches[i].created) {
                ++report.imported;
            } else {
                report.rows.push_back({row, "already_present", "same " + matches[i].matched_on + " as customer " +
                                                                   std::to_string(matches[i].customer_id),
                                       matches[i].customer_id});
            }
        }
    }
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
