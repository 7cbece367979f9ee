#pragma once
// A CallService over a real SQLite file in a temp dir and a PopSink that
// records what each agent was sent.
#include <doctest/doctest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ringside/core/call_service.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "store_fixture.hpp"

namespace call_test {

using namespace ringside;

/// The storage tests' temp directory (store_fixture.hpp), its path as the call tests ask for it.
class TempDir {
public:
    const std::filesystem::path& path() const { return dir_.path; }

private:
    store_test::TempDir dir_;
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

/// Customer lookups answered when the test says, from the real store: a
/// networked database's slow answer, with the test as the clock.
class DeferredLookup final : public CustomerLookup {
public:
    explicit DeferredLookup(Storage& store) : store_(store) {}
    void find_by_phone(const std::string& e164, Done done) override { waiting_.emplace_back(e164, std::move(done)); }
    std::size_t waiting() const { return waiting_.size(); }
    /// Answers the lookup of `e164` still out (the oldest, when several are).
    void answer(std::string e164) {
        for (auto it = waiting_.begin(); it != waiting_.end(); ++it)
            if (it->first == e164) {
                auto done = std::move(it->second);
                waiting_.erase(it);
                done(store_.customer_context_by_phone(e164));
                return;
            }
        FAIL("no lookup of " << e164 << " is out");
    }
    void answer_all() {
        while (!waiting_.empty()) answer(waiting_.front().first);
    }

private:
    Storage& store_;
    std::vector<std::pair<std::string, Done>> waiting_;
};

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

// ---- The scenario tables (AMI, ESL and SIP flows): each row plays one
// customer's call into a fresh engine and checks the same things of it.

/// The customer's number, E.164.
inline const std::string sara_number = "+989121234567";

/// A fresh engine on its own database with agents alice (1001) and bob
/// (1002) and one customer, Sara Ahmadi at +989121234567.
struct TwoAgents {
    TempDir dir;
    Env env;
    std::int64_t customer = 0;
    explicit TwoAgents(std::string region = "IR") : env(dir.path() / "ringside.db", std::move(region)) {
        env.add_user(make_user("alice", Role::agent, "1001"));
        env.add_user(make_user("bob", Role::agent, "1002"));
        customer = env.add_customer("Sara Ahmadi", sara_number);
    }
};

/// What the agents were sent is what the row says; all of it is shown when not.
inline void check_sent(const RecordingSink& sink, const std::vector<std::string>& want) {
    CHECK(sink.lines() == want);
    if (sink.lines() != want)
        for (const auto& l : sink.lines()) MESSAGE(l);
}

/// Every pop is the customer's call: from Sara's number, with her card, and
/// under call_id when one is given.
inline void check_pops(const RecordingSink& sink, std::int64_t customer,
                       const std::optional<std::string>& call_id = std::nullopt) {
    for (const auto& p : sink.of_type("call.ringing")) {
        CHECK(p.msg["call"]["from"] == sara_number);
        CHECK(p.msg["customer"]["id"] == customer);
        if (call_id) CHECK(p.msg["call"]["id"] == *call_id);
    }
}

/// The one call stored, however many legs and transfers it had (REQUIRE),
/// with its legs; nothing is left active.
inline CallRecord only_call(Env& e) {
    const auto stored = e.store.list_calls(CallFilter{});
    REQUIRE(stored.size() == 1);
    CHECK(e.svc.stats().active_calls == 0);
    auto rec = e.store.find_call(stored.front().id);
    REQUIRE(rec);
    return *rec;
}

/// The agent logged with a call, as the rows name it (nullopt: nobody).
inline std::optional<AgentId> agent_id(const std::optional<std::string>& name) {
    return name ? std::optional<AgentId>(AgentId(*name)) : std::nullopt;
}

struct LegTalk {
    std::string agent;
    std::int64_t talk_seconds;
};

/// The call's legs are these, in the order the phones first rang.
inline void check_legs(const CallRecord& rec, const std::vector<LegTalk>& legs) {
    REQUIRE(rec.legs.size() == legs.size());
    for (std::size_t i = 0; i < legs.size(); ++i) {
        CAPTURE(i);
        CHECK(rec.legs[i].agent == AgentId(legs[i].agent));
        CHECK(rec.legs[i].talk_seconds == legs[i].talk_seconds);
    }
}

/// The customer's history shows the call once.
inline void check_history_once(Env& e, std::int64_t customer) {
    auto ctx = e.store.customer_context(customer);
    REQUIRE(ctx);
    CHECK(ctx->recent_interactions.size() == 1);
}

}  // namespace call_test
