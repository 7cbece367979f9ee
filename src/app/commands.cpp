// The one-shot commands: check-config, user add, import customers.
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "app.hpp"
#include "ringside/app/config.hpp"
#include "ringside/core/csv.hpp"
#include "ringside/core/password.hpp"
#include "ringside/core/phone.hpp"
#include "ringside/core/privacy.hpp"
#include "ringside/storage/sqlite_store.hpp"

namespace ringside::app {

Config load_or_explain(const std::string& file) {
    auto r = load_config(file);
    if (!r.config) {
        std::string what;
        for (const auto& e : r.errors) {
            std::cerr << file << (e.line ? ":" + std::to_string(e.line) : "") << ": "
                      << (e.key.empty() ? "" : e.key + ": ") << e.message << "\n";
        }
        throw std::runtime_error("config " + file + " has " + std::to_string(r.errors.size()) + " error(s)");
    }
    return *r.config;
}

int run_check_config(const std::string& config_file) {
    auto r = load_config(config_file);
    for (const auto& e : r.errors)
        std::cout << config_file << (e.line ? ":" + std::to_string(e.line) : "") << ": "
                  << (e.key.empty() ? "" : e.key + ": ") << e.message << "\n";
    if (!r.config) return 1;
    std::cout << config_file << ": ok (" << r.config->pbx.size() << " PBX connection"
              << (r.config->pbx.size() == 1 ? "" : "s") << ")\n";
    return 0;
}

int run_user_add(const UserAddOptions& o, std::istream& password_in) {
    auto cfg = load_or_explain(o.config);
    auto role = role_from_string(o.role);
    if (!role) throw UsageError("--role must be agent, supervisor or admin, not \"" + o.role + "\"");
    std::string password;
    std::getline(password_in, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.size() < 8) throw std::runtime_error("password from stdin must be at least 8 characters");
    if (o.username.empty() || o.username.size() > 64 ||
        o.username.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos)
        throw std::runtime_error("--username must be 1 to 64 of a-z 0-9 . _ -");
    User u;
    u.username = AgentId{o.username};
    u.name = o.name.empty() ? o.username : o.name;
    u.role = *role;
    if (!o.extension.empty()) u.extension = Extension{o.extension};
    SqliteStore store(cfg.database);
    try {
        store.create_user(u, hash_password(password));
    } catch (const StorageConflict&) {
        throw std::runtime_error("user \"" + o.username + "\" already exists");
    }
    store.audit("cli", "user.create", o.username + " role=" + o.role, now_ms());
    std::cout << "created " << to_string(u.role) << " " << o.username
              << (u.extension ? " (extension " + u.extension->value() + ")" : "") << "\n";
    return 0;
}

namespace {

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ';' || c == '|') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    for (auto& x : out) {
        auto b = x.find_first_not_of(' ');
        auto e = x.find_last_not_of(' ');
        x = b == std::string::npos ? "" : x.substr(b, e - b + 1);
    }
    return out;
}

}  // namespace

int run_import_customers(const std::string& csv_file, const std::string& config_file) {
    auto cfg = load_or_explain(config_file);
    std::ifstream in(csv_file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + csv_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string parse_error;
    auto rows = csv::parse(ss.str(), &parse_error);
    if (rows.empty()) throw std::runtime_error(csv_file + " is empty: a header row is needed");
    static const std::set<std::string> known{"name", "salutation", "phones", "phone", "email", "tier",
                                             "tags", "company", "notes", "language"};
    const auto& header = rows[0];
    std::map<std::string, std::size_t> col;
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (!known.count(header[i]))
            throw std::runtime_error(csv_file + ": unknown column \"" + header[i] +
                                     "\" (known: name, salutation, phones, email, tier, tags, company, notes, language)");
        col[header[i]] = i;
    }
    if (!col.count("name") || (!col.count("phones") && !col.count("phone")))
        throw std::runtime_error(csv_file + ": the header needs at least the columns name and phones");
    PhoneNormalizer phones(cfg.default_region);
    SqliteStore store(cfg.database);
    std::size_t imported = 0, duplicates = 0, rejected = 0;
    std::set<std::string> seen_in_file;
    for (std::size_t r = 1; r < rows.size(); ++r) {
        const auto& row = rows[r];
        auto field = [&](const char* name) -> std::string {
            auto it = col.find(name);
            return it != col.end() && it->second < row.size() ? row[it->second] : std::string{};
        };
        auto reject = [&](const std::string& why) {
            ++rejected;
            std::cerr << csv_file << ": row " << (r + 1) << " rejected: " << why << "\n";
        };
        if (row.size() != header.size()) {
            reject("has " + std::to_string(row.size()) + " fields, the header has " + std::to_string(header.size()));
            continue;
        }
        Customer c;
        c.name = field("name");
        if (c.name.empty()) {
            reject("name is empty");
            continue;
        }
        std::string bad;
        for (const auto& raw : split_list(field("phones") + ";" + field("phone"))) {
            if (auto n = phones.normalize(raw)) c.phones.push_back(n->e164());
            else bad = raw;
        }
        if (!bad.empty()) {
            reject("phone \"" + bad + "\" is not a valid number for region " + cfg.default_region);
            continue;
        }
        if (c.phones.empty()) {
            reject("no phone number");
            continue;
        }
        bool dup = false;
        for (const auto& p : c.phones) dup = dup || !store.customers_by_phone(p).empty() || seen_in_file.count(p);
        if (dup) {
            ++duplicates;
            continue;
        }
        c.salutation = field("salutation");
        c.email = field("email");
        c.tier = field("tier");
        if (!c.tier.empty() && c.tier != "gold" && c.tier != "silver" && c.tier != "bronze") {
            reject("tier \"" + c.tier + "\" is not gold, silver or bronze");
            continue;
        }
        c.tags = split_list(field("tags"));
        c.company = field("company");
        c.notes = mask_card_numbers(field("notes"));
        c.language = field("language");
        c.created_at = now_ms();
        store.create_customer(c);
        for (const auto& p : c.phones) seen_in_file.insert(p);
        ++imported;
    }
    if (!parse_error.empty()) std::cerr << csv_file << ": " << parse_error << "\n";
    store.audit("cli", "customers.import",
                csv_file + ": imported " + std::to_string(imported) + ", already present " +
                    std::to_string(duplicates) + ", rejected " + std::to_string(rejected),
                now_ms());
    std::cout << "imported " << imported << ", already present " << duplicates << ", rejected " << rejected << "\n";
    return rejected ? 1 : 0;
}

}  // namespace ringside::app
