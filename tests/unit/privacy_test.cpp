#include <doctest/doctest.h>

#include "ringside/core/privacy.hpp"

using namespace ringside;

TEST_CASE("a card number is masked but for its last four digits, keeping its separators") {
    CHECK(mask_card_numbers("4111 1111 1111 1111") == "**** **** **** 1111");
    CHECK(mask_card_numbers("card 4111-1111-1111-1111 ok") == "card ****-****-****-1111 ok");
    CHECK(mask_card_numbers("4111111111111111") == "************1111");
    CHECK(mask_card_numbers("amex 378282246310005.") == "amex ***********0005.");
    CHECK(mask_card_numbers("6011 1111 1111 1117") == "**** **** **** 1117");
    CHECK(mask_card_numbers("6011111111111111110") == "***************1110");  // 19 digits
}

TEST_CASE("digit runs that fail the Luhn check are left alone") {
    CHECK(mask_card_numbers("4111 1111 1111 1112") == "4111 1111 1111 1112");
    CHECK(mask_card_numbers("order 2024-000123456788") == "order 2024-000123456788");
    CHECK(mask_card_numbers("call +98 912 123 4567 back") == "call +98 912 123 4567 back");
    CHECK(mask_card_numbers("") == "");
    CHECK(mask_card_numbers("no digits here") == "no digits here");
}

TEST_CASE("runs shorter than 13 or longer than 19 digits are not cards") {
    CHECK(mask_card_numbers("424242424242") == "424242424242");               // 12 digits
    CHECK(mask_card_numbers("42424242424242424242") == "42424242424242424242");  // 20 digits, one group
}

TEST_CASE("a card next to a phone number is found inside the longer run") {
    CHECK(mask_card_numbers("0912 123 4567 4111 1111 1111 1111") == "0912 123 4567 **** **** **** 1111");
    CHECK(mask_card_numbers("4111 1111 1111 1111 and 5555 5555 5555 4444") ==
          "**** **** **** 1111 and **** **** **** 4444");
}

TEST_CASE("two separators in a row or other punctuation break a run") {
    CHECK(mask_card_numbers("4111  1111  1111  1111") == "4111  1111  1111  1111");
    CHECK(mask_card_numbers("4111.1111.1111.1111") == "4111.1111.1111.1111");
}

TEST_CASE("masking is idempotent and text in any script around it survives") {
    const std::string once = mask_card_numbers("کارت ۱۲ 4111 1111 1111 1111 پرداخت");
    CHECK(once == "کارت ۱۲ **** **** **** 1111 پرداخت");
    CHECK(mask_card_numbers(once) == once);
}

TEST_CASE("a long run of tiny digit groups is handled in linear time") {
    std::string s;
    for (int i = 0; i < 200000; ++i) s += "1 ";
    CHECK(mask_card_numbers(s).size() == s.size());
}
