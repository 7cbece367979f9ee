#include "db.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

namespace ringside::sqlite {

bool is_unique_violation(const SQLite::Exception& e) {
    int ext = e.getExtendedErrorCode();
    return ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY;
}

std::string tags_to_json(const std::vector<std::string>& tags) { return nlohmann::json(tags).dump(); }

std::vector<std::string> strings_from_json(const std::string& text) {
    std::vector<std::string> out;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array()) return out;
    for (const auto& v : j)
        if (v.is_string()) out.push_back(v.get<std::string>());
    return out;
}

bool is_e164(const std::string& s) {
    if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
    return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void require_e164(const Customer& cu) {
    for (const auto& p : cu.phones)
        if (!is_e164(p)) throw std::invalid_argument("create_customer: phone is not E.164 (normalise it first)");
}

}  // namespace ringside::sqlite
