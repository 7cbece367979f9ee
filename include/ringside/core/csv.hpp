#pragma once
// RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF, newlines inside quotes.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringside::csv {

/// Splits text into rows of fields. A quote left open at the end is an error
/// reported by row number (1-based) in *error.
std::vector<std::vector<std::string>> parse(std::string_view text, std::string* error = nullptr);
/// One field, quoted when it holds a comma, quote, CR or LF, or starts with
/// = + - @ (which spreadsheets would run as a formula: those get a leading ').
std::string escape(std::string_view field);

}  // namespace ringside::csv
