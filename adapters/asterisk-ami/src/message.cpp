#include "ringside/ami/message.hpp"

namespace ringside::ami {

std::string_view Message::get(std::string_view key) const noexcept {
    for (const auto& f : fields)
        if (iequals(f.key, key)) return f.value;
    return {};
}

bool Message::has(std::string_view key) const noexcept {
    for (const auto& f : fields)
        if (iequals(f.key, key)) return true;
    return false;
}

std::vector<std::string_view> Message::get_all(std::string_view key) const {
    std::vector<std::string_view> out;
    for (const auto& f : fields)
        if (iequals(f.key, key)) out.emplace_back(f.value);
    return out;
}

std::string Message::serialize() const {
    std::string out;
    for (const auto& f : fields) {
        out += f.key;
        out += ": ";
        out += f.value;
        out += "\r\n";
    }
    out += "\r\n";
    return out;
}

}  // namespace ringside::ami
