#pragma once
// Recorded Asterisk calls (the cacofonisk captures in tests/fixtures) as AMI
// messages for the call tests.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "call_events.hpp"
#include "ringside/ami/message.hpp"

namespace call_test {

/// A cacofonisk scenario: one AMI message per JSON object, fields in recorded
/// order ("content" is cacofonisk's body slot, not a header).
inline std::vector<ami::Message> cacofonisk(const std::string& rel) {
    auto doc = nlohmann::ordered_json::parse(read_fixture("ami/cacofonisk/" + rel));
    std::vector<ami::Message> out;
    for (const auto& obj : doc) {
        ami::Message m;
        for (const auto& [k, v] : obj.items())
            if (k != "content") m.fields.push_back({k, v.get<std::string>()});
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace call_test
