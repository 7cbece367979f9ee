#pragma once
#include <string>
#include <string_view>

namespace ringside {

/// Replaces every Luhn-valid run of 13 to 19 digits (spaces or dashes allowed
/// between digits) with its mask, keeping the last four: "**** **** **** 1111".
/// Text that is not a card number is returned unchanged.
std::string mask_card_numbers(std::string_view text);

}  // namespace ringside
