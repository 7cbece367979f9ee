#include "connections.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ringside/webhook/receiver.hpp"

namespace ringside::app {

namespace asio = boost::asio;
using json = nlohmann::json;

// ---------------------------------------------------------------- webhook link

class WebhookLink final : public Link {
public:
    WebhookLink(const PbxConfig& p, EventSink sink)
        : receiver_([&] {
              webhook::ReceiverConfig c;
              c.pbx = PbxId{p.id};
              c.secret = p.secret;
              return c;
          }()),
          sink_(std::move(sink)) {}

    void start() override {
        std::lock_guard lock(mutex_);
        if (status_.state != adapters::LinkState::stopped) status_.state = adapters::LinkState::connected;
    }
    void stop() override {
        std::lock_guard lock(mutex_);
        status_.state = adapters::LinkState::stopped;
    }
    adapters::LinkStatus status() const override {
        std::lock_guard lock(mutex_);
        return status_;
    }

    /// One POST: verdict, and on acceptance its events to the engine, in order.
    webhook::Outcome receive(std::string_view ts, std::string_view sig, std::string_view body) {
        std::lock_guard lock(mutex_);
        const auto now = now_ms();
        auto o = receiver_.receive(ts, sig, body, now);
        if (o.verdict == webhook::Verdict::accepted) {
            ++status_.events_received;
            status_.last_event_at = now;
            for (auto& ev : o.events) sink_(std::move(ev));
        } else if (o.verdict != webhook::Verdict::duplicate) {
            // The sender's mistakes are this link's errors: the admin page shows the last one.
            status_.last_error = "refused a POST: " + o.message;
            ++status_.protocol_warnings;
            // Anyone can POST here: one line a minute per link, with the count of the others.
            if (warned_at_ && now - *warned_at_ < std::chrono::minutes(1)) {
                ++warnings_suppressed_;
            } else {
                const std::string others =
                    warnings_suppressed_ == 0 ? std::string()
                                              : " (" + std::to_string(warnings_suppressed_) +
                                                    " more refused in the last minute, not logged)";
                spdlog::warn("pbx {}: webhook refused ({}): {}{}", receiver_.config().pbx.value(),
                             webhook::to_string(o.verdict), o.message, others);
                warned_at_ = now;
                warnings_suppressed_ = 0;
            }
        }
        return o;
    }

private:
    mutable std::mutex mutex_;
    webhook::Receiver receiver_;
    EventSink sink_;
    std::optional<Timestamp> warned_at_;        // the last refused POST that was logged
    std::uint64_t warnings_suppressed_ = 0;     // refused since then, not logged
    adapters::LinkStatus status_;
};

std::unique_ptr<Link> make_webhook_link(const PbxConfig& p, EventSink sink) {
    return std::make_unique<WebhookLink>(p, std::move(sink));
}

// ---------------------------------------------------------------- settings

namespace {

bool id_ok(const std::string& id) {
    return !id.empty() && id.size() <= 32 && id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
}

/// Paths the server itself answers can never be a webhook's.
bool reserved_path(const std::string& p) {
    return p == "/ws" || p == "/healthz" || p == "/metrics" || p.starts_with("/api/") || p == "/api";
}

}  // namespace

Result<PbxConfig> pbx_from_json(const json& j) {
    auto bad = [](std::string m) { return Failure{DomainError::invalid_argument, std::move(m)}; };
    if (!j.is_object()) return bad("the connection must be a JSON object");
    static const std::vector<std::string> allowed = {"id",     "type", "host", "port",     "username",
                                                     "secret", "md5",  "password", "path", "enabled"};
    for (const auto& [k, v] : j.items())
        if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) return bad("unknown field '" + k + "'");
    std::optional<Failure> problem;
    auto text = [&](const char* name, std::string& out, std::size_t max) {
        auto it = j.find(name);
        if (problem || it == j.end() || it->is_null()) return;
        if (!it->is_string()) problem = bad(std::string("field '") + name + "' must be a string");
        else if (it->get_ref<const std::string&>().size() > max)
            problem = bad(std::string("field '") + name + "' is longer than " + std::to_string(max) + " bytes");
        else out = it->get<std::string>();
    };
    PbxConfig p;
    text("id", p.id, 64);
    text("type", p.type, 32);
    if (problem) return *problem;
    if (!id_ok(p.id)) return bad("field 'id' must be 1 to 32 of a-z 0-9 -");
    if (auto it = j.find("enabled"); it != j.end()) {
        if (!it->is_boolean()) return bad("field 'enabled' must be true or false");
        p.enabled = it->get<bool>();
    }
    auto port = [&](std::uint16_t dflt) {
        p.port = dflt;
        auto it = j.find("port");
        if (problem || it == j.end() || it->is_null()) return;
        if (!it->is_number_integer() || it->get<long long>() < 1 || it->get<long long>() > 65535)
            problem = bad("field 'port' must be a whole number from 1 to 65535");
        else p.port = static_cast<std::uint16_t>(it->get<long long>());
    };
    auto host = [&] {
        text("host", p.host, 253);
        if (!problem && p.host.empty()) problem = bad("field 'host' must not be empty");
        if (!problem && p.host.find_first_of(" /\\\"'") != std::string::npos)
            problem = bad("field 'host' must be a host name or an IP address");
    };
    auto only = [&](std::initializer_list<const char*> keys) {
        for (const auto& [k, v] : j.items()) {
            bool ok = false;
            for (auto key : keys) ok = ok || k == key;
            if (!ok && !problem) problem = bad("field '" + k + "' does not apply to type " + p.type);
        }
    };
    if (p.type == "asterisk-ami") {
        only({"id", "type", "enabled", "host", "port", "username", "secret", "md5"});
        host();
        port(5038);
        text("username", p.username, 128);
        text("secret", p.secret, 256);
        if (auto it = j.find("md5"); !problem && it != j.end()) {
            if (!it->is_boolean()) problem = bad("field 'md5' must be true or false");
            else p.md5 = it->get<bool>();
        }
        if (!problem && p.username.empty()) problem = bad("field 'username' is required for asterisk-ami");
        if (!problem && p.secret.empty()) problem = bad("field 'secret' is required for asterisk-ami");
    } else if (p.type == "freeswitch-esl") {
        only({"id", "type", "enabled", "host", "port", "password"});
        host();
        port(8021);
        text("password", p.password, 256);
        if (!problem && p.password.empty()) problem = bad("field 'password' is required for freeswitch-esl");
    } else if (p.type == "webhook") {
        only({"id", "type", "enabled", "path", "secret"});
        text("path", p.path, 200);
        text("secret", p.secret, 256);
        if (!problem && (p.path.size() < 2 || p.path.front() != '/' ||
                         p.path.find_first_of("?# %") != std::string::npos))
            problem = bad("field 'path' must be an absolute URL path, e.g. \"/hooks/cloud-pbx\"");
        if (!problem && reserved_path(p.path)) problem = bad("field 'path' is one of Ringside's own paths");
        if (!problem && p.secret.size() < 16) problem = bad("field 'secret' must be at least 16 characters");
    } else if (p.type.empty()) {
        return bad("field 'type' is required: asterisk-ami, freeswitch-esl or webhook");
    } else {
        return bad("field 'type' must be asterisk-ami, freeswitch-esl or webhook");
    }
    if (problem) return *problem;
    return p;
}

json pbx_to_json(const PbxConfig& p) {
    json j = {{"id", p.id}, {"type", p.type}};
    if (p.type == "asterisk-ami") {
        j.update({{"host", p.host}, {"port", p.port}, {"username", p.username}, {"secret", p.secret}, {"md5", p.md5}});
    } else if (p.type == "freeswitch-esl") {
        j.update({{"host", p.host}, {"port", p.port}, {"password", p.password}});
    } else if (p.type == "webhook") {
        j.update({{"path", p.path}, {"secret", p.secret}});
    } else if (p.type == "sip") {
        j["listen"] = p.listen;
    }
    return j;
}

namespace {

/// A connection's settings for the audit log: everything but its secrets.
std::string audit_detail(const PbxConfig& p, bool enabled) {
    json detail = pbx_to_json(p);
    detail.erase("secret");
    detail.erase("password");
    detail["enabled"] = enabled;
    return detail.dump();
}

}  // namespace

// ---------------------------------------------------------------- manager

ConnectionManager::ConnectionManager(asio::io_context& ioc, Storage& store, EventSink sink)
    : ioc_(ioc), store_(store), sink_(std::move(sink)), sampler_(ioc) {
    register_type("webhook", make_webhook_link);
}

ConnectionManager::~ConnectionManager() { stop(); }

void ConnectionManager::register_type(std::string type, LinkFactory factory) {
    std::lock_guard lock(mutex_);
    factories_[std::move(type)] = std::move(factory);
}

ConnectionManager::Entry* ConnectionManager::find(const std::string& id) {
    for (auto& e : entries_)
        if (e->config.id == id) return e.get();
    return nullptr;
}

void ConnectionManager::start_link(Entry& e) {
    auto it = factories_.find(e.config.type);
    if (it == factories_.end()) {
        e.unsupported = "type " + e.config.type + " is not supported by this build yet";
        spdlog::warn("pbx {}: {}; skipped", e.config.id, e.unsupported);
        return;
    }
    e.samples.clear();
    e.link = it->second(e.config, sink_);
    if (!e.link) {
        e.unsupported = "its settings are not valid (see ringside check-config)";
        spdlog::warn("pbx {}: {}; skipped", e.config.id, e.unsupported);
        return;
    }
    e.link->start();
}

void ConnectionManager::start(const std::vector<PbxConfig>& from_config) {
    std::vector<StoredPbx> stored;
    try {
        stored = store_.list_pbx();
    } catch (const StorageError& err) {
        spdlog::error("pbx connections from the database could not be read: {}", err.what());
    }
    std::lock_guard lock(mutex_);
    for (const auto& p : from_config) {
        auto e = std::make_unique<Entry>();
        e->config = p;
        e->enabled = p.enabled;
        if (e->enabled) start_link(*e);
        entries_.push_back(std::move(e));
    }
    for (const auto& s : stored) {
        if (find(s.id)) {
            spdlog::warn("pbx {}: defined in the config file and in the database; the file's is used", s.id);
            continue;
        }
        auto parsed = pbx_from_json(json::parse(s.settings, nullptr, false));
        if (!parsed) {
            spdlog::error("pbx {}: stored settings are unusable ({}); skipped", s.id, parsed.failure().message);
            continue;
        }
        auto e = std::make_unique<Entry>();
        e->config = parsed.value();
        e->from_file = false;
        e->enabled = s.enabled;
        if (e->enabled) start_link(*e);
        entries_.push_back(std::move(e));
    }
    sampler_.expires_after(std::chrono::seconds(1));
    sampler_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) sample();
    });
}

void ConnectionManager::stop() {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    sampler_.cancel();
    for (auto& e : entries_)
        if (e->link) e->link->stop();
}

void ConnectionManager::sample() {
    {
        std::lock_guard lock(mutex_);
        if (stopped_) return;
        const auto now = std::chrono::steady_clock::now();
        for (auto& e : entries_) {
            if (!e->link) continue;
            e->samples.emplace_back(now, e->link->status().events_received);
            if (e->samples.size() > 11) e->samples.erase(e->samples.begin());
        }
    }
    sampler_.expires_after(std::chrono::seconds(1));
    sampler_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) sample();
    });
}

bool ConnectionManager::with_link(const std::string& id, const std::function<void(Link&)>& fn) {
    std::lock_guard lock(mutex_);
    Entry* e = find(id);
    if (!e || !e->link) return false;
    fn(*e->link);
    return true;
}

void ConnectionManager::for_each_link(const std::function<void(const std::string&, Link&)>& fn) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_)
        if (e->link) fn(e->config.id, *e->link);
}

json ConnectionManager::view(const Entry& e) const {
    json j = {{"id", e.config.id},
              {"type", e.config.type},
              {"source", e.from_file ? "config" : "database"},
              {"read_only", e.from_file},
              {"enabled", e.enabled}};
    if (e.config.type == "asterisk-ami" || e.config.type == "freeswitch-esl") {
        j["host"] = e.config.host;
        j["port"] = e.config.port;
    }
    if (e.config.type == "asterisk-ami") j["username"] = e.config.username;
    if (e.config.type == "webhook") j["path"] = e.config.path;
    if (e.config.type == "sip") j["listen"] = e.config.listen;
    adapters::LinkStatus s;
    s.state = adapters::LinkState::stopped;
    if (e.link) s = e.link->status();
    std::string state = adapters::to_string(s.state);
    if (!e.enabled) state = "disabled";
    else if (!e.unsupported.empty()) state = "unsupported";
    j["state"] = state;
    j["last_error"] = !e.unsupported.empty() ? e.unsupported : s.last_error;
    j["last_event_at"] = s.last_event_at ? json(format_iso(*s.last_event_at)) : json(nullptr);
    j["events_received"] = s.events_received;
    j["reconnects"] = s.reconnects;
    double eps = 0;
    if (e.samples.size() >= 2) {
        const auto& [t0, n0] = e.samples.front();
        const auto& [t1, n1] = e.samples.back();
        const double secs = std::chrono::duration<double>(t1 - t0).count();
        if (secs > 0 && n1 >= n0) eps = static_cast<double>(n1 - n0) / secs;
    }
    j["events_per_second"] = std::round(eps * 10) / 10;
    return j;
}

json ConnectionManager::list() {
    std::lock_guard lock(mutex_);
    json list = json::array();
    for (const auto& e : entries_) list.push_back(view(*e));
    return {{"connections", list}};
}

std::optional<Failure> ConnectionManager::webhook_path_taken(const PbxConfig& p, const Entry* except) const {
    if (p.type != "webhook") return std::nullopt;
    for (const auto& other : entries_)
        if (other.get() != except && other->config.type == "webhook" && other->config.path == p.path)
            return Failure{DomainError::conflict, "field 'path': PBX " + other->config.id + " already receives webhooks there"};
    return std::nullopt;
}

Result<json> ConnectionManager::add(const json& settings, const std::string& actor) {
    auto parsed = pbx_from_json(settings);
    if (!parsed) return parsed.failure();
    PbxConfig p = parsed.value();
    std::lock_guard lock(mutex_);
    if (stopped_) return Failure{DomainError::conflict, "Ringside is shutting down"};
    if (find(p.id)) return Failure{DomainError::conflict, "a PBX connection with id '" + p.id + "' exists"};
    if (!factories_.count(p.type))
        return Failure{DomainError::invalid_argument, "field 'type': " + p.type + " is not supported by this build"};
    if (auto taken = webhook_path_taken(p, nullptr)) return *taken;
    StoredPbx s;
    s.id = p.id;
    s.type = p.type;
    s.settings = pbx_to_json(p).dump();
    s.enabled = p.enabled;
    s.created_at = now_ms();
    s.created_by = actor;
    try {
        store_.create_pbx(s);
    } catch (const StorageConflict&) {
        return Failure{DomainError::conflict, "a PBX connection with id '" + p.id + "' exists"};
    }
    store_.audit(actor, "pbx.add", audit_detail(p, p.enabled), s.created_at);
    auto e = std::make_unique<Entry>();
    e->config = p;
    e->from_file = false;
    e->enabled = p.enabled;
    if (e->enabled) start_link(*e);
    spdlog::info("pbx {}: added by {} ({})", p.id, actor, p.type);
    entries_.push_back(std::move(e));
    return view(*entries_.back());
}

Result<json> ConnectionManager::set_enabled(const std::string& id, bool enabled, const std::string& actor) {
    std::lock_guard lock(mutex_);
    Entry* e = find(id);
    if (!e) return Failure{DomainError::not_found, "no PBX connection with id '" + id + "'"};
    if (stopped_) return Failure{DomainError::conflict, "Ringside is shutting down"};
    if (!e->from_file) store_.set_pbx_enabled(id, enabled);
    store_.audit(actor, enabled ? "pbx.enable" : "pbx.disable",
                 json{{"id", id}, {"source", e->from_file ? "config" : "database"}}.dump(), now_ms());
    if (e->enabled == enabled) return view(*e);
    e->enabled = enabled;
    if (enabled) {
        e->unsupported.clear();
        start_link(*e);
        spdlog::info("pbx {}: enabled by {}", id, actor);
    } else if (e->link) {
        e->link->stop();
        spdlog::info("pbx {}: disabled by {}", id, actor);
    }
    return view(*e);
}

Result<json> ConnectionManager::update(const std::string& id, const json& changes, const std::string& actor) {
    if (!changes.is_object()) return Failure{DomainError::invalid_argument, "the changes must be a JSON object"};
    for (const char* fixed : {"id", "type"})
        if (changes.contains(fixed))
            return Failure{DomainError::invalid_argument, std::string("field '") + fixed +
                                                              "' cannot be changed: remove the connection and add a new one"};
    std::lock_guard lock(mutex_);
    Entry* e = find(id);
    if (!e) return Failure{DomainError::not_found, "no PBX connection with id '" + id + "'"};
    if (stopped_) return Failure{DomainError::conflict, "Ringside is shutting down"};
    if (e->from_file)
        return Failure{DomainError::conflict, "PBX " + id + " comes from the config file: change it there"};
    json merged = pbx_to_json(e->config);
    merged["enabled"] = e->enabled;
    std::vector<std::string> changed;
    for (const auto& [key, value] : changes.items()) {
        // The page never shows a secret: an empty one means "keep the stored one".
        if ((key == "secret" || key == "password") && value.is_string() && value.get_ref<const std::string&>().empty())
            continue;
        if (value.is_null()) merged.erase(key);
        else merged[key] = value;
        changed.push_back(key);
    }
    auto parsed = pbx_from_json(merged);
    if (!parsed) return parsed.failure();
    PbxConfig p = parsed.value();
    if (auto taken = webhook_path_taken(p, e)) return *taken;
    if (!store_.update_pbx(id, pbx_to_json(p).dump(), p.enabled))
        return Failure{DomainError::not_found, "no stored PBX connection with id '" + id + "'"};
    store_.audit(actor, "pbx.update", json{{"id", id}, {"fields", changed}}.dump(), now_ms());
    if (e->link) e->link->stop();
    e->link.reset();
    e->config = p;
    e->enabled = p.enabled;
    e->unsupported.clear();
    e->samples.clear();
    if (e->enabled) start_link(*e);
    spdlog::info("pbx {}: settings changed by {}", id, actor);
    return view(*e);
}

Result<json> ConnectionManager::remove(const std::string& id, const std::string& actor) {
    std::lock_guard lock(mutex_);
    Entry* e = find(id);
    if (!e) return Failure{DomainError::not_found, "no PBX connection with id '" + id + "'"};
    if (stopped_) return Failure{DomainError::conflict, "Ringside is shutting down"};
    if (e->from_file)
        return Failure{DomainError::conflict, "PBX " + id + " comes from the config file: remove it there"};
    if (!store_.remove_pbx(id)) return Failure{DomainError::not_found, "no stored PBX connection with id '" + id + "'"};
    store_.audit(actor, "pbx.remove", audit_detail(e->config, e->enabled), now_ms());
    if (e->link) e->link->stop();
    entries_.erase(std::find_if(entries_.begin(), entries_.end(), [e](const auto& x) { return x.get() == e; }));
    spdlog::info("pbx {}: removed by {}", id, actor);
    return json{{"removed", id}};
}

void ConnectionManager::test(const std::string& id, std::function<void(Result<json>)> done) {
    PbxConfig cfg;
    LinkFactory factory;
    {
        std::lock_guard lock(mutex_);
        Entry* e = find(id);
        if (!e) return done(Failure{DomainError::not_found, "no PBX connection with id '" + id + "'"});
        cfg = e->config;
        if (cfg.type == "webhook") {
            auto s = e->link ? e->link->status() : adapters::LinkStatus{};
            std::string msg = "a webhook PBX connects to Ringside: it POSTs signed events to " + cfg.path + ". ";
            msg += s.last_event_at ? "The last accepted event came at " + format_iso(*s.last_event_at) + "."
                                   : "No event has been accepted since Ringside started.";
            if (!s.last_error.empty()) msg += " Last problem: " + s.last_error;
            return done(json{{"ok", e->enabled}, {"state", e->enabled ? "listening" : "disabled"}, {"message", msg}});
        }
        auto it = factories_.find(cfg.type);
        if (it == factories_.end())
            return done(json{{"ok", false}, {"state", "unsupported"},
                             {"message", "type " + cfg.type + " is not supported by this build"}});
        factory = it->second;
    }
    // A separate link with the same settings, whose events go nowhere: the
    // running link (if any) is not disturbed.
    struct Probe {
        std::unique_ptr<Link> link;
        asio::steady_timer timer;
        std::chrono::steady_clock::time_point deadline;
        std::function<void(Result<json>)> done;
        std::string where;
        explicit Probe(asio::io_context& ioc) : timer(ioc) {}
    };
    auto probe = std::make_shared<Probe>(ioc_);
    probe->link = factory(cfg, [](pbx::Event) {});
    probe->deadline = std::chrono::steady_clock::now() + test_timeout;
    probe->done = std::move(done);
    probe->where = cfg.host + ":" + std::to_string(cfg.port);
    probe->link->start();
    auto poll = std::make_shared<std::function<void()>>();
    *poll = [probe, weak = std::weak_ptr<std::function<void()>>(poll)] {
        const auto s = probe->link->status();
        std::optional<json> verdict;
        if (s.state == adapters::LinkState::connected) {
            verdict = json{{"ok", true}, {"state", "connected"}, {"message", "connected and logged in to " + probe->where}};
        } else if (s.state == adapters::LinkState::login_refused) {
            verdict = json{{"ok", false},
                           {"state", "login_refused"},
                           {"message", s.last_error.empty() ? "the PBX at " + probe->where + " refused the login"
                                                            : s.last_error}};
        } else if (s.reconnects > 0) {
            verdict = json{{"ok", false}, {"state", "unreachable"}, {"message", s.last_error}};
        } else if (std::chrono::steady_clock::now() >= probe->deadline) {
            verdict = json{{"ok", false},
                           {"state", "timeout"},
                           {"message", "no answer from " + probe->where + " within the test's time limit"}};
        }
        if (verdict) {
            probe->link->stop();
            auto finished = std::move(probe->done);
            finished(*verdict);
            return;  // nothing re-arms: the probe and this function go with the last handler
        }
        probe->timer.expires_after(std::chrono::milliseconds(50));
        probe->timer.async_wait([self = weak.lock()](const boost::system::error_code& ec) {
            if (!ec && self) (*self)();
        });
    };
    asio::post(ioc_, [poll] { (*poll)(); });
}

std::optional<server::PbxControl::WebhookAnswer> ConnectionManager::webhook(std::string_view path,
                                                                            std::string_view timestamp,
                                                                            std::string_view signature,
                                                                            std::string_view body) {
    std::lock_guard lock(mutex_);
    for (auto& e : entries_) {
        if (e->config.type != "webhook" || e->config.path != path) continue;
        auto* link = dynamic_cast<WebhookLink*>(e->link.get());
        if (!e->enabled || !link || link->status().state == adapters::LinkState::stopped)
            return WebhookAnswer{503, "disabled", "PBX " + e->config.id + " is disabled on this Ringside"};
        auto o = link->receive(timestamp, signature, body);
        return WebhookAnswer{webhook::http_status(o.verdict), webhook::to_string(o.verdict), o.message};
    }
    return std::nullopt;
}

std::string ConnectionManager::metrics() {
    std::ostringstream out, events, reconnects;
    auto esc = [](const std::string& s) {
        std::string o;
        for (char c : s) {
            if (c == '\\' || c == '"') o += '\\';
            if (c == '\n') {
                o += "\\n";
                continue;
            }
            o += c;
        }
        return o;
    };
    out << "# HELP ringside_pbx_link_up 1 when the PBX link is logged in.\n# TYPE ringside_pbx_link_up gauge\n";
    std::lock_guard lock(mutex_);
    for (const auto& e : entries_) {
        if (!e->link) continue;
        auto s = e->link->status();
        auto id = esc(e->config.id);
        out << "ringside_pbx_link_up{pbx=\"" << id << "\",state=\"" << adapters::to_string(s.state) << "\"} "
            << (s.state == adapters::LinkState::connected ? 1 : 0) << "\n";
        events << "ringside_pbx_events_total{pbx=\"" << id << "\"} " << s.events_received << "\n";
        reconnects << "ringside_pbx_reconnects_total{pbx=\"" << id << "\"} " << s.reconnects << "\n";
    }
    out << "# HELP ringside_pbx_events_total PBX events received.\n# TYPE ringside_pbx_events_total counter\n"
        << events.str();
    out << "# HELP ringside_pbx_reconnects_total PBX links lost or refused.\n# TYPE ringside_pbx_reconnects_total counter\n"
        << reconnects.str();
    return out.str();
}

}  // namespace ringside::app
