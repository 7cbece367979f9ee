#pragma once
// The customer file as a pop needs it: a customer with their open issues and
// recent interactions. Owned by the core; storage implements it.
//
// Blocking: one indexed read (about 50 us on SQLite). The engine never
// calls it on its strand for a new call: it asks through CustomerLookup
// (customer_lookup.hpp), which answers later; only a call carried over a
// restart reads its known customer back directly.
#include <cstdint>
#include <optional>
#include <string>

#include "ringside/core/model.hpp"

namespace ringside {

class CustomerContexts {
public:
    virtual ~CustomerContexts() = default;
    /// The customer owning this E.164 number with open issues and recent
    /// interactions (newest first, 5 each), in one indexed lookup.
    virtual std::optional<CustomerContext> customer_context_by_phone(const std::string& e164) = 0;
    virtual std::optional<CustomerContext> customer_context(std::int64_t customer_id) = 0;
};

}  // namespace ringside
