#pragma once
// A customer CSV import end to end: parse (core), then store in batches
// through the Storage seam, finding who is already a customer.
#include <string>
#include <string_view>

#include "ringside/core/customer_import.hpp"
#include "ringside/storage/store.hpp"

namespace ringside {

/// Imports the CSV text. Rows are stored `batch_rows` per transaction, so a
/// running service is never blocked for long; each batch is all or none. A
/// dry run stores nothing and reports what a real run would do. Re-running
/// the same file imports nothing twice (every row is "already_present").
/// Throws StorageError only for infrastructure failures.
ImportReport run_customer_import(Storage& store, std::string_view csv_text, const PhoneNormalizer& phones,
                                 const CustomerRules& rules, bool dry_run, const std::string& actor,
                                 std::size_t batch_rows = 2000);

/// Imports an orders CSV (parse_orders_csv), batch_rows per transaction:
/// each customer's lifetime_value becomes the sum of their orders. Re-running
/// the same file changes nothing (orders are keyed by order_id).
ImportReport run_orders_import(Storage& store, std::string_view csv_text, const PhoneNormalizer& phones, bool dry_run,
                               const std::string& actor, std::size_t batch_rows = 5000);

}  // namespace ringside
