#pragma once
// Expected failures of domain operations. One function maps them to HTTP
// (server/http_errors.cpp); nothing else decides a status code.
#include <string>
#include <system_error>

namespace ringside {

enum class DomainError {
    invalid_argument = 1,  // a field is missing, of the wrong type or out of range
    unauthenticated,       // no or expired credentials
    forbidden,             // authenticated, wrong role or not your record
    not_found,
    conflict,              // unique key taken (username, phone)
    rate_limited,
};

const std::error_category& domain_category() noexcept;
inline std::error_code make_error_code(DomainError e) noexcept { return {static_cast<int>(e), domain_category()}; }

/// An expected failure with the sentence a user reads.
struct Failure {
    DomainError code;
    std::string message;   // "field 'name' must be a non-empty string"
};

/// Result type for expected failures: holds a T or a Failure.
template <class T>
class Result {
public:
    Result(T v) : ok_(true), value_(std::move(v)) {}
    Result(Failure f) : ok_(false), failure_(std::move(f)) {}
    explicit operator bool() const noexcept { return ok_; }
    T& value() { return value_; }
    const T& value() const { return value_; }
    const Failure& failure() const { return failure_; }

private:
    bool ok_;
    T value_{};
    Failure failure_{};
};

}  // namespace ringside

template <>
struct std::is_error_code_enum<ringside::DomainError> : std::true_type {};
