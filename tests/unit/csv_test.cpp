#include <doctest/doctest.h>

#include "ringside/core/csv.hpp"

using namespace ringside;

TEST_CASE("csv rows keep quoted commas, doubled quotes and newlines inside quotes") {
    auto rows = csv::parse("name,notes\r\n\"Ahmadi, Sara\",\"said \"\"hi\"\"\nthen left\"\r\nBob,\n");
    REQUIRE(rows.size() == 3);
    CHECK(rows[1][0] == "Ahmadi, Sara");
    CHECK(rows[1][1] == "said \"hi\"\nthen left");
    CHECK(rows[2][0] == "Bob");
    CHECK(rows[2][1] == "");
}

TEST_CASE("csv skips a byte order mark and blank lines") {
    auto rows = csv::parse("\xEF\xBB\xBFname\n\nSara\n");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0][0] == "name");
}

TEST_CASE("csv reports a quote that is never closed") {
    std::string err;
    csv::parse("name\n\"open\n", &err);
    CHECK(err.find("row 2") != std::string::npos);
}

TEST_CASE("csv escaping quotes what needs it and defuses spreadsheet formulas") {
    CHECK(csv::escape("plain") == "plain");
    CHECK(csv::escape("a,b") == "\"a,b\"");
    CHECK(csv::escape("say \"x\"") == "\"say \"\"x\"\"\"");
    CHECK(csv::escape("=HYPERLINK(1)") == "'=HYPERLINK(1)");
    CHECK(csv::escape("+989121234567") == "+989121234567");
    CHECK(csv::escape("خانم احمدی") == "خانم احمدی");
}
