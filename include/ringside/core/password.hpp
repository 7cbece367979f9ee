#pragma once
// Password hashing (libsodium Argon2id) and session tokens.
#include <string>
#include <string_view>

namespace ringside {

/// crypto_pwhash_str with Argon2id, interactive limits. Throws std::runtime_error if libsodium fails (out of memory).
std::string hash_password(std::string_view password);
/// Constant-time verification; false for a malformed hash.
bool verify_password(std::string_view password, const std::string& hash);
/// 32 random bytes, hex (64 characters).
std::string generate_token();
/// Hex SHA-256, used to store session tokens without storing the token.
std::string sha256_hex(std::string_view data);

}  // namespace ringside
