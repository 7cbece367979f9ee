// The ESL reader on real FreeSWITCH bytes, every fixture split at every byte
// boundary, plus the limits and the resync after garbage.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <variant>
#include <vector>

#include "esl_fixtures.hpp"
#include "ringside/esl/reader.hpp"

using namespace ringside::esl;

namespace {

std::vector<ReaderItem> read_all(std::string_view bytes, ReaderLimits limits = {}) {
    Reader r(limits);
    CHECK(r.put(bytes) == bytes.size());
    std::vector<ReaderItem> v;
    while (auto i = r.next()) v.push_back(std::move(*i));
    return v;
}

/// What a reader produced, as one comparable string.
std::string fingerprint(Reader& r) {
    std::string s;
    while (auto item = r.next()) {
        if (auto* m = std::get_if<Message>(&*item)) {
            s += "M{";
            for (const auto& h : m->headers.items) s += h.name + "=" + h.value + ";";
            s += "|" + m->body;
            if (m->event) {
                s += "|E{";
                for (const auto& h : m->event->headers.items) s += h.name + "=" + h.value + ";";
                s += "|" + m->event->body + "}";
            }
            s += "}";
        } else {
            s += "ERR" + std::to_string(static_cast<int>(std::get<ReadError>(*item).which));
        }
    }
    return s;
}

/// Reads `bytes` whole, then split in two at every byte boundary: same items every time.
void check_every_split(const std::string& bytes) {
    Reader whole;
    whole.put(bytes);
    const auto expected = fingerprint(whole);
    REQUIRE(!expected.empty());
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
        Reader r;
        std::string got;
        r.put(std::string_view(bytes).substr(0, cut));
        got += fingerprint(r);
        r.put(std::string_view(bytes).substr(cut));
        got += fingerprint(r);
        if (got != expected) {
            FAIL("different items when split at byte " << cut);
        }
    }
    Reader bytewise;
    std::string got;
    for (char c : bytes) {
        bytewise.put(std::string_view(&c, 1));
        got += fingerprint(bytewise);
    }
    CHECK(got == expected);
}

const Message& msg(const std::vector<ReaderItem>& v, std::size_t i) { return std::get<Message>(v.at(i)); }

}  // namespace

TEST_CASE("a raw FreeSWITCH 1.5 session reads as auth request, replies, api response and six events") {
    const auto bytes = esl_fixtures::read("neventsocket/issue_20_log.txt");
    REQUIRE(!bytes.empty());
    auto items = read_all(bytes);
    REQUIRE(items.size() == 10);
    CHECK(msg(items, 0).content_type() == "auth/request");
    CHECK(msg(items, 1).reply_text() == "+OK accepted");
    CHECK(msg(items, 2).content_type() == "api/response");
    CHECK(msg(items, 2).body.size() == 328);
    // The next block starts right after the body, with no blank line: framing by length only.
    CHECK(msg(items, 2).body.ends_with("min idle cpu 0.00/100.00\n"));
    CHECK(msg(items, 3).reply_text() == "+OK event listener enabled plain");
    for (std::size_t i = 4; i < 10; ++i) {
        REQUIRE(msg(items, i).event);
        CHECK(!msg(items, i).event->name().empty());
    }
    const auto& ev = *msg(items, 4).event;
    CHECK(ev.name() == "CHANNEL_EXECUTE_COMPLETE");
    // %-decoded after framing, not before.
    CHECK(ev.get("Channel-Name") == "sofia/internal/001@infomediavoip.voco.si");
    CHECK(ev.get("Caller-Caller-ID-Name") == "Gregor stacionarni");
    CHECK(ev.get("Event-Date-Local") == "2015-08-13 10:52:52");
    CHECK(ev.get("Channel-Call-UUID") == "9559167d-66b1-447e-8642-ece9310e5fec");
}

TEST_CASE("the raw FreeSWITCH session gives the same items split at every byte boundary") {
    check_every_split(esl_fixtures::read("neventsocket/issue_20_log.txt"));
}

TEST_CASE("captured NEventSocket messages read the same at every split, bodies inside bodies included") {
    auto messages = esl_fixtures::cs_messages();
    REQUIRE(messages.size() == 6);
    std::string all;
    for (const auto& [name, text] : messages) {
        CAPTURE(name);
        check_every_split(text);
        all += text;
    }
    auto items = read_all(all);
    REQUIRE(items.size() == 6);
    // ConnectEvent (outbound mode): a bodiless block; its Reply-Text stays encoded (outer values are raw).
    CHECK(msg(items, 0).headers.get("Event-Name") == "CHANNEL_DATA");
    CHECK(msg(items, 0).reply_text() == "%2BOK%0A");
    const auto& cs = *msg(items, 1).event;
    CHECK(cs.name() == "CHANNEL_CALLSTATE");
    CHECK(cs.get("Caller-Caller-ID-Name") == "Helmut Kuper");
    CHECK(cs.get("Channel-Name") == "sofia/internal_et/8000@sipdomain.de");
    CHECK(cs.get("FreeSWITCH-IPv6") == "::1");
    const auto& job = *msg(items, 2).event;
    CHECK(job.name() == "BACKGROUND_JOB");
    CHECK(job.get("Job-Command-Arg") == "sofia/default/1005 '&park'");
    CHECK(job.body == "+OK 7f4de4bc-17d7-11dd-b7a0-db4edd065621\n");
    CHECK(msg(items, 3).event->body.starts_with("-ERR Error"));
    CHECK(msg(items, 4).content_type() == "text/disconnect-notice");
    CHECK(msg(items, 4).body.starts_with("Disconnected, goodbye."));
    CHECK(msg(items, 5).event->name() == "CHANNEL_EXECUTE_COMPLETE");
}

TEST_CASE("webitel's documented events survive %-encoding and framing with every header value intact") {
    auto events = esl_fixtures::rst_events();
    REQUIRE(events.size() >= 8);
    bool saw_bridge = false;
    for (const auto& e : events) {
        CAPTURE(e.name);
        const auto wire = esl_fixtures::wire_event(e.headers);
        check_every_split(wire);
        auto items = read_all(wire);
        REQUIRE(items.size() == 1);
        const auto& ev = msg(items, 0).event;
        REQUIRE(ev);
        REQUIRE(ev->headers.items.size() == e.headers.size());
        for (std::size_t i = 0; i < e.headers.size(); ++i) {
            CHECK(ev->headers.items[i].name == e.headers[i].first);
            CHECK(ev->headers.items[i].value == e.headers[i].second);
        }
        if (e.name == "CHANNEL_BRIDGE") {
            saw_bridge = true;
            CHECK(ev->get("Bridge-B-Unique-ID") == "88e739f2-0984-4c2c-af9d-7e8fe9a8398f");
        }
    }
    CHECK(saw_bridge);
}

TEST_CASE("an encoded newline or blank line inside a header value does not end the event") {
    const auto wire = esl_fixtures::wire_event(
        {{"Event-Name", "CUSTOM"}, {"variable_note", "line one\n\nContent-Length: 5\n\nline two"}, {"Unique-ID", "u1"}});
    auto items = read_all(wire + wire);
    REQUIRE(items.size() == 2);
    CHECK(msg(items, 0).event->get("variable_note") == "line one\n\nContent-Length: 5\n\nline two");
    CHECK(msg(items, 1).event->get("Unique-ID") == "u1");
}

TEST_CASE("CRLF line ends read like LF ones") {
    auto items = read_all("Content-Type: command/reply\r\nReply-Text: +OK accepted\r\n\r\n");
    REQUIRE(items.size() == 1);
    CHECK(msg(items, 0).reply_text() == "+OK accepted");
}

TEST_CASE("a header line over the limit is reported and the next message reads normally") {
    ReaderLimits l;
    l.max_line = 64;
    auto items = read_all("Content-Type: command/reply\nReply-Text: " + std::string(200, 'x') +
                              "\nMore: y\n\nContent-Type: command/reply\nReply-Text: +OK\n\n",
                          l);
    REQUIRE(items.size() == 2);
    const auto& e = std::get<ReadError>(items[0]);
    CHECK(e.which == Limit::line_length);
    CHECK(e.describe().find("longer than 64 bytes") != std::string::npos);
    CHECK(msg(items, 1).reply_text() == "+OK");
}

TEST_CASE("too many headers drop the message, not the link") {
    ReaderLimits l;
    l.max_headers = 4;
    std::string many;
    for (int i = 0; i < 10; ++i) many += "H" + std::to_string(i) + ": v\n";
    auto items = read_all(many + "\nContent-Type: auth/request\n\n", l);
    REQUIRE(items.size() == 2);
    CHECK(std::get<ReadError>(items[0]).which == Limit::header_count);
    CHECK(msg(items, 1).content_type() == "auth/request");
}

TEST_CASE("a body over the limit is skipped by its Content-Length so framing holds") {
    ReaderLimits l;
    l.max_body = 100;
    const std::string big(500, '\n');  // even blank lines inside must not be read as blocks
    auto items = read_all("Content-Type: api/response\nContent-Length: 500\n\n" + big +
                              "Content-Type: api/response\nContent-Length: 3\n\n+OK",
                          l);
    REQUIRE(items.size() == 2);
    const auto& e = std::get<ReadError>(items[0]);
    CHECK(e.which == Limit::body_size);
    CHECK(e.size == 500);
    CHECK(e.describe() == "ESL body of 500 bytes over the 100 byte limit; skipped");
    CHECK(msg(items, 1).body == "+OK");
}

TEST_CASE("a Content-Length that is not a number is reported and the block taken without a body") {
    auto items = read_all("Content-Type: api/response\nContent-Length: 12abc\n\nContent-Type: auth/request\n\n");
    REQUIRE(items.size() == 3);
    CHECK(std::get<ReadError>(items[0]).which == Limit::bad_content_length);
    CHECK(msg(items, 1).body.empty());
    CHECK(msg(items, 2).content_type() == "auth/request");
}

TEST_CASE("garbage lines before a message are skipped and counted") {
    Reader r;
    r.put("\x01\x02 hello there\n\n\nnot a header\nContent-Type: auth/request\n\n");
    auto item = r.next();
    REQUIRE(item);
    CHECK(std::get<Message>(*item).content_type() == "auth/request");
    CHECK(r.garbage_lines() == 2);
    CHECK(!r.next());
}

TEST_CASE("random bytes never throw and never grow past the limits") {
    std::mt19937 rng(7);
    ReaderLimits l;
    l.max_line = 32;
    l.max_headers = 4;
    l.max_body = 64;
    const std::string alphabet = "ab:\n\r %0Content-Length: 9\n";
    for (int round = 0; round < 300; ++round) {
        Reader r(l);
        std::string bytes;
        for (int i = 0; i < 400; ++i) bytes += alphabet[rng() % alphabet.size()];
        CHECK_NOTHROW(r.put(bytes));
        while (auto item = r.next()) {
            if (auto* m = std::get_if<Message>(&*item)) {
                CHECK(m->headers.items.size() <= l.max_headers);
                CHECK(m->body.size() <= l.max_body);
            }
        }
    }
}

TEST_CASE("percent_decode leaves a stray % alone") {
    CHECK(percent_decode("100%") == "100%");
    CHECK(percent_decode("%zz%2") == "%zz%2");
    CHECK(percent_decode("a%20b%3A%3a") == "a b::");
    CHECK(percent_decode("a+b") == "a+b");
}
