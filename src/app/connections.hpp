#pragma once
// The PBX connection manager: every PBX link of a running Ringside, from the
// config file and from the database (added on the admin page), started,
// stopped and tested at runtime. One link failing never touches another:
// each runs on its own strand and only posts events to the engine.
//
// Link types are registered by name ("asterisk-ami", "freeswitch-esl",
// "webhook", ...) with a factory; app.cpp registers them in one place. Find
// a PBX's link by id with with_link() (click-to-dial uses it to reach the AMI
// connection).
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ringside/adapters/link_status.hpp"
#include "ringside/app/config.hpp"
#include "ringside/core/pbx_event.hpp"
#include "ringside/server/pbx_control.hpp"
#include "ringside/storage/store.hpp"

namespace ringside::app {

/// One running PBX link, whatever its protocol.
class Link {
public:
    virtual ~Link() = default;
    /// Starts connecting (or listening); a stopped link is never restarted:
    /// the manager makes a new one.
    virtual void start() = 0;
    /// Idempotent; no event is delivered once the stop has run.
    virtual void stop() = 0;
    virtual adapters::LinkStatus status() const = 0;
};

/// Where a link's events go: called on the link's strand, must not block.
using EventSink = std::function<void(pbx::Event)>;
/// Makes an unstarted link for one connection.
using LinkFactory = std::function<std::unique_ptr<Link>(const PbxConfig&, EventSink)>;

/// A webhook PBX: nothing to connect to; POSTs come in through the server.
class WebhookLink;

class ConnectionManager final : public server::PbxControl {
public:
    ConnectionManager(boost::asio::io_context& ioc, Storage& store, EventSink sink);
    ~ConnectionManager() override;

    /// Registers a link type before start(). `test_wait` bounds test().
    void register_type(std::string type, LinkFactory factory);

    /// Starts the enabled connections of the config file and of the database.
    /// A database connection whose id the config file also uses is skipped
    /// (the file wins) with a warning.
    void start(const std::vector<PbxConfig>& from_config);
    /// Stops every link; events posted before stay posted. Idempotent.
    void stop();

    /// Runs fn with the link of this PBX id while the manager's lock is held;
    /// false when there is no such running link. fn must not block.
    bool with_link(const std::string& id, const std::function<void(Link&)>& fn);
    /// Runs fn with every running link and its PBX id, in the order they were
    /// added, while the manager's lock is held. fn must not block.
    void for_each_link(const std::function<void(const std::string& id, Link&)>& fn);

    /// Prometheus lines: ringside_pbx_link_up, events and reconnects per PBX.
    std::string metrics();

    // server::PbxControl
    nlohmann::json list() override;
    Result<nlohmann::json> add(const nlohmann::json& settings, const std::string& actor) override;
    Result<nlohmann::json> set_enabled(const std::string& id, bool enabled, const std::string& actor) override;
    Result<nlohmann::json> update(const std::string& id, const nlohmann::json& changes, const std::string& actor) override;
    Result<nlohmann::json> remove(const std::string& id, const std::string& actor) override;
    void test(const std::string& id, std::function<void(Result<nlohmann::json>)> done) override;
    std::optional<WebhookAnswer> webhook(std::string_view path, std::string_view timestamp, std::string_view signature,
                                         std::string_view body) override;

    /// How long test() waits for a verdict.
    std::chrono::milliseconds test_timeout{6000};

private:
    struct Entry {
        PbxConfig config;
        bool from_file = true;
        bool enabled = true;
        std::unique_ptr<Link> link;                      // null while disabled (or type unsupported)
        std::string unsupported;                         // why it cannot run in this build, "" when it can
        // events per second: (time, events_received) once a second, last 10 s
        std::vector<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> samples;
    };

    void start_link(Entry& e);
    nlohmann::json view(const Entry& e) const;
    void sample();
    Entry* find(const std::string& id);
    /// The conflict when another connection than `except` already receives
    /// webhooks at p's path (only for webhook connections).
    std::optional<Failure> webhook_path_taken(const PbxConfig& p, const Entry* except) const;

    boost::asio::io_context& ioc_;
    Storage& store_;
    EventSink sink_;
    std::map<std::string, LinkFactory> factories_;
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<Entry>> entries_;        // in the order they were added
    boost::asio::steady_timer sampler_;
    bool stopped_ = false;
};

/// Parses a connection as the admin API takes it ({"id","type","host",
/// "port","username","secret","md5","password","path"}); the failure names
/// the field. Does not check that the id is free.
Result<PbxConfig> pbx_from_json(const nlohmann::json& j);
/// The settings as stored in the database (secrets included).
nlohmann::json pbx_to_json(const PbxConfig& p);
/// Makes webhook links; needs nothing but the config.
std::unique_ptr<Link> make_webhook_link(const PbxConfig& p, EventSink sink);

}  // namespace ringside::app
