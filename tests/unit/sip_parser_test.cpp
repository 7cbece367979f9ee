// The SIP parser on the RFC 4475 torture tests and real stream captures:
// valid messages accepted, invalid ones rejected with a reason, every
// fixture split at every byte boundary, and the limits.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "fixture_file.hpp"
#include "ringside/sip/grammar.hpp"
#include "ringside/sip/parser.hpp"

using namespace ringside::sip;

namespace {

std::filesystem::path fixtures() { return std::filesystem::path(RINGSIDE_FIXTURES_DIR) / "sip"; }

// RFC 4475: 3.1.1 valid; 3.2 and 3.3 are syntactically valid (a UA answers
// them with 4xx on semantics, which is not the parser's job) except insuf,
// multi01 and mcl01, which the RFC says must be answered 400; 3.4 (inv2543)
// is valid.
const std::vector<std::string> valid = {
    "wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri", "transports",
    "mpart01", "unreason", "noreason", "badbranch", "unkscm", "novelsc", "unksm2", "bext01", "invut", "regaut01",
    "bcast", "zeromf", "cparam01", "cparam02", "regescrt", "sdp01", "inv2543"};
// 3.1.2 invalid, plus the three 400s of 3.3, plus test.dat (no version, a header line without a colon).
const std::map<std::string, std::string> invalid = {
    {"badinv01", "empty"},                 // Via ";;,;,," and Contact ";;;;"
    {"clerr", "Content-Length 9999"},       // larger than the datagram
    {"scalar02", "2**31-1"},               // CSeq out of range
    {"scalarlg", "2**31-1"},
    {"quotbal", "unterminated"},
    {"ltgtruri", "Request-URI"},
    {"lwsruri", "single spaces"},
    {"lwsstart", "single spaces"},
    {"trws", "single spaces"},
    {"escruri", "URI headers"},
    {"baddate", "GMT"},
    {"regbadct", "not enclosed"},
    {"badaspec", "whitespace inside <>"},
    {"baddn", "unquoted display name"},
    {"badvers", "version"},
    {"mismatch01", "does not match"},
    {"mismatch02", "does not match"},
    {"bigcode", "three digits"},
    {"ncl", "non-negative"},
    {"insuf", "missing"},
    {"multi01", "more than once"},
    {"mcl01", "more than once"},
    {"test", "colon"},
};

std::string fingerprint(const Item& item) {
    if (const auto* r = std::get_if<Rejected>(&item)) return "R" + std::to_string(static_cast<int>(r->error)) + r->detail;
    const auto& m = std::get<Message>(item);
    std::string s = "M" + m.start_line + "\n";
    for (const auto& h : m.headers) s += h.key + "=" + h.value + "\n";
    return s + "|" + m.body;
}

std::string drain(StreamParser& p) {
    std::string s;
    while (auto i = p.next()) s += fingerprint(*i) + "\x1e";
    return s;
}

/// Whole, then split in two at every byte boundary: the same items every time.
void check_every_split(const std::string& bytes) {
    StreamParser whole;
    CHECK(whole.put(bytes) == bytes.size());
    const auto expected = drain(whole);
    REQUIRE(!expected.empty());
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
        StreamParser p;
        std::string got;
        p.put(std::string_view(bytes).substr(0, cut));
        got += drain(p);
        p.put(std::string_view(bytes).substr(cut));
        got += drain(p);
        if (got != expected) FAIL("different items when split at byte " << cut);
    }
}

}  // namespace

TEST_CASE("every valid RFC 4475 message is accepted") {
    for (const auto& name : valid) {
        auto bytes = fixture_file::read_path(fixtures() / "rfc4475" / (name + ".dat"));
        auto item = parse_datagram(bytes);
        const auto* rej = std::get_if<Rejected>(&item);
        CHECK_MESSAGE(rej == nullptr, name << ": " << (rej ? rej->describe() : ""));
    }
}

TEST_CASE("every invalid RFC 4475 message is rejected with a reason that names the fault") {
    for (const auto& [name, words] : invalid) {
        auto bytes = fixture_file::read_path(fixtures() / "rfc4475" / (name + ".dat"));
        auto item = parse_datagram(bytes);
        const auto* rej = std::get_if<Rejected>(&item);
        REQUIRE_MESSAGE(rej != nullptr, name << " was accepted");
        CHECK_MESSAGE(rej->describe().find(words) != std::string::npos, name << ": " << rej->describe());
    }
}

TEST_CASE("every RFC 4475 fixture is classified") {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(fixtures() / "rfc4475")) {
        auto stem = e.path().stem().string();
        CHECK_MESSAGE((std::find(valid.begin(), valid.end(), stem) != valid.end() || invalid.count(stem)), stem);
        ++n;
    }
    CHECK(n == valid.size() + invalid.size());
}

TEST_CASE("torture messages read back the values the RFC describes") {
    auto ws = std::get<Message>(parse_datagram(fixture_file::read_path(fixtures() / "rfc4475" / "wsinv.dat")));
    CHECK(ws.method == "INVITE");
    CHECK(ws.get("cseq") == "0009 INVITE");
    auto vias = parse_via(ws.headers[0].key == "via" ? ws.headers[0].value : std::string(ws.get("via")));
    REQUIRE(vias);
    CHECK(vias->front().transport == "UDP");
    CHECK(ws.count("via") == 2);
    auto from = parse_name_addr(ws.get("from"));
    REQUIRE(from);
    CHECK(from->display == "J Rosenberg \\\"");
    CHECK(from->param("tag") == "98asjd8");
    auto m = std::get<Message>(parse_datagram(fixture_file::read_path(fixtures() / "rfc4475" / "esc01.dat")));
    CHECK(uri_user(std::string(parse_name_addr(m.get("to"))->uri)) == "user");
    auto dbl = std::get<Message>(parse_datagram(fixture_file::read_path(fixtures() / "rfc4475" / "dblreq.dat")));
    CHECK(dbl.method == "REGISTER");  // the INVITE after Content-Length is ignored (RFC 3261 18.3)
    CHECK(dbl.body.empty());
    auto noreason = std::get<Message>(parse_datagram(fixture_file::read_path(fixtures() / "rfc4475" / "noreason.dat")));
    CHECK(noreason.status == 100);
    CHECK(noreason.reason.empty());
}

TEST_CASE("every RFC 4475 message read as a stream gives the same item at every split") {
    for (const auto& e : std::filesystem::directory_iterator(fixtures() / "rfc4475")) {
        auto stem = e.path().stem().string();
        if (stem == "clerr") continue;  // Content-Length beyond the bytes: on a stream, it waits for more
        CAPTURE(stem);
        check_every_split(fixture_file::read_path(e.path()));
    }
}

TEST_CASE("the stream captures frame into every message, at every split") {
    for (auto name : {"generic.txt", "lioneagle-sipparser.txt"}) {
        CAPTURE(name);
        auto bytes = fixture_file::read_path(fixtures() / "stream" / name);
        StreamParser p;
        p.put(bytes);
        std::size_t messages = 0, rejected = 0;
        while (auto i = p.next()) {
            if (auto* r = std::get_if<Rejected>(&*i)) {
                // generic.txt quotes RFC 5626's examples, which leave Via out for brevity.
                CHECK(r->describe() == "invalid header: the via header is missing");
                ++rejected;
            } else {
                ++messages;
            }
        }
        CHECK(!p.failed());
        CHECK(p.buffered() == 0);
        CHECK(messages > 10);
        CHECK(rejected == (std::string(name) == "generic.txt" ? 11u : 0u));
    }
}

// One byte per put() makes every byte boundary a split point in a single pass.
TEST_CASE("the stream captures fed in small reads (one byte each, and more) give the same items") {
  for (auto name : {"generic.txt", "lioneagle-sipparser.txt"}) {
    CAPTURE(name);
    auto bytes = fixture_file::read_path(fixtures() / "stream" / name);
    StreamParser whole;
    whole.put(bytes);
    auto expected = drain(whole);
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u, 1000u}) {
        StreamParser p;
        std::string got;
        for (std::size_t i = 0; i < bytes.size(); i += chunk) {
            p.put(std::string_view(bytes).substr(i, chunk));
            got += drain(p);
        }
        CHECK_MESSAGE(got == expected, "chunk " << chunk);
    }
  }
}

TEST_CASE("CRLF keep-alives between stream messages are skipped") {
    std::string msg = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n"
                      "To: <sip:a@b>\r\nCall-ID: k\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    StreamParser p;
    p.put("\r\n\r\n" + msg + "\r\n\r\n\r\n" + msg);
    int n = 0;
    while (auto i = p.next()) {
        CHECK(std::holds_alternative<Message>(*i));
        ++n;
    }
    CHECK(n == 2);
}

TEST_CASE("limits: a line, the header count and the message size each fail with their own error") {
    ParserLimits l;
    l.max_line = 100;
    l.max_headers = 5;
    l.max_message = 1000;
    {
        StreamParser p(l);
        p.put("INVITE sip:a@b SIP/2.0\r\nSubject: " + std::string(200, 'x'));
        auto i = p.next();
        REQUIRE(i);
        CHECK(std::get<Rejected>(*i).error == ParseError::line_too_long);
        CHECK(p.failed());
        CHECK(p.put("more") == 0);
    }
    {
        std::string m = "OPTIONS sip:a@b SIP/2.0\r\n";
        for (int i = 0; i < 6; ++i) m += "X-H: v\r\n";
        auto item = parse_datagram(m + "\r\n", l);
        CHECK(std::get<Rejected>(item).error == ParseError::too_many_headers);
    }
    {
        StreamParser p(l);
        p.put("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n");
        CHECK(std::get<Rejected>(*p.next()).error == ParseError::message_too_large);
    }
    {
        StreamParser p(l);
        std::string m = "OPTIONS sip:a@b SIP/2.0\r\n";
        for (int i = 0; i < 30; ++i) m += "X: " + std::string(50, 'y') + "\r\n";
        p.put(m);
        CHECK(std::get<Rejected>(*p.next()).error == ParseError::message_too_large);
    }
    CHECK(std::get<Rejected>(parse_datagram(std::string(2000, 'a'), l)).error == ParseError::message_too_large);
}

TEST_CASE("a folded header longer than the line limit is refused") {
    ParserLimits l;
    l.max_line = 100;
    std::string m = "OPTIONS sip:a@b SIP/2.0\r\nSubject: a\r\n";
    for (int i = 0; i < 5; ++i) m += " " + std::string(40, 'z') + "\r\n";
    CHECK(std::get<Rejected>(parse_datagram(m + "\r\n", l)).error == ParseError::line_too_long);
}

TEST_CASE("a too-long line before the last one is refused whatever the split (fuzzer regression)") {
    ParserLimits l;
    l.max_line = 256;
    std::string bytes = "REGISTER sip:x " + std::string(300, '%') + "\r\nContent-Length: 0";
    StreamParser whole(l);
    whole.put(bytes);
    REQUIRE(whole.failed());
    CHECK(std::get<Rejected>(*whole.next()).error == ParseError::line_too_long);
    StreamParser split(l);
    for (std::size_t i = 0; i < bytes.size(); i += 19) split.put(std::string_view(bytes).substr(i, 19));
    CHECK(split.failed());
}

TEST_CASE("a line of exactly the limit is accepted when its CR and LF arrive apart (fuzzer regression)") {
    ParserLimits l;
    l.max_line = 64;
    const std::string start = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
                              "From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: k\r\nCSeq: 1 OPTIONS\r\n";
    const std::string line = "Subject: " + std::string(64 - 9, 's');  // 64 bytes
    StreamParser p(l);
    p.put(start + line + "\r");
    CHECK_FALSE(p.failed());
    p.put("\nContent-Length: 0\r\n\r\n");
    CHECK_FALSE(p.failed());
    auto item = p.next();
    REQUIRE(item);
    REQUIRE(std::holds_alternative<Message>(*item));
    CHECK(std::get<Message>(*item).headers.size() == 7);
    // One byte more is still too long, wherever the split falls.
    StreamParser longer(l);
    longer.put(start + line + "s\r");
    CHECK(longer.failed());
}
