#pragma once
// Customer CSV import, the pure part: a CSV text in, customers to store and
// rows rejected (with why) out. Storing, and finding who is already a
// customer, is storage's (ringside/storage/customer_import.hpp).
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringside/core/customers.hpp"

namespace ringside {

/// What happened to one data row. Row numbers count the header as row 1, as
/// a spreadsheet shows them.
struct ImportRowResult {
    std::size_t row = 0;
    std::string status;                   // "imported" | "already_present" | "rejected"
    std::string reason;                   // why rejected, or what it matched ("phone +98912...", "row 3")
    std::optional<std::int64_t> customer_id;  // the new or the existing customer
};

struct ParsedImport {
    std::optional<std::string> fatal;     // the whole file is unusable (header); nothing else is set
    std::vector<std::pair<std::size_t, Customer>> customers;  // row number, customer to store (phones E.164)
    std::vector<ImportRowResult> results; // rejected rows and rows repeating an earlier row of the file
};

/// Columns (header row, any order, case-insensitive; unknown ones are a fatal
/// error): name, phones (or phone; several separated by ';', each optionally
/// "label:number"), salutation, email, tier, tags, groups, opt_outs (';'
/// lists), company, notes, language, birthday, owner, kind, source_campaign,
/// preferred_channel, contact_time, value_score, lifetime_value,
/// customer_since; id, status and created_at (the export's) are read past.
/// A value_score is set by hand unless value_score_source (the export's) is
/// "computed": such a score is left for Ringside to compute again.
/// Persian and Arabic-Indic digits are accepted anywhere.
/// A row repeating an earlier row's phone or email is "already_present".
ParsedImport parse_customer_csv(std::string_view text, const PhoneNormalizer& phones, const CustomerRules& rules,
                                const std::string& actor);

/// Receives accepted customers (row number, customer) in row order, a chunk at a time.
using CustomerChunkSink = std::function<void(std::vector<std::pair<std::size_t, Customer>>&&)>;

/// As above, but accepted customers go to `sink` in chunks of `chunk_rows`
/// as soon as they are checked (the last chunk may be shorter), so a caller
/// can store one chunk while the next is parsed; the result's `customers`
/// stays empty. Nothing reaches the sink when the header is fatal.
ParsedImport parse_customer_csv(std::string_view text, const PhoneNormalizer& phones, const CustomerRules& rules,
                                const std::string& actor, const CustomerChunkSink& sink, std::size_t chunk_rows);

struct ImportReport {
    std::size_t imported = 0;             // (dry run: would be imported)
    std::size_t already_present = 0;
    std::size_t rejected = 0;
    bool dry_run = false;
    std::optional<std::string> fatal;
    std::vector<ImportRowResult> rows;    // every row not imported, in row order
};

/// One order of an orders CSV: it adds to its customer's lifetime value.
struct OrderRow {
    std::size_t row = 0;
    std::string order_ref;                // unique: re-importing an order changes nothing
    std::optional<std::int64_t> customer_id;
    std::string phone;                    // E.164, when the row names the customer by number
    std::string email;                    // when by email
    std::int64_t amount = 0;              // whole currency units, 0 or more
    Timestamp at{};
};

struct ParsedOrders {
    std::optional<std::string> fatal;
    std::vector<OrderRow> orders;
    std::vector<ImportRowResult> results; // rejected rows
};

/// Orders CSV: columns order_id (required), amount (required, whole number,
/// Persian digits accepted), at (ISO 8601 or YYYY-MM-DD; default now), and
/// one of customer_id, phone or email naming the customer.
ParsedOrders parse_orders_csv(std::string_view text, const PhoneNormalizer& phones, Timestamp now);

}  // namespace ringside
