#pragma once
// A value wrapper that keeps ids of different kinds from being mixed up
// (a CallId is never passed where an Extension is expected).
#include <compare>
#include <functional>
#include <ostream>
#include <string>
#include <utility>

namespace ringside {

template <class T, class Tag>
class StrongTypedef {
public:
    using value_type = T;
    StrongTypedef() = default;
    explicit StrongTypedef(T v) : v_(std::move(v)) {}
    const T& value() const noexcept { return v_; }
    T& value() noexcept { return v_; }
    friend auto operator<=>(const StrongTypedef&, const StrongTypedef&) = default;
    friend bool operator==(const StrongTypedef&, const StrongTypedef&) = default;
    friend std::ostream& operator<<(std::ostream& os, const StrongTypedef& s) { return os << s.v_; }

private:
    T v_{};
};

/// Stable id of one call across all its legs, unique across PBXs: "<pbx>-<linkedid>".
using CallId = StrongTypedef<std::string, struct CallIdTag>;
/// Id of a configured PBX connection, [a-z0-9-]+.
using PbxId = StrongTypedef<std::string, struct PbxIdTag>;
/// An agent's phone extension as the PBX names the device ("1001" for SIP/1001-0000001a).
using Extension = StrongTypedef<std::string, struct ExtensionTag>;
/// An agent's username (the login name, unique).
using AgentId = StrongTypedef<std::string, struct AgentIdTag>;

}  // namespace ringside

template <class T, class Tag>
struct std::hash<ringside::StrongTypedef<T, Tag>> {
    size_t operator()(const ringside::StrongTypedef<T, Tag>& s) const noexcept { return std::hash<T>{}(s.value()); }
};
