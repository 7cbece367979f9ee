#include "ringside/core/phone.hpp"

#include <stdexcept>
#include <string>

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

namespace ringside {
namespace {

using LpnNumber = i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// Longer than any dialable number with formatting; a caller id beyond this is
// junk from the PBX and is not worth handing to libphonenumber.
constexpr std::size_t max_raw_bytes = 64;
// Fewer national digits than this is an internal extension or a short code,
// never an external caller, whatever the region's plan allows.
constexpr std::size_t min_national_digits = 6;

bool is_latin_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

const PhoneNumberUtil& util() {
    // GetInstance is thread-safe and the instance immutable after creation.
    return *PhoneNumberUtil::GetInstance();
}

std::optional<std::string> try_parse(const std::string& text, const std::string& region) {
    LpnNumber number;
    if (util().Parse(text, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return std::nullopt;
    std::string national;
    util().GetNationalSignificantNumber(number, &national);
    if (national.size() < min_national_digits) return std::nullopt;
    if (!util().IsPossibleNumber(number)) return std::nullopt;
    std::string e164;
    util().Format(number, PhoneNumberUtil::E164, &e164);
    return e164;
}

}  // namespace

std::string fold_digits(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        // Both digit sets are two-byte sequences: U+0660..U+0669 = D9 A0..D9 A9,
        // U+06F0..U+06F9 = DB B0..DB B9.
        if (i + 1 < s.size()) {
            auto b0 = static_cast<unsigned char>(s[i]);
            auto b1 = static_cast<unsigned char>(s[i + 1]);
            if (b0 == 0xD9 && b1 >= 0xA0 && b1 <= 0xA9) {
                out.push_back(static_cast<char>('0' + (b1 - 0xA0)));
                ++i;
                continue;
            }
            if (b0 == 0xDB && b1 >= 0xB0 && b1 <= 0xB9) {
                out.push_back(static_cast<char>('0' + (b1 - 0xB0)));
                ++i;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

PhoneNormalizer::PhoneNormalizer(std::string default_region) : region_(std::move(default_region)) {
    // Config files say "ir" as often as "IR"; libphonenumber only knows upper case.
    for (char& c : region_)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (util().GetCountryCodeForRegion(region_) == 0)
        throw std::invalid_argument("unknown phone region '" + region_ + "' (expected an ISO 3166-1 code such as IR)");
}

std::optional<PhoneNumber> PhoneNormalizer::normalize(std::string_view raw) const {
    if (raw.empty() || raw.size() > max_raw_bytes) return std::nullopt;
    // libphonenumber reads letters as keypad digits ("+31260xxxxxx" would be
    // +31260999999, a number nobody dialled): a caller id with a letter is
    // not a number.
    for (char c : raw)
        if (is_latin_letter(c)) return std::nullopt;
    std::string text = fold_digits(raw);
    if (auto e164 = try_parse(text, region_)) return PhoneNumber{std::move(*e164)};
    // "00" is the international prefix in most of the world but not in every
    // region (the US dials 011); a caller id that starts with it and is not a
    // national number is read as international.
    auto first = text.find_first_not_of(" \t");
    if (first != std::string::npos && text.compare(first, 2, "00") == 0) {
        std::string intl = "+" + text.substr(first + 2);
        if (auto e164 = try_parse(intl, region_)) return PhoneNumber{std::move(*e164)};
    }
    return std::nullopt;
}

}  // namespace ringside
