#pragma once
// Helpers for the call tests: hand-built PBX events, cacofonisk and goami2
// fixtures turned into AMI messages, and a readable view of tracker effects.
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture_file.hpp"
#include "ringside/core/call_tracker.hpp"
#include "ringside/core/pbx_event.hpp"

namespace call_test {

using namespace ringside;

inline Timestamp t0() { return Timestamp(std::chrono::milliseconds(1'700'000'000'000)); }
inline Timestamp at_s(int s) { return t0() + std::chrono::seconds(s); }

inline pbx::ChannelInfo chan(std::string uid, std::string linkedid, std::string name, std::string caller = "",
                             pbx::ChannelState st = pbx::ChannelState::down, std::string exten = "") {
    pbx::ChannelInfo c;
    c.uniqueid = std::move(uid);
    c.linkedid = std::move(linkedid);
    c.channel = std::move(name);
    c.caller_num = std::move(caller);
    c.state = st;
    c.exten = std::move(exten);
    return c;
}

inline pbx::Event ev(int sec, pbx::Payload p, std::string pbx_id = "main") {
    return pbx::Event{PbxId(std::move(pbx_id)), at_s(sec), std::move(p)};
}

inline std::string reason_name(StopReason r) {
    switch (r) {
    case StopReason::answered_elsewhere: return "answered_elsewhere";
    case StopReason::caller_hung_up: return "caller_hung_up";
    case StopReason::no_answer: return "no_answer";
    case StopReason::busy: return "busy";
    case StopReason::rejected: return "rejected";
    }
    return "?";
}

/// "started main-1", "ringing main-1 1001 from=0912", "answered main-1 1001",
/// "stopped main-1 1002 answered_elsewhere", "queued main-1 sales", "ended main-1 answered"
inline std::string describe(const Effect& e) {
    struct V {
        std::string operator()(const effect::CallStarted& x) const { return "started " + x.call.id.value(); }
        std::string operator()(const effect::Ringing& x) const {
            return "ringing " + x.call.id.value() + " " + x.ext.value() + " from=" + x.call.caller_num +
                   (x.transferred_by ? " by=" + x.transferred_by->value() : "");
        }
        std::string operator()(const effect::Answered& x) const {
            return "answered " + x.call.id.value() + " " + x.ext.value();
        }
        std::string operator()(const effect::StoppedRinging& x) const {
            return "stopped " + x.call.id.value() + " " + x.ext.value() + " " + reason_name(x.reason);
        }
        std::string operator()(const effect::Queued& x) const { return "queued " + x.call.id.value() + " " + x.queue; }
        std::string operator()(const effect::Ended& x) const {
            return "ended " + x.call.id.value() + " " + std::string(to_string(x.outcome));
        }
        std::string operator()(const effect::Merged& x) const {
            return "merged " + x.from.value() + " into " + x.into.id.value();
        }
    };
    return std::visit(V{}, e);
}

inline std::vector<std::string> describe_all(const std::vector<Effect>& v) {
    std::vector<std::string> out;
    for (const auto& e : v) out.push_back(describe(e));
    return out;
}

inline std::string read_fixture(const std::string& rel) { return fixture_file::read(rel); }

}  // namespace call_test
