#pragma once
// The engine's way to find a caller's customer without waiting for it.
//
// The engine asks, goes on with other calls' events, and carries on with
// this call's events, in their order, when the answer comes. With SQLite an
// answer takes about 50 us; with a networked database one slow query must
// not hold every other call's pop.
#include <functional>
#include <optional>
#include <string>

#include "ringside/core/model.hpp"
#include "ringside/core/ports/customer_contexts.hpp"

namespace ringside {

class CustomerLookup {
public:
    using Done = std::function<void(std::optional<CustomerContext>)>;
    virtual ~CustomerLookup() = default;
    /// The customer whose phone is `e164`, if any. Calls `done` exactly once:
    /// on the engine's own thread (strand), later; or before returning (an
    /// inline lookup). A lookup that fails answers nullopt.
    virtual void find_by_phone(const std::string& e164, Done done) = 0;
};

/// Asks the customer files on the caller's thread and answers before returning: the
/// engine then behaves as if lookups were synchronous (tools, tests).
class InlineLookup final : public CustomerLookup {
public:
    explicit InlineLookup(CustomerContexts& store) : store_(store) {}
    void find_by_phone(const std::string& e164, Done done) override { done(store_.customer_context_by_phone(e164)); }

private:
    CustomerContexts& store_;
};

}  // namespace ringside
