#pragma once
// A CallService over a real SQLite file in a temp dir and a PopSink that
// records what each agent was sent.
#include <atomic>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "ringside/core/call_service.hpp"
#include "ringside/storage/sqlite_store.hpp"

namespace call_test {

using namespace ringside;

class TempDir {
public:
    TempDir() {
        static std::atomic<int> n{0};
        path_ = std::filesystem::temp_directory_path() /
                ("ringside-calls-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

struct Sent {
    std::string to;
    nlohmann::json msg;
};

class RecordingSink final : public PopSink {
public:
    void send(const AgentId& to, nlohmann::json message) override { sent.push_back({to.value(), std::move(message)}); }
    /// Broadcasts (the supervisors' board.*) are kept apart from the per-user messages.
    void broadcast(Audience, nlohmann::json message) override { broadcasts.push_back(std::move(message)); }
    std::vector<nlohmann::json> broadcasts;

    /// "alice call.ringing", "bob call.retracted caller_hung_up", ... in order.
    std::vector<std::string> lines() const {
        std::vector<std::string> out;
        for (const auto& s : sent) {
            std::string l = s.to + " " + s.msg.value("type", "?");
            if (s.msg.contains("reason")) l += " " + s.msg["reason"].get<std::string>();
            if (s.msg.contains("transferred_by")) l += " by=" + s.msg["transferred_by"].get<std::string>();
            out.push_back(l);
        }
        return out;
    }
    std::vector<Sent> of_type(const std::string& type) const {
        std::vector<Sent> out;
        for (const auto& s : sent)
            if (s.msg.value("type", "") == type) out.push_back(s);
        return out;
    }
    std::vector<Sent> sent;
};

inline User make_user(std::string username, Role role, std::optional<std::string> ext, bool disabled = false) {
    User u;
    u.username = AgentId(username);
    u.name = username;
    u.role = role;
    if (ext) u.extension = Extension(*ext);
    u.disabled = disabled;
    return u;
}

/// The engine as the server wires it, minus the strand.
struct Env {
    explicit Env(const std::filesystem::path& db, std::string region = "IR", CallServiceOptions opts = {})
        : store(db), phones(std::move(region)), svc(store, sink, phones, opts) {}
    SqliteStore store;
    RecordingSink sink;
    PhoneNormalizer phones;
    CallService svc;

    void add_user(const User& u) { store.create_user(u, "$argon2id$v=19$test-only"); }
    /// A customer with one number (E.164); returns its id.
    std::int64_t add_customer(std::string name, std::string e164) {
        Customer c;
        c.name = std::move(name);
        c.phones = {std::move(e164)};
        return store.create_customer(c);
    }
};

}  // namespace call_test
