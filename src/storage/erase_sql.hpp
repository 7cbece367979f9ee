#pragma once
// Internal to ringside_storage: SQL that both backends run word for word,
// written once with the placeholders each one uses.
#include <string>
#include <string_view>

namespace ringside::storage_sql {

/// The erasure's UPDATE of the calls that name a customer: their number
/// becomes `number`, the caller's name and the notes are emptied. `id` and
/// `number` are the placeholders of the customer's id and of the number put
/// in place (SQLite "?1"/"?2", PostgreSQL "$1"/"$2"). Numbers are matched
/// through customer_phones, so it must run before the phones are deleted;
/// SET reads the row as it was, so every CASE sees the old numbers.
inline std::string erase_calls(std::string_view id, std::string_view number) {
    const std::string i(id), n(number);
    const std::string phones = "(SELECT e164 FROM customer_phones WHERE customer_id = " + i + ")";
    const std::string from_theirs = "(from_number IN " + phones + " OR (customer_id = " + i +
                                    " AND direction = 'inbound' AND from_number <> ''))";
    return "UPDATE calls SET from_number = CASE WHEN " + from_theirs + " THEN " + n + " ELSE from_number END, "
           "from_raw = CASE WHEN " + from_theirs + " THEN " + n + " ELSE from_raw END, "
           "from_name = CASE WHEN " + from_theirs + " THEN '' ELSE from_name END, "
           "to_number = CASE WHEN to_number IN " + phones + " OR (customer_id = " + i +
           " AND direction = 'outbound') THEN " + n + " ELSE to_number END, "
           "notes = '' WHERE customer_id = " + i + " OR from_number IN " + phones + " OR to_number IN " + phones;
}

}  // namespace ringside::storage_sql
