#pragma once
// The ESL fixtures (tests/fixtures/esl, see SOURCES.md) as wire bytes.
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fixture_file.hpp"

namespace esl_fixtures {

inline std::string read(const std::string& rel) { return fixture_file::read("esl/" + rel); }

/// Restores what a C# string literal cannot end with: the line ends after the
/// last body line (Content-Length says how many), or the blank line that
/// ends a bodiless block.
inline std::string restore_tail(std::string t) {
    const auto sep = t.find("\n\n");
    const auto cl = t.find("Content-Length: ");
    if (sep == std::string::npos || cl == std::string::npos || cl > sep) return t + "\n\n";
    const auto n = std::stoul(t.substr(cl + 16));
    const auto body = t.size() - (sep + 2);
    if (body < n) t.append(n - body, '\n');
    return t;
}

/// `public const string Name = @"...";` constants of TestMessages.cs, in file
/// order, `""` unescaped, tails restored.
inline std::vector<std::pair<std::string, std::string>> cs_messages() {
    std::string s = read("neventsocket/TestMessages.cs");
    std::vector<std::pair<std::string, std::string>> out;
    const std::string marker = "public const string ";
    for (auto pos = s.find(marker); pos != std::string::npos; pos = s.find(marker, pos)) {
        pos += marker.size();
        const auto eq = s.find(" = @\"", pos);
        if (eq == std::string::npos) break;
        std::string name = s.substr(pos, eq - pos), text;
        auto i = eq + 5;
        while (i < s.size()) {
            if (s[i] == '"') {
                if (i + 1 < s.size() && s[i + 1] == '"') {
                    text += '"';
                    i += 2;
                    continue;
                }
                break;
            }
            text += s[i++];
        }
        pos = i;
        out.emplace_back(std::move(name), restore_tail(std::move(text)));
    }
    return out;
}

/// FreeSWITCH's switch_url_encode set: what it %-encodes in plain events.
inline std::string fs_encode(const std::string& v) {
    static const std::string unsafe = "\r\n \"#%&+:;<=>?@[\\]^`{|}";
    std::string o;
    for (unsigned char c : v) {
        if (unsafe.find(static_cast<char>(c)) != std::string::npos || c < 0x20 || c >= 0x7f) {
            static const char* hex = "0123456789ABCDEF";
            o += '%';
            o += hex[c >> 4];
            o += hex[c & 15];
        } else {
            o += static_cast<char>(c);
        }
    }
    return o;
}

/// One event as FreeSWITCH puts it on the wire in `event plain` mode.
inline std::string wire_event(const std::vector<std::pair<std::string, std::string>>& headers,
                              const std::string& event_body = "") {
    std::string body;
    for (const auto& [k, v] : headers) body += k + ": " + fs_encode(v) + "\n";
    if (!event_body.empty()) body += "Content-Length: " + std::to_string(event_body.size()) + "\n";
    body += "\n" + event_body;
    return "Content-Length: " + std::to_string(body.size()) + "\nContent-Type: text/event-plain\n\n" + body;
}

struct RstEvent {
    std::string name;
    std::vector<std::pair<std::string, std::string>> headers;  // decoded, as the docs show them
};

/// The `**Example**::` blocks of webitel's events-list.rst that are events
/// (have Event-Name), indentation removed.
inline std::vector<RstEvent> rst_events() {
    std::istringstream in(read("webitel/events-list.rst"));
    std::vector<RstEvent> out;
    std::string line;
    bool in_example = false;
    RstEvent cur;
    auto flush = [&] {
        if (!cur.headers.empty() && !cur.name.empty()) out.push_back(cur);
        cur = RstEvent{};
    };
    while (std::getline(in, line)) {
        if (line.find("**Example**::") != std::string::npos) {
            flush();
            in_example = true;
            continue;
        }
        if (!in_example) continue;
        if (line.empty()) continue;
        if (line[0] != ' ') {
            flush();
            in_example = false;
            continue;
        }
        auto first = line.find_first_not_of(' ');
        auto text = line.substr(first);
        auto colon = text.find(": ");
        if (colon == std::string::npos) {
            auto c2 = text.find(':');
            if (c2 == std::string::npos || c2 + 1 != text.size()) continue;
            colon = c2;
        }
        std::string k = text.substr(0, colon);
        std::string v = colon + 2 <= text.size() ? text.substr(std::min(colon + 2, text.size())) : "";
        if (k == "Event-Name") cur.name = v;
        cur.headers.emplace_back(std::move(k), std::move(v));
    }
    flush();
    return out;
}

/// One inbound call as FreeSWITCH 1.10 reports it with `event plain` on the
/// channel events Ringside subscribes to: the caller's a-leg rings the
/// switch, bridges to user/<ext> (a b-leg "sofia/internal/<ext>@...",
/// Other-Type originator), the phone rings, answers, both hang up, and each
/// leg's session is destroyed (CHANNEL_CALLSTATE HANGUP -> DOWN in
/// CS_DESTROY, then CHANNEL_DESTROY, as FreeSWITCH sends after
/// CHANNEL_HANGUP_COMPLETE). Wire bytes in three phases so a test can pause
/// between them.
struct ScriptedCall {
    std::string ring;    // a-leg created and ringing, b-leg created and ringing
    std::string answer;  // b-leg answered, a-leg answered, bridged (empty when not answered)
    std::string hangup;  // hangups (caller cancels when not answered), unbridge, hangup complete, destroy
};

inline ScriptedCall scripted_call(const std::string& a, const std::string& b, const std::string& caller_num,
                                  const std::string& caller_name, const std::string& ext, bool answered,
                                  long long t0_us = 1700000000000000LL) {
    long long t = t0_us;
    int seq = 1000;
    auto common = [&](const std::string& name, const std::string& uid, bool outbound, const std::string& callstate,
                      const std::string& channel_state) {
        t += 20'000;
        std::vector<std::pair<std::string, std::string>> h = {
            {"Event-Name", name},
            {"Core-UUID", "2f5dcf01-d1c2-4b77-abe4-dca29127416b"},
            {"FreeSWITCH-Hostname", "pbx1"},
            {"Event-Date-Local", "2023-11-14 22:13:20"},
            {"Event-Date-Timestamp", std::to_string(t)},
            {"Event-Sequence", std::to_string(++seq)},
            {"Channel-State", !channel_state.empty() ? channel_state : callstate == "HANGUP" ? "CS_HANGUP" : "CS_EXECUTE"},
            {"Channel-Call-State", callstate},
            {"Channel-Name", outbound ? "sofia/internal/" + ext + "@10.0.0.21:5060"
                                      : "sofia/external/" + caller_num + "@198.51.100.7"},
            {"Unique-ID", uid},
            {"Call-Direction", outbound ? "outbound" : "inbound"},
            {"Channel-Call-UUID", a},
            {"Caller-Direction", outbound ? "outbound" : "inbound"},
            {"Caller-Caller-ID-Name", caller_name},
            {"Caller-Caller-ID-Number", caller_num},
            {"Caller-Destination-Number", outbound ? ext : "5000"},
            {"Caller-Unique-ID", uid},
            {"Caller-Context", outbound ? "default" : "public"},
        };
        if (outbound) {
            h.emplace_back("Other-Type", "originator");
            h.emplace_back("Other-Leg-Unique-ID", a);
        }
        return h;
    };
    auto ev = [&](const std::string& name, const std::string& uid, bool outbound, const std::string& callstate,
                  std::vector<std::pair<std::string, std::string>> extra = {}, const std::string& channel_state = "") {
        auto h = common(name, uid, outbound, callstate, channel_state);
        for (auto& e : extra) h.push_back(std::move(e));
        return wire_event(h);
    };
    ScriptedCall c;
    c.ring += ev("CHANNEL_CREATE", a, false, "DOWN");
    c.ring += ev("CHANNEL_CALLSTATE", a, false, "RINGING", {{"Original-Channel-Call-State", "DOWN"}});
    c.ring += ev("CHANNEL_CREATE", b, true, "DOWN");
    c.ring += ev("CHANNEL_PROGRESS", b, true, "RINGING");
    c.ring += ev("CHANNEL_CALLSTATE", b, true, "RINGING", {{"Original-Channel-Call-State", "DOWN"}});
    if (answered) {
        c.answer += ev("CHANNEL_ANSWER", b, true, "ACTIVE");
        c.answer += ev("CHANNEL_CALLSTATE", b, true, "ACTIVE", {{"Original-Channel-Call-State", "RINGING"}});
        c.answer += ev("CHANNEL_ANSWER", a, false, "ACTIVE");
        c.answer += ev("CHANNEL_BRIDGE", a, false, "ACTIVE", {{"Bridge-A-Unique-ID", a}, {"Bridge-B-Unique-ID", b}});
        c.hangup += ev("CHANNEL_HANGUP", b, true, "HANGUP", {{"Hangup-Cause", "NORMAL_CLEARING"}});
        c.hangup += ev("CHANNEL_UNBRIDGE", a, false, "ACTIVE", {{"Bridge-A-Unique-ID", a}, {"Bridge-B-Unique-ID", b}});
        c.hangup += ev("CHANNEL_HANGUP", a, false, "HANGUP", {{"Hangup-Cause", "NORMAL_CLEARING"}});
    } else {
        c.hangup += ev("CHANNEL_HANGUP", a, false, "HANGUP", {{"Hangup-Cause", "NORMAL_CLEARING"}});
        c.hangup += ev("CHANNEL_HANGUP", b, true, "HANGUP", {{"Hangup-Cause", "ORIGINATOR_CANCEL"}});
    }
    c.hangup += ev("CHANNEL_HANGUP_COMPLETE", b, true, "HANGUP", {{"Hangup-Cause", answered ? "NORMAL_CLEARING" : "ORIGINATOR_CANCEL"}});
    c.hangup += ev("CHANNEL_HANGUP_COMPLETE", a, false, "HANGUP", {{"Hangup-Cause", "NORMAL_CLEARING"}});
    for (const auto& [uid, outbound] : {std::pair{b, true}, std::pair{a, false}}) {
        c.hangup += ev("CHANNEL_CALLSTATE", uid, outbound, "DOWN", {{"Original-Channel-Call-State", "HANGUP"}}, "CS_DESTROY");
        c.hangup += ev("CHANNEL_DESTROY", uid, outbound, "HANGUP", {}, "CS_REPORTING");
    }
    return c;
}

}  // namespace esl_fixtures
