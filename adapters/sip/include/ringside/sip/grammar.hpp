#pragma once
// The parts of the RFC 3261 header grammar Ringside reads: name-addr /
// addr-spec with parameters (To, From, Contact, P-Asserted-Identity,
// Remote-Party-ID, Diversion, History-Info), Via, CSeq, and the checks that
// decide whether a framed message is acceptable (RFC 4475 section 3.1.2).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringside/sip/message.hpp"

namespace ringside::sip {

struct NameAddr {
    std::string display;   // unquoted, escapes removed; "" when none
    std::string uri;       // "sip:1001@pbx.example.com;user=phone" (inside <> when bracketed)
    bool bracketed = false;
    std::vector<std::pair<std::string, std::string>> params;  // header params after the address, lower-case names
    std::optional<std::string> param(std::string_view name) const;
};

/// Parses one name-addr or addr-spec with its parameters. nullopt with *error
/// set when it breaks the grammar (unbalanced quote, space inside <>, an
/// unquoted display name with separators, an empty parameter...).
std::optional<NameAddr> parse_name_addr(std::string_view value, std::string* error = nullptr);
/// A comma-separated list of them (Contact, P-Asserted-Identity, Diversion,
/// History-Info). Commas inside quotes and <> do not split.
std::optional<std::vector<NameAddr>> parse_name_addr_list(std::string_view value, std::string* error = nullptr);

/// Splits at commas outside quotes and angle brackets; pieces trimmed.
std::vector<std::string_view> split_list(std::string_view value);

struct CSeq {
    std::uint32_t number = 0;  // 0 .. 2^31-1
    std::string method;
};
std::optional<CSeq> parse_cseq(std::string_view value, std::string* error = nullptr);

struct Via {
    std::string transport;  // "UDP", "TCP", ...
    std::string sent_by;    // "host[:port]"
    std::vector<std::pair<std::string, std::string>> params;  // lower-case names
    std::optional<std::string> param(std::string_view name) const;
};
std::optional<std::vector<Via>> parse_via(std::string_view value, std::string* error = nullptr);

/// The user part of a sip:, sips: or tel: URI, %-decoded: "sip:1001@pbx" ->
/// "1001", "tel:+98912;phone-context=x" -> "+98912". "" when there is none.
std::string uri_user(std::string_view uri);
/// The host[:port] part of a sip:/sips: URI ("" when none).
std::string uri_host(std::string_view uri);

/// The reason a complete message must be rejected, or nullopt when it is
/// acceptable: start line, mandatory headers, single-valued headers, CSeq,
/// Max-Forwards, Via, To/From/Contact, Date.
std::optional<std::string> check_message(const Message& m);

/// The header's token characters (RFC 3261 25.1 "token").
bool is_token_char(char c) noexcept;

}  // namespace ringside::sip
