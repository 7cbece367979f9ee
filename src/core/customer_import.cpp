#include "ringside/core/customer_import.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "ringside/core/csv.hpp"
#include "ringside/core/privacy.hpp"

namespace ringside {
namespace {

using json = nlohmann::json;

const std::vector<std::string_view> known_columns{
    "name", "phones", "phone", "salutation", "email", "tier", "tags", "groups", "opt_outs", "company", "notes",
    "language", "birthday", "owner", "kind", "source_campaign", "preferred_channel", "contact_time", "value_score",
    "lifetime_value", "customer_since", "id", "status", "created_at", "value_score_source"};
// Columns of the export that an import reads past, so an export imports back.
const std::set<std::string_view> ignored_columns{"id", "status", "created_at", "value_score_source"};
const std::set<std::string_view> list_columns{"tags", "groups", "opt_outs"};
const std::set<std::string_view> number_columns{"value_score", "lifetime_value"};

std::string trim(std::string_view s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) return {};
    const auto e = s.find_last_not_of(" \t");
    return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        auto end = s.find_first_of(";|", start);
        if (end == std::string_view::npos) end = s.size();
        if (auto item = trim(s.substr(start, end - start)); !item.empty()) out.push_back(std::move(item));
        start = end + 1;
    }
    return out;
}

std::string lower_ascii(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// "field 'tier' must be ..." -> "tier must be ..." : the report names columns.
std::string column_message(std::string m) {
    if (m.rfind("field '", 0) == 0) {
        const auto close = m.find('\'', 7);
        if (close != std::string::npos) m = m.substr(7, close - 7) + m.substr(close + 1);
    }
    return m;
}

}  // namespace

ParsedImport parse_customer_csv(std::string_view text, const PhoneNormalizer& phones, const CustomerRules& rules,
                                const std::string& actor) {
    return parse_customer_csv(text, phones, rules, actor, nullptr, 0);
}

ParsedImport parse_customer_csv(std::string_view text, const PhoneNormalizer& phones, const CustomerRules& rules,
                                const std::string& actor, const CustomerChunkSink& sink, std::size_t chunk_rows) {
    ParsedImport out;
    chunk_rows = std::max<std::size_t>(chunk_rows, 1);
    auto hand_over = [&](bool last) {
        if (sink && !out.customers.empty() && (last || out.customers.size() >= chunk_rows)) {
            sink(std::move(out.customers));
            out.customers.clear();
        }
    };
    std::string parse_error;
    auto rows = csv::parse(text, &parse_error);
    if (rows.empty()) {
        out.fatal = "the file is empty: a header row is needed";
        return out;
    }
    std::map<std::string, std::size_t> col;
    for (std::size_t i = 0; i < rows[0].size(); ++i) {
        const auto name = lower_ascii(trim(rows[0][i]));
        if (std::find(known_columns.begin(), known_columns.end(), name) == known_columns.end()) {
            std::string list;
            for (auto k : known_columns) list += (list.empty() ? "" : ", ") + std::string(k);
            out.fatal = "unknown column \"" + mask_card_numbers(rows[0][i]) + "\" (known: " + list + ")";
            return out;
        }
        if (!col.emplace(name, i).second) {
            out.fatal = "column \"" + name + "\" appears twice";
            return out;
        }
    }
    if (!col.count("name") || (!col.count("phones") && !col.count("phone"))) {
        out.fatal = "the header needs at least the columns name and phones";
        return out;
    }
    const std::size_t width = rows[0].size();
    std::unordered_map<std::string, std::size_t> seen_phone, seen_email;  // -> first row
    for (std::size_t r = 1; r < rows.size(); ++r) {
        const std::size_t row_no = r + 1;
        const auto& row = rows[r];
        auto reject = [&](std::string why) { out.results.push_back({row_no, "rejected", std::move(why), std::nullopt}); };
        if (row.size() != width) {
            reject("has " + std::to_string(row.size()) + " fields, the header has " + std::to_string(width));
            continue;
        }
        auto field = [&](const char* name) -> std::string {
            auto it = col.find(name);
            return it == col.end() ? std::string{} : trim(row[it->second]);
        };
        json body = json::object();
        for (const auto& [name, idx] : col) {
            if (name == "phones" || name == "phone" || ignored_columns.count(name)) continue;
            auto v = trim(row[idx]);
            if (v.empty()) continue;
            if (list_columns.count(name)) {
                body[name] = split_list(v);
            } else if (number_columns.count(name)) {
                const auto digits = fold_digits(v);
                if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos) {
                    body[name] = v;  // apply_customer_fields names the problem
                } else {
                    body[name] = std::stoll(digits);
                }
            } else if (name == "birthday") {
                body[name] = fold_digits(v);
            } else {
                body[name] = v;
            }
        }
        // An exported score Ringside computed is not turned into one set by
        // hand when the export is imported back: it is computed again.
        if (lower_ascii(field("value_score_source")) == "computed") body.erase("value_score");
        if (field("name").empty()) {
            reject("name is empty");
            continue;
        }
        json phone_list = json::array();
        for (const auto& item : split_list(field("phones") + ";" + field("phone"))) {
            std::string label, raw = item;
            if (auto colon = item.find(':'); colon != std::string::npos) {
                label = trim(item.substr(0, colon));
                raw = trim(item.substr(colon + 1));
            }
            phone_list.push_back({{"number", raw}, {"label", label}});
        }
        if (phone_list.empty()) {
            reject("no phone number");
            continue;
        }
        body["phones"] = phone_list;
        Customer c;
        if (auto problem = apply_customer_fields(c, body, rules, phones, Role::admin, actor, true)) {
            // A bad number is named as written, before any other problem of
            // the row. Only a refused row pays for this second pass: a row
            // that passed had every number normalised once, by the check.
            std::string bad;
            for (const auto& p : phone_list) {
                const auto& raw = p["number"].get_ref<const std::string&>();
                if (!phones.normalize(raw)) {
                    bad = raw;
                    break;
                }
            }
            if (!bad.empty())
                reject("phone \"" + mask_card_numbers(bad) + "\" is not a valid number for region " +
                       phones.default_region());
            else
                reject(column_message(problem->message));
            continue;
        }
        // The same person twice in one file: the first row wins.
        std::optional<std::size_t> first;
        std::string matched;
        for (const auto& p : c.phones)
            if (auto it = seen_phone.find(p); it != seen_phone.end() && !first) {
                first = it->second;
                matched = "phone";
            }
        const auto email_key = lower_ascii(c.email);
        if (!first && !email_key.empty())
            if (auto it = seen_email.find(email_key); it != seen_email.end()) {
                first = it->second;
                matched = "email";
            }
        if (first) {
            out.results.push_back({row_no, "already_present", "same " + matched + " as row " + std::to_string(*first), std::nullopt});
            continue;
        }
        for (const auto& p : c.phones) seen_phone.emplace(p, row_no);
        if (!email_key.empty()) seen_email.emplace(email_key, row_no);
        out.customers.emplace_back(row_no, std::move(c));
        hand_over(false);
    }
    hand_over(true);
    if (!parse_error.empty()) out.results.push_back({rows.size(), "rejected", parse_error, std::nullopt});
    return out;
}

}  // namespace ringside

namespace ringside {

ParsedOrders parse_orders_csv(std::string_view text, const PhoneNormalizer& phones, Timestamp now) {
    ParsedOrders out;
    std::string parse_error;
    auto rows = csv::parse(text, &parse_error);
    if (rows.empty()) {
        out.fatal = "the file is empty: a header row is needed";
        return out;
    }
    static const std::vector<std::string_view> known{"order_id", "amount", "at", "customer_id", "phone", "email"};
    std::map<std::string, std::size_t> col;
    for (std::size_t i = 0; i < rows[0].size(); ++i) {
        const auto name = lower_ascii(trim(rows[0][i]));
        if (std::find(known.begin(), known.end(), name) == known.end()) {
            out.fatal = "unknown column \"" + mask_card_numbers(rows[0][i]) +
                        "\" (known: order_id, amount, at, customer_id, phone, email)";
            return out;
        }
        col[name] = i;
    }
    if (!col.count("order_id") || !col.count("amount") ||
        (!col.count("customer_id") && !col.count("phone") && !col.count("email"))) {
        out.fatal = "the header needs order_id, amount and one of customer_id, phone, email";
        return out;
    }
    const std::size_t width = rows[0].size();
    for (std::size_t r = 1; r < rows.size(); ++r) {
        const auto& row = rows[r];
        auto reject = [&](std::string why) { out.results.push_back({r + 1, "rejected", std::move(why), std::nullopt}); };
        if (row.size() != width) {
            reject("has " + std::to_string(row.size()) + " fields, the header has " + std::to_string(width));
            continue;
        }
        auto field = [&](const char* name) -> std::string {
            auto it = col.find(name);
            return it == col.end() ? std::string{} : trim(row[it->second]);
        };
        OrderRow o;
        o.row = r + 1;
        o.order_ref = field("order_id");
        if (o.order_ref.empty() || o.order_ref.size() > 100) {
            reject("order_id must be 1 to 100 bytes");
            continue;
        }
        const auto amount = fold_digits(field("amount"));
        if (amount.empty() || amount.size() > 15 || amount.find_first_not_of("0123456789") != std::string::npos) {
            reject("amount must be a whole number, 0 or more");
            continue;
        }
        o.amount = std::stoll(amount);
        o.at = now;
        if (auto at = fold_digits(field("at")); !at.empty()) {
            auto t = parse_iso(at.size() == 10 ? at + "T00:00:00Z" : at);
            if (!t) {
                reject("at must be an ISO 8601 time or a date YYYY-MM-DD");
                continue;
            }
            o.at = *t;
        }
        if (auto id = fold_digits(field("customer_id")); !id.empty()) {
            if (id.size() > 18 || id.find_first_not_of("0123456789") != std::string::npos) {
                reject("customer_id must be a customer id");
                continue;
            }
            o.customer_id = std::stoll(id);
        } else if (auto p = field("phone"); !p.empty()) {
            auto n = phones.normalize(p);
            if (!n) {
                reject("phone is not a valid number for region " + phones.default_region());
                continue;
            }
            o.phone = n->e164();
        } else if (auto e = field("email"); !e.empty()) {
            o.email = e;
        } else {
            reject("no customer_id, phone or email names the customer");
            continue;
        }
        out.orders.push_back(std::move(o));
    }
    if (!parse_error.empty()) out.results.push_back({rows.size(), "rejected", parse_error, std::nullopt});
    return out;
}

}  // namespace ringside
