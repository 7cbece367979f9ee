#include <doctest/doctest.h>

#include <set>
#include <thread>
#include <vector>

#include "ringside/core/password.hpp"

using namespace ringside;

TEST_CASE("a password verifies against its own hash and no other") {
    const auto h = hash_password("agent-demo");
    CHECK(h.rfind("$argon2id$", 0) == 0);
    CHECK(verify_password("agent-demo", h));
    CHECK_FALSE(verify_password("agent-demo ", h));
    CHECK_FALSE(verify_password("", h));
    CHECK(hash_password("agent-demo") != h);  // salted
}

TEST_CASE("any password, including empty and non-Latin ones, round-trips") {
    for (std::string pw : {std::string(), std::string("گذرواژه-۱۲۳"), std::string("a\0b", 3)}) {
        const auto h = hash_password(pw);
        CHECK(verify_password(pw, h));
    }
    CHECK_FALSE(verify_password("a", hash_password(std::string("a\0b", 3))));
}

TEST_CASE("a malformed hash never verifies") {
    CHECK_FALSE(verify_password("x", ""));
    CHECK_FALSE(verify_password("x", "not a hash"));
    CHECK_FALSE(verify_password("x", std::string(1000, '$')));
    CHECK_FALSE(verify_password("x", std::string("$argon2id$\0", 11)));
}

TEST_CASE("tokens are 64 hex characters and do not repeat") {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        auto t = generate_token();
        CHECK(t.size() == 64);
        CHECK(t.find_first_not_of("0123456789abcdef") == std::string::npos);
        seen.insert(t);
    }
    CHECK(seen.size() == 100);
}

TEST_CASE("sha256_hex matches the published test vectors") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("tokens can be made from several threads at once") {
    std::vector<std::thread> threads;
    std::vector<std::string> out(8);
    for (std::size_t i = 0; i < out.size(); ++i) threads.emplace_back([&, i] { out[i] = generate_token(); });
    for (auto& t : threads) t.join();
    CHECK(std::set<std::string>(out.begin(), out.end()).size() == out.size());
}
