#pragma once
// The site most call tests start from: agents Alice (1001) and Bob (1002), a
// supervisor Sam, a known customer, and Ringside linked to the simulated
// Asterisk over AMI.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "site.hpp"

namespace ringside::test {

/// Alice 1001 and Bob 1002 (agents), Sam (supervisor), a known customer.
struct Staffed {
    Site site;
    std::string sup, alice_token, bob_token;
    std::int64_t sara = 0;  // Sara Ahmadi, +989121234567, with an open issue

    explicit Staffed(SiteOptions o = {}) : site(std::move(o)) {
        REQUIRE(site.add_user("alice", "agent", "1001") == 0);
        REQUIRE(site.add_user("bob", "agent", "1002") == 0);
        REQUIRE(site.add_user("sam", "supervisor", "") == 0);
        site.start_pbx();
        site.start_ringside();
        sup = site.token("sam");
        alice_token = site.token("alice");
        bob_token = site.token("bob");
        sara = site.add_customer(sup, "Sara Ahmadi", "+989121234567", "Refund not received");
        REQUIRE(site.wait_pbx_linked());
    }
};

/// How many entries of a calls list have this id.
inline std::size_t count_id(const nlohmann::json& calls, const std::string& id) {
    std::size_t n = 0;
    for (const auto& c : calls) n += c["id"] == id ? 1 : 0;
    return n;
}

}  // namespace ringside::test
