#pragma once
// Caller numbers normalised to E.164 with libphonenumber. A PhoneNumber can
// only be made by a PhoneNormalizer, so holding one means it is normalised.
#include <optional>
#include <string>
#include <string_view>

#include "ringside/core/withheld.hpp"  // is_withheld_number: never a number

namespace ringside {

class PhoneNumber {
public:
    const std::string& e164() const noexcept { return e164_; }
    friend bool operator==(const PhoneNumber&, const PhoneNumber&) = default;

private:
    friend class PhoneNormalizer;
    explicit PhoneNumber(std::string e164) : e164_(std::move(e164)) {}
    std::string e164_;
};

class PhoneNormalizer {
public:
    /// region: ISO 3166-1 alpha-2 ("IR"); throws std::invalid_argument if libphonenumber does not know it.
    explicit PhoneNormalizer(std::string default_region);
    /// Accepts national formats ("0912 123 4567"), "00" and "+" international prefixes,
    /// spaces, dashes, dots and brackets, and Persian (U+06F0..) and Arabic-Indic (U+0660..)
    /// digits. nullopt when the input is not a possible number (internal extensions,
    /// "anonymous", empty), and for any input with a Latin letter in it: a
    /// masked "+31260xxxxxx" or a vanity "0800-FLOWERS" is never turned into
    /// keypad digits, so it can never match a real customer's number.
    /// Withheld callers (is_withheld_number) are never numbers.
    std::optional<PhoneNumber> normalize(std::string_view raw) const;
    const std::string& default_region() const noexcept { return region_; }

private:
    std::string region_;
};


/// Latin digits for Persian and Arabic-Indic ones; everything else kept as is.
std::string fold_digits(std::string_view utf8);

}  // namespace ringside
