#pragma once
// One AMI message: the `Key: Value` lines up to a blank line. Keys compare
// case-insensitively and may repeat (ChanVariable, Variable), so fields are
// kept in wire order.
#include <string>
#include <string_view>
#include <vector>

#include "ringside/core/ascii.hpp"

namespace ringside::ami {

struct Field {
    std::string key;
    std::string value;
};

struct Message {
    std::vector<Field> fields;

    /// First value of key (case-insensitive), "" when absent.
    std::string_view get(std::string_view key) const noexcept;
    bool has(std::string_view key) const noexcept;
    /// Every value of a repeated key, in order.
    std::vector<std::string_view> get_all(std::string_view key) const;
    /// The Event header, "" for responses.
    std::string_view event() const noexcept { return get("Event"); }
    bool is_event() const noexcept { return has("Event"); }
    bool is_response() const noexcept { return has("Response"); }
    /// "Key: Value\r\n" lines and the closing blank line.
    std::string serialize() const;
};

using ringside::iequals;

}  // namespace ringside::ami
