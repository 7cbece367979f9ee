// The PBX connection manager without sockets: webhook links and a link type
// registered by the test (the manager's extension point), a real SQLite file.
// Connections from the file and from the database, add / enable / disable at
// runtime, what is stored and audited, and webhook routing by path.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "connections.hpp"
#include "ringside/storage/sqlite_store.hpp"
#include "ringside/webhook/receiver.hpp"
#include "store_fixture.hpp"

using namespace ringside;
using namespace ringside::app;
using json = nlohmann::json;

namespace {

using TempDb = store_test::TempDir;

/// A link type that only records what the manager asks of it.
struct Counters {
    std::atomic<int> started{0}, stopped{0};
};
class RecordingLink final : public Link {
public:
    explicit RecordingLink(Counters& c) : c_(c) {}
    void start() override {
        ++c_.started;
        status_.state = adapters::LinkState::connected;
    }
    void stop() override {
        ++c_.stopped;
        status_.state = adapters::LinkState::stopped;
    }
    adapters::LinkStatus status() const override { return status_; }

private:
    Counters& c_;
    adapters::LinkStatus status_;
};

PbxConfig recorded(const std::string& id) {
    PbxConfig p;
    p.id = id;
    p.type = "asterisk-ami";
    p.username = "u";
    p.secret = "config-secret";
    p.port = 5038;
    return p;
}

json webhook_settings(const std::string& id, const std::string& path) {
    return {{"id", id}, {"type", "webhook"}, {"path", path}, {"secret", "0123456789abcdef-secret"}};
}

struct Fixture {
    TempDb db;
    SqliteStore store{db.file()};
    boost::asio::io_context ioc;
    Counters counters;
    std::vector<pbx::Event> events;
    std::unique_ptr<ConnectionManager> mgr;

    Fixture() { make(); }
    void make() {
        if (mgr) mgr->stop();
        mgr = std::make_unique<ConnectionManager>(ioc, store, [this](pbx::Event e) { events.push_back(std::move(e)); });
        mgr->register_type("asterisk-ami",
                           [this](const PbxConfig&, EventSink) { return std::make_unique<RecordingLink>(counters); });
    }
    json connection(const std::string& id) {
        const json all = mgr->list();  // kept: a range-for over a temporary's member would dangle
        for (const auto& c : all["connections"])
            if (c["id"] == id) return c;
        return nullptr;
    }
    std::vector<std::string> audit_actions() {
        std::vector<std::string> out;
        for (const auto& a : store.list_audit(std::nullopt, 100)) out.push_back(a.action);
        return out;
    }
};

std::string signed_post(ConnectionManager& m, const std::string& path, const std::string& body, int* status) {
    const auto ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now_ms().time_since_epoch()).count());
    auto a = m.webhook(path, ts, webhook::sign("0123456789abcdef-secret", ts, body), body);
    if (!a) {
        *status = 0;
        return "";
    }
    *status = a->status;
    return a->code;
}

}  // namespace

TEST_CASE("config connections start, show read-only, and never show their secrets") {
    Fixture f;
    f.mgr->start({recorded("main"), recorded("backup")});
    CHECK(f.counters.started == 2);
    auto c = f.connection("main");
    REQUIRE(c.is_object());
    CHECK(c["source"] == "config");
    CHECK(c["read_only"] == true);
    CHECK(c["state"] == "connected");
    CHECK(f.mgr->list().dump().find("config-secret") == std::string::npos);
}

TEST_CASE("a config connection of a type this build lacks is shown unsupported and the others still run") {
    Fixture f;
    auto sip = recorded("phones");
    sip.type = "sip";
    f.mgr->start({sip, recorded("main")});
    CHECK(f.connection("phones")["state"] == "unsupported");
    CHECK(f.connection("main")["state"] == "connected");
}

TEST_CASE("a connection added at runtime is stored, audited without its secret, and started again after a restart") {
    Fixture f;
    f.mgr->start({});
    auto added = f.mgr->add(webhook_settings("cloud", "/hooks/cloud"), "root");
    REQUIRE(added);
    CHECK(added.value()["source"] == "database");
    CHECK(added.value()["read_only"] == false);
    CHECK(added.value()["state"] == "connected");
    auto stored = f.store.list_pbx();
    REQUIRE(stored.size() == 1);
    CHECK(stored[0].created_by == "root");
    auto entries = f.store.list_audit(std::nullopt, 10);
    REQUIRE_FALSE(entries.empty());
    CHECK(entries[0].action == "pbx.add");
    CHECK(entries[0].detail.find("0123456789abcdef") == std::string::npos);

    f.make();
    f.mgr->start({});
    CHECK(f.connection("cloud")["state"] == "connected");
}

TEST_CASE("disabling stops the link now and survives a restart; enabling starts a new one") {
    Fixture f;
    f.mgr->start({recorded("main")});
    REQUIRE(f.mgr->add(webhook_settings("cloud", "/hooks/cloud"), "root"));
    auto off = f.mgr->set_enabled("main", false, "root");
    REQUIRE(off);
    CHECK(off.value()["state"] == "disabled");
    CHECK(f.counters.stopped == 1);
    REQUIRE(f.mgr->set_enabled("main", true, "root"));
    CHECK(f.counters.started == 2);
    REQUIRE(f.mgr->set_enabled("cloud", false, "root"));
    int status = 0;
    CHECK(signed_post(*f.mgr, "/hooks/cloud", R"({"id":"1","type":"call.ended","call_id":"x"})", &status) == "disabled");
    CHECK(status == 503);

    f.make();
    f.mgr->start({recorded("main")});
    CHECK(f.connection("cloud")["state"] == "disabled");
    auto actions = f.audit_actions();
    CHECK(std::count(actions.begin(), actions.end(), "pbx.disable") == 2);
    CHECK(std::count(actions.begin(), actions.end(), "pbx.enable") == 1);
}

TEST_CASE("bad settings name the field; ids and webhook paths must be free") {
    Fixture f;
    f.mgr->start({recorded("main")});
    auto r = f.mgr->add({{"id", "Main!"}, {"type", "webhook"}}, "root");
    REQUIRE_FALSE(r);
    CHECK(r.failure().message.find("field 'id'") != std::string::npos);
    r = f.mgr->add({{"id", "x"}, {"type", "asterisk-ami"}, {"host", "pbx"}, {"port", 70000}, {"username", "u"}, {"secret", "s"}}, "root");
    REQUIRE_FALSE(r);
    CHECK(r.failure().message.find("field 'port'") != std::string::npos);
    r = f.mgr->add({{"id", "x"}, {"type", "asterisk-ami"}, {"host", "pbx"}, {"username", "u"}}, "root");
    REQUIRE_FALSE(r);
    CHECK(r.failure().message.find("field 'secret'") != std::string::npos);
    r = f.mgr->add({{"id", "x"}, {"type", "webhook"}, {"path", "/hooks/x"}, {"secret", "0123456789abcdef"}, {"host", "h"}}, "root");
    REQUIRE_FALSE(r);
    CHECK(r.failure().message.find("field 'host'") != std::string::npos);
    r = f.mgr->add(webhook_settings("x", "/api/calls"), "root");
    REQUIRE_FALSE(r);
    CHECK(r.failure().message.find("field 'path'") != std::string::npos);
    r = f.mgr->add(webhook_settings("main", "/hooks/main"), "root");
    REQUIRE_FALSE(r);
    CHECK(r.failure().code == DomainError::conflict);
    REQUIRE(f.mgr->add(webhook_settings("a", "/hooks/shared"), "root"));
    r = f.mgr->add(webhook_settings("b", "/hooks/shared"), "root");
    REQUIRE_FALSE(r);
    CHECK(r.failure().message.find("field 'path'") != std::string::npos);
}

TEST_CASE("a webhook POST reaches the PBX at its path and its events reach the sink in order") {
    Fixture f;
    f.mgr->start({});
    REQUIRE(f.mgr->add(webhook_settings("cloud", "/hooks/cloud"), "root"));
    REQUIRE(f.mgr->add(webhook_settings("other", "/hooks/other"), "root"));
    int status = 0;
    CHECK(signed_post(*f.mgr, "/hooks/nowhere", "{}", &status).empty());
    CHECK(status == 0);
    const std::string ring =
        R"({"id":"e1","type":"call.ringing","call_id":"c1","from":"09121234567","extensions":["1001"]})";
    CHECK(signed_post(*f.mgr, "/hooks/cloud", ring, &status) == "accepted");
    CHECK(status == 200);
    REQUIRE_FALSE(f.events.empty());
    for (const auto& e : f.events) CHECK(e.pbx.value() == "cloud");
    const auto n = f.events.size();
    CHECK(signed_post(*f.mgr, "/hooks/cloud", ring, &status) == "duplicate");
    CHECK(f.events.size() == n);
    auto a = f.mgr->webhook("/hooks/other", "1", "00", ring);
    REQUIRE(a);
    CHECK(a->status == 401);
    auto other = f.connection("other");
    CHECK(other["last_error"].get<std::string>().find("X-Ringside-Signature") != std::string::npos);
    CHECK(f.connection("cloud")["events_received"] == 1);
    CHECK_FALSE(f.connection("cloud")["last_event_at"].is_null());
}

TEST_CASE("testing a webhook connection explains that the PBX calls in") {
    Fixture f;
    f.mgr->start({});
    REQUIRE(f.mgr->add(webhook_settings("cloud", "/hooks/cloud"), "root"));
    std::optional<Result<json>> got;
    f.mgr->test("cloud", [&](Result<json> r) { got = std::move(r); });
    REQUIRE(got);
    REQUIRE(*got);
    CHECK(got->value()["ok"] == true);
    CHECK(got->value()["message"].get<std::string>().find("/hooks/cloud") != std::string::npos);
    f.mgr->test("nope", [&](Result<json> r) { got = std::move(r); });
    CHECK_FALSE(*got);
}
