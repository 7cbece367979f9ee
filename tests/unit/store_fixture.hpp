#pragma once
// The storage tests' fixture: a fresh directory under the system temp dir for
// a real SQLite file, removed with its files at the end of the test.
#include <filesystem>
#include <random>
#include <string>
#include <system_error>

namespace store_test {

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("ringside-store-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    /// The database file in it.
    std::filesystem::path file(const char* name = "ringside.db") const { return path / name; }
};

}  // namespace store_test
