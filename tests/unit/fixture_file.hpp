#pragma once
// The captures and protocol samples under tests/fixtures, read as bytes.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace fixture_file {

/// The bytes of a file; throws naming it when it cannot be read.
inline std::string read_path(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("missing fixture " + p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// The bytes of tests/fixtures/<rel>.
inline std::string read(const std::string& rel) {
    return read_path(std::filesystem::path(RINGSIDE_FIXTURES_DIR) / rel);
}

}  // namespace fixture_file
