#include "ringside/core/csv.hpp"

namespace ringside::csv {

std::vector<std::vector<std::string>> parse(std::string_view text, std::string* error) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool in_quotes = false;
    bool field_started = false;
    std::size_t row_no = 1;
    auto end_field = [&] {
        row.push_back(std::move(field));
        field.clear();
        field_started = false;
    };
    auto end_row = [&] {
        end_field();
        if (!(row.size() == 1 && row[0].empty())) rows.push_back(std::move(row));
        row.clear();
        ++row_no;
    };
    // A UTF-8 byte order mark (spreadsheets write one) is not part of the first field.
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_quotes) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    in_quotes = false;
                }
            } else {
                field += c;
            }
            continue;
        }
        if (c == '"' && !field_started) {
            in_quotes = true;
            field_started = true;
        } else if (c == ',') {
            end_field();
        } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
            continue;
        } else if (c == '\n') {
            end_row();
        } else {
            field += c;
            field_started = true;
        }
    }
    if (in_quotes && error) *error = "row " + std::to_string(row_no) + ": a quoted field is never closed";
    if (field_started || !field.empty() || !row.empty()) end_row();
    return rows;
}

std::string escape(std::string_view field) {
    std::string f(field);
    if (!f.empty() && (f[0] == '=' || f[0] == '+' || f[0] == '-' || f[0] == '@')) {
        // "+98912..." is a phone number, not a formula: keep E.164 numbers as they are.
        bool phone = f[0] == '+' && f.size() > 1 && f.find_first_not_of("0123456789", 1) == std::string::npos;
        if (!phone) f.insert(f.begin(), '\'');
    }
    if (f.find_first_of(",\"\r\n") == std::string::npos) return f;
    std::string out = "\"";
    for (char c : f) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

}  // namespace ringside::csv
