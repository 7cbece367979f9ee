#pragma once
// Demo data for `ringside demo`: customers in English and Persian with
// Iranian numbers, open issues, a few weeks of history, and the demo logins.
#include <optional>
#include <string>
#include <vector>

#include "ringside/core/model.hpp"
#include "ringside/core/phone.hpp"
#include "ringside/storage/store.hpp"

namespace ringside {

/// One demo login, as `ringside demo` prints it.
struct DemoLogin {
    std::string username;
    std::string password;
    Role role = Role::agent;
    std::optional<std::string> extension;
};

/// admin, supervisor, and the agents alice (1001), bob (1002), sara (1003).
const std::vector<DemoLogin>& demo_logins();

/// Creates each demo login that does not exist yet (passwords hashed with
/// hash_password), and, when the store has no customers, about 40 customers
/// with their issues, past calls and emails. Deterministic: only timestamps
/// depend on the clock (relative to now). Customer numbers are written in
/// international form, so they are stored right whatever `phones`' region.
/// Throws StorageError as the store does.
void seed_demo(Storage& store, const PhoneNormalizer& phones);

/// The raw caller ids the demo's simulated PBX dials from: the customers'
/// numbers in mixed national and international formats (a few in Persian
/// digits) plus about 10% that match no customer. National forms match only
/// under the default region IR, the demo's.
std::vector<std::string> demo_caller_numbers();

}  // namespace ringside
