#pragma once
// Who a request came from when proxies stand in front: the peer of the TCP
// connection, unless that peer is a trusted proxy; then the forwarding
// header it wrote. Pure functions on text, testable without sockets.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringside::server {

/// An IPv4 or IPv6 address as 16 bytes; IPv4 as IPv4-mapped IPv6
/// (::ffff:a.b.c.d), so that "127.0.0.1" and "::ffff:127.0.0.1" are one address.
struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};
    bool operator==(const IpAddress&) const = default;
};

/// "192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7"; nullopt for anything else
/// (no port, no brackets, no zone).
std::optional<IpAddress> parse_ip(std::string_view text);
/// An IPv4(-mapped) address as dotted quad, others in RFC 5952 form.
std::string to_string(const IpAddress& a);
bool is_v4(const IpAddress& a) noexcept;
/// 127.0.0.0/8 and ::1.
bool is_loopback(const IpAddress& a) noexcept;

/// An address or a CIDR block: "127.0.0.1", "10.0.0.0/8", "fd00::/8".
struct AddressRange {
    IpAddress network;      // host bits cleared
    unsigned prefix = 128;  // over the 128 bits of IpAddress (an IPv4 /24 is 96 + 24)
    bool contains(const IpAddress& a) const noexcept;
};
/// nullopt when not an address, the prefix is not a number within the
/// family's bits (0-32, 0-128), or host bits are set ("10.0.0.1/8").
std::optional<AddressRange> parse_address_range(std::string_view text);

/// The client of a request that reached us from `peer`. When `peer` is in
/// `trusted`, the hops of `x_forwarded_for` (when not empty), else of
/// `forwarded` (RFC 7239 `for=`), are read from the right: the first that is
/// not itself trusted is the client. A hop that is not an address
/// ("unknown", an obfuscated name, garbage) stops the walk at the last
/// trusted hop. A peer that is not trusted is the client whatever it sent.
/// Each header is all of its instances joined by ", ".
IpAddress client_address(const IpAddress& peer, const std::vector<AddressRange>& trusted,
                         std::string_view x_forwarded_for, std::string_view forwarded);

/// The `for=` values of a Forwarded header, left to right, each an address
/// (port and brackets dropped) or nullopt when unusable. Exposed for tests.
std::vector<std::optional<IpAddress>> forwarded_for_hops(std::string_view forwarded);
/// The entries of an X-Forwarded-For header, as forwarded_for_hops.
std::vector<std::optional<IpAddress>> x_forwarded_for_hops(std::string_view x_forwarded_for);

/// True when the host of a Host header ("name", "name:port", "[v6]:port")
/// is one of `names` (ASCII case ignored; IPv6 compared without brackets).
bool host_is_one_of(std::string_view host_header, const std::vector<std::string>& names);

}  // namespace ringside::server
