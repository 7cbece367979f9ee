// The in-memory user directory (user_directory_cache.hpp) over a real SQLite
// file: this process's writes at once, another connection's within its
// refresh, and the same answers as the store.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "ringside/storage/user_directory_cache.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "store_fixture.hpp"

using namespace ringside;
using namespace std::chrono_literals;

namespace {

User user(const std::string& name, const std::string& ext) {
    User u;
    u.username = AgentId{name};
    u.name = name;
    u.role = Role::agent;
    if (!ext.empty()) u.extension = Extension{ext};
    return u;
}

std::vector<std::string> names(const std::vector<User>& users) {
    std::vector<std::string> out;
    for (const auto& u : users) out.push_back(u.username.value());
    return out;
}

}  // namespace

TEST_CASE("the directory answers from memory what the store answers, oldest user first") {
    store_test::TempDir d;
    SqliteStore store(d.file());
    store.create_user(user("bob", "1001"), "");
    store.create_user(user("alice", "1001"), "");  // a second phone user on the same extension
    store.create_user(user("carol", "1002"), "");
    store.create_user(user("sam", ""), "");
    UserDirectoryCache dir(store);

    for (const char* ext : {"1001", "1002", "1003"})
        CHECK(names(dir.users_by_extension(Extension{ext})) == names(store.users_by_extension(Extension{ext})));
    CHECK(names(dir.users_by_extension(Extension{"1001"})) == std::vector<std::string>{"bob", "alice"});
    CHECK(dir.hits() == 4);
    CHECK(dir.read_through() == 0);
}

TEST_CASE("a user changed through the store is seen by the next lookup, before the list is read again") {
    store_test::TempDir d;
    SqliteStore store(d.file());
    store.create_user(user("alice", "1001"), "");
    UserDirectoryCache dir(store);
    REQUIRE(names(dir.users_by_extension(Extension{"1001"})) == std::vector<std::string>{"alice"});

    UserChange off;
    off.disabled = true;
    REQUIRE(store.update_user(AgentId{"alice"}, off));
    CHECK(dir.users_by_extension(Extension{"1001"}).empty());  // disabled: never popped again

    UserChange moved;
    moved.disabled = false;
    moved.extension = Extension{"1005"};
    REQUIRE(store.update_user(AgentId{"alice"}, moved));
    CHECK(dir.users_by_extension(Extension{"1001"}).empty());
    CHECK(names(dir.users_by_extension(Extension{"1005"})) == std::vector<std::string>{"alice"});

    store.create_user(user("dave", "1005"), "");
    CHECK(names(dir.users_by_extension(Extension{"1005"})) == std::vector<std::string>{"alice", "dave"});
    CHECK(dir.read_through() >= 1);

    // Once the thread has read the list again, lookups come from memory.
    dir.refresh();
    const auto before = dir.hits();
    CHECK(names(dir.users_by_extension(Extension{"1005"})) == std::vector<std::string>{"alice", "dave"});
    CHECK(dir.hits() == before + 1);
}

TEST_CASE("a user another process adds to the file shows within the directory's refresh") {
    store_test::TempDir d;
    SqliteStore store(d.file());
    store.create_user(user("alice", "1001"), "");
    UserDirectoryCache dir(store);
    {
        SqliteStore other(d.file());  // as the CLI's `ringside user add` opens it
        other.create_user(user("erin", "1009"), "");
    }
    // The thread reads the whole list every second; wait for it (a generous
    // bound: this asserts what it finds, not how soon).
    std::vector<User> found;
    for (int i = 0; i < 100 && found.empty(); ++i) {
        std::this_thread::sleep_for(100ms);
        found = dir.users_by_extension(Extension{"1009"});
    }
    CHECK(names(found) == std::vector<std::string>{"erin"});
}
