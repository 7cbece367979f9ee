#include "ringside/ami/message.hpp"

namespace ringside::ami {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

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
