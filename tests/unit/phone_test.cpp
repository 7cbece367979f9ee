#include <doctest/doctest.h>

#include <stdexcept>

#include "ringside/core/phone.hpp"

using namespace ringside;

namespace {

std::string e164(const PhoneNormalizer& n, std::string_view raw) {
    auto p = n.normalize(raw);
    return p ? p->e164() : "<none>";
}

}  // namespace

TEST_CASE("an Iranian mobile number in every common written form becomes one E.164 number") {
    PhoneNormalizer ir("IR");
    for (const char* raw : {"09121234567", "0912 123 4567", "+98 912 123 4567", "00989121234567",
                            "۰۹۱۲۱۲۳۴۵۶۷", "٠٩١٢١٢٣٤٥٦٧", "(0912) 123-4567", "0912.123.4567", "+۹۸۹۱۲۱۲۳۴۵۶۷"}) {
        CAPTURE(raw);
        CHECK(e164(ir, raw) == "+989121234567");
    }
}

TEST_CASE("the default region decides national numbers; international ones keep their country") {
    PhoneNormalizer nl("NL");
    CHECK(e164(nl, "+31 20 123 4567") == "+31201234567");
    CHECK(e164(nl, "020 1234567") == "+31201234567");
    CHECK(e164(nl, "0031 20 123 4567") == "+31201234567");
    CHECK(e164(nl, "+98 912 123 4567") == "+989121234567");

    PhoneNormalizer gb("GB");
    CHECK(e164(gb, "020 7946 0000") == "+442079460000");
    CHECK(e164(gb, "00 44 20 7946 0000") == "+442079460000");

    // The US dials 011 abroad; a caller id starting with 00 is still read as international.
    PhoneNormalizer us("US");
    CHECK(e164(us, "011 98 912 123 4567") == "+989121234567");
    CHECK(e164(us, "00989121234567") == "+989121234567");
}

TEST_CASE("extensions, anonymous callers and junk are not phone numbers") {
    PhoneNormalizer ir("IR");
    for (const char* raw : {"1001", "100", "", "anonymous", "Anonymous", "unknown", "<unknown>", "+", "00", "abc",
                            "SIP/1001-0000001a"}) {
        CAPTURE(raw);
        CHECK_FALSE(ir.normalize(raw));
    }
    CHECK_FALSE(ir.normalize(std::string(65, '1')));  // longer than any caller id
    CHECK_FALSE(ir.normalize(std::string("0912\0001234567", 12)));
}

TEST_CASE("letters are never read as keypad digits: a masked or vanity number is not a number") {
    PhoneNormalizer nl("NL");
    for (const char* raw : {"+31260xxxxxx", "+31260XXXXXX", "0260 xxx xxx", "0800-FLOWERS", "+31 20 123 456a",
                            "+98912123456x7"}) {
        CAPTURE(raw);
        CHECK_FALSE(nl.normalize(raw));
    }
    CHECK(nl.normalize("+31 20 123 4567"));  // the same shape with digits is one
}

TEST_CASE("every withheld or masked caller id text is recognised as withheld") {
    for (const char* raw : {"", " ", "anonymous", "Anonymous", "ANONYMOUS", "Restricted", "restricted", "unknown",
                            "Unknown", "<unknown>", "<Unknown>", "private", "Unavailable", "withheld",
                            "+31260xxxxxx", "+31260XXXXXX", "xxxxxx", "0912 XXX XXXX", "(020) 12x-xx56",
                            "anonymous@anonymous.invalid", "sip:anonymous@anonymous.invalid", "sip:foo@anonymous.invalid"}) {
        CAPTURE(raw);
        CHECK(is_withheld_number(raw));
    }
    for (const char* raw : {"+31201234567", "09121234567", "1001", "0800-FLOWERS", "abc", "x-ray", "+3126012345y"}) {
        CAPTURE(raw);
        CHECK_FALSE(is_withheld_number(raw));
    }
}

TEST_CASE("an unknown region is refused when the normaliser is made") {
    CHECK_THROWS_AS(PhoneNormalizer("XX"), std::invalid_argument);
    CHECK_THROWS_AS(PhoneNormalizer(""), std::invalid_argument);
    CHECK(PhoneNormalizer("ir").default_region() == "IR");
}

TEST_CASE("fold_digits turns Persian and Arabic-Indic digits into Latin ones and keeps the rest") {
    CHECK(fold_digits("۰۱۲۳۴۵۶۷۸۹") == "0123456789");
    CHECK(fold_digits("٠١٢٣٤٥٦٧٨٩") == "0123456789");
    CHECK(fold_digits("تلفن: ۰۹۱۲-abc") == "تلفن: 0912-abc");
    CHECK(fold_digits("") == "");
    CHECK(fold_digits("\xDB") == "\xDB");  // a truncated sequence is kept as it is
}
