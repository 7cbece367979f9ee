#include "ringside/core/errors.hpp"

namespace ringside {
namespace {

struct DomainCategory final : std::error_category {
    const char* name() const noexcept override { return "ringside.domain"; }
    std::string message(int ev) const override {
        switch (static_cast<DomainError>(ev)) {
            case DomainError::invalid_argument: return "invalid argument";
            case DomainError::unauthenticated: return "not signed in";
            case DomainError::forbidden: return "not allowed for this role";
            case DomainError::not_found: return "not found";
            case DomainError::conflict: return "already exists";
            case DomainError::rate_limited: return "too many attempts";
        }
        return "unknown domain error";
    }
};

}  // namespace

const std::error_category& domain_category() noexcept {
    static const DomainCategory cat;
    return cat;
}

}  // namespace ringside
