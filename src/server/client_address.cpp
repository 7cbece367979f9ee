#include "ringside/server/client_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "ringside/server/http_util.hpp"

namespace ringside::server {
namespace {

constexpr std::array<std::uint8_t, 12> v4_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/// Splits on `sep` outside double quotes.
std::vector<std::string_view> split_unquoted(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    bool quoted = false, escaped = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (escaped) escaped = false;
        else if (quoted && c == '\\') escaped = true;
        else if (c == '"') quoted = !quoted;
        else if (c == sep && !quoted) {
            out.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    out.push_back(s.substr(start));
    return out;
}

/// One hop as proxies write it: "192.0.2.7", "192.0.2.7:4711", "[2001:db8::1]:4711", "2001:db8::1".
std::optional<IpAddress> parse_hop(std::string_view v) {
    v = trim(v);
    if (v.starts_with('[')) {
        const auto close = v.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const auto rest = v.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':')) return std::nullopt;
        auto a = parse_ip(v.substr(1, close - 1));
        if (a && is_v4(*a)) return std::nullopt;  // "[192.0.2.7]" is not a form anybody writes
        return a;
    }
    if (std::count(v.begin(), v.end(), ':') == 1) {
        auto a = parse_ip(v.substr(0, v.find(':')));
        if (a && !is_v4(*a)) return std::nullopt;
        return a;
    }
    return parse_ip(v);
}

std::string unquote(std::string_view v) {
    v = trim(v);
    if (v.size() < 2 || v.front() != '"' || v.back() != '"') return std::string(v);
    std::string out;
    for (std::size_t i = 1; i + 1 < v.size(); ++i) {
        if (v[i] == '\\' && i + 2 < v.size()) ++i;
        out.push_back(v[i]);
    }
    return out;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (text.empty() || text.size() > 64) return std::nullopt;
    const std::string s(text);
    IpAddress a;
    unsigned char buf[16];
    if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
        std::copy(v4_prefix.begin(), v4_prefix.end(), a.bytes.begin());
        std::memcpy(a.bytes.data() + 12, buf, 4);
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
        std::memcpy(a.bytes.data(), buf, 16);
        return a;
    }
    return std::nullopt;
}

bool is_v4(const IpAddress& a) noexcept { return std::equal(v4_prefix.begin(), v4_prefix.end(), a.bytes.begin()); }

std::string to_string(const IpAddress& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (is_v4(a)) inet_ntop(AF_INET, a.bytes.data() + 12, buf, sizeof buf);
    else inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf);
    return buf;
}

bool is_loopback(const IpAddress& a) noexcept {
    if (is_v4(a)) return a.bytes[12] == 127;
    static constexpr IpAddress one{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
    return a == one;
}

bool AddressRange::contains(const IpAddress& a) const noexcept {
    const unsigned full = prefix / 8, rest = prefix % 8;
    if (!std::equal(network.bytes.begin(), network.bytes.begin() + full, a.bytes.begin())) return false;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a.bytes[full] & mask) == network.bytes[full];
}

std::optional<AddressRange> parse_address_range(std::string_view text) {
    const auto slash = text.find('/');
    auto a = parse_ip(text.substr(0, slash));
    if (!a) return std::nullopt;
    const unsigned family_bits = is_v4(*a) ? 32 : 128;
    unsigned bits = family_bits;
    if (slash != std::string_view::npos) {
        const auto p = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), bits);
        if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || bits > family_bits) return std::nullopt;
    }
    AddressRange r{*a, 128 - family_bits + bits};
    // Host bits set ("10.0.0.1/8") is most likely a typo for something narrower: refuse it.
    AddressRange cleared = r;
    for (unsigned i = r.prefix; i < 128; ++i) cleared.network.bytes[i / 8] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
    if (!(cleared.network == r.network)) return std::nullopt;
    return r;
}

std::vector<std::optional<IpAddress>> forwarded_for_hops(std::string_view forwarded) {
    std::vector<std::optional<IpAddress>> hops;
    for (auto element : split_unquoted(forwarded, ',')) {
        if (trim(element).empty()) continue;
        std::optional<IpAddress> hop;
        for (auto pair : split_unquoted(element, ';')) {
            const auto eq = pair.find('=');
            if (eq == std::string_view::npos || !iequals(trim(pair.substr(0, eq)), "for")) continue;
            hop = parse_hop(unquote(pair.substr(eq + 1)));
            break;
        }
        hops.push_back(hop);
    }
    return hops;
}

std::vector<std::optional<IpAddress>> x_forwarded_for_hops(std::string_view x_forwarded_for) {
    std::vector<std::optional<IpAddress>> hops;
    for (auto entry : split_unquoted(x_forwarded_for, ','))
        if (!trim(entry).empty()) hops.push_back(parse_hop(entry));
    return hops;
}

IpAddress client_address(const IpAddress& peer, const std::vector<AddressRange>& trusted,
                         std::string_view x_forwarded_for, std::string_view forwarded) {
    const auto is_trusted = [&](const IpAddress& a) {
        return std::any_of(trusted.begin(), trusted.end(), [&](const AddressRange& r) { return r.contains(a); });
    };
    if (!is_trusted(peer)) return peer;
    const auto hops = !trim(x_forwarded_for).empty() ? x_forwarded_for_hops(x_forwarded_for)
                                                     : forwarded_for_hops(forwarded);
    IpAddress current = peer;
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
        if (!*it) return current;
        current = **it;
        if (!is_trusted(current)) return current;
    }
    return current;
}

bool host_is_one_of(std::string_view host_header, const std::vector<std::string>& names) {
    std::string_view name = trim(host_header);
    if (name.starts_with('[')) {
        const auto close = name.find(']');
        if (close == std::string_view::npos) return false;
        const auto rest = name.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':')) return false;
        name = name.substr(1, close - 1);
    } else if (const auto colon = name.find(':'); colon != std::string_view::npos) {
        if (name.find(':', colon + 1) != std::string_view::npos) return false;  // IPv6 needs brackets in Host
        name = name.substr(0, colon);
    }
    if (name.empty()) return false;
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
        std::string_view want = n;
        if (want.size() >= 2 && want.front() == '[' && want.back() == ']') want = want.substr(1, want.size() - 2);
        return iequals(want, name);
    });
}

}  // namespace ringside::server
