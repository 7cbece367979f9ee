#pragma once
// Helpers shared by the AMI tests: fixture bytes and reader draining.
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture_file.hpp"
#include "ringside/ami/reader.hpp"

namespace ami_test {

inline std::string fixture(const std::string& rel) { return fixture_file::read("ami/" + rel); }

/// A cacofonisk scenario (JSON array of {header: value}) as the wire bytes
/// Asterisk sent: headers in recorded order, CRLF, a blank line after each.
/// "content" is cacofonisk's own slot for a message body (always empty), not a header.
inline std::string cacofonisk_wire(const std::string& rel) {
    auto doc = nlohmann::ordered_json::parse(fixture(rel));
    std::string out;
    for (const auto& obj : doc) {
        for (const auto& [k, v] : obj.items()) {
            if (k == "content") continue;
            out += k + ": " + v.get<std::string>() + "\r\n";
        }
        out += "\r\n";
    }
    return out;
}

/// Each item as one comparable string.
inline std::string describe(const ringside::ami::ReaderItem& item) {
    if (auto* g = std::get_if<ringside::ami::Greeting>(&item)) return "greeting " + g->line;
    if (auto* m = std::get_if<ringside::ami::Message>(&item)) return m->serialize();
    return "error " + std::get<ringside::ami::ReadError>(item).describe();
}

inline void drain(ringside::ami::Reader& r, std::vector<ringside::ami::ReaderItem>& out) {
    while (auto item = r.next()) out.push_back(std::move(*item));
}

inline std::vector<ringside::ami::ReaderItem> read_all(std::string_view bytes, ringside::ami::ReaderLimits limits = {}) {
    ringside::ami::Reader r(limits);
    std::vector<ringside::ami::ReaderItem> out;
    r.put(bytes);
    drain(r, out);
    return out;
}

inline std::vector<ringside::ami::Message> messages_of(const std::vector<ringside::ami::ReaderItem>& items) {
    std::vector<ringside::ami::Message> out;
    for (const auto& i : items)
        if (auto* m = std::get_if<ringside::ami::Message>(&i)) out.push_back(*m);
    return out;
}

inline std::vector<ringside::ami::Message> read_messages(std::string_view bytes) { return messages_of(read_all(bytes)); }

/// Every fixture the AMI tests know, as wire bytes.
struct NamedBytes {
    std::string name;
    std::string bytes;
};
inline std::vector<NamedBytes> all_fixtures() {
    std::vector<NamedBytes> out;
    for (const char* f : {"panoramisk/agent_loggued_in.yaml", "panoramisk/login_failed.yaml", "panoramisk/login_md5.yaml",
                          "panoramisk/login_ok.yaml", "panoramisk/logoff.yaml", "panoramisk/originate_with_events.yaml",
                          "panoramisk/ping.yaml", "panoramisk/queue_status.yaml",
                          "goami2/call_chan_sip_dial_bridge.DERIVED.ami", "goami2/confbridge_local.DERIVED.ami",
                          "goami2/queue_members.DERIVED.ami", "goami2/queue_status.DERIVED.ami"})
        out.push_back({f, fixture(f)});
    for (const char* f : {"cacofonisk/simple/ab_success_a_hangup.json", "cacofonisk/simple/ab_a_cancel.json",
                          "cacofonisk/simple/ab_reject.json", "cacofonisk/queue/queue_a_cancel.json",
                          "cacofonisk/xfer_attended/xfer_abbcac.json", "cacofonisk/xfer_blind/xfer_blind_abacbc.json"})
        out.push_back({f, cacofonisk_wire(f)});
    return out;
}

}  // namespace ami_test
