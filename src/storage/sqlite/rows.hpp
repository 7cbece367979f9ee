#pragma once
// Row readers of the SQLite store: each column list and its reader change
// together (call_select and customer_columns are in query_builders.hpp,
// which builds queries over them).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db.hpp"

namespace ringside::sqlite {

extern const std::string user_columns;
User read_user(const Query& q, int base = 0);

Customer read_customer(const Query& q);
/// One customer's row (without its phones), or nothing; `active_only` skips removed ones.
std::optional<Customer> customer_row(Connection& c, std::int64_t id, bool active_only = false);

extern const std::string issue_columns;
Issue read_issue(const Query& q);

extern const std::string interaction_columns;
/// The agent's closing notes (column 10) are folded into the summary.
Interaction read_interaction(const Query& q);

/// A row of call_select.
CallRecord read_call(const Query& q);

}  // namespace ringside::sqlite
