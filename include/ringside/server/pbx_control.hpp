#pragma once
// What the admin routes and the webhook routes need from whoever runs the PBX
// links (the app's ConnectionManager): the server knows no adapter, the
// manager knows no HTTP. Every method may be called from any thread.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ringside/core/errors.hpp"

namespace ringside::server {

class PbxControl {
public:
    virtual ~PbxControl() = default;

    /// {"connections":[connection view]}: every connection, config and
    /// database, with its live state. Secrets are never in it.
    virtual nlohmann::json list() = 0;
    /// Adds a connection from the admin page (the fields of POST
    /// /api/admin/pbx), stores it and starts it. The failure names the field.
    virtual Result<nlohmann::json> add(const nlohmann::json& settings, const std::string& actor) = 0;
    /// Starts or stops a connection now. Stored for database connections;
    /// config connections return to the file's setting at the next start.
    virtual Result<nlohmann::json> set_enabled(const std::string& id, bool enabled, const std::string& actor) = 0;
    /// Changes a database connection's settings (the fields of POST but id
    /// and type; an empty secret or password keeps the stored one) and
    /// restarts its link with them. Config-file connections are read-only.
    virtual Result<nlohmann::json> update(const std::string& id, const nlohmann::json& changes,
                                          const std::string& actor) = 0;
    /// Stops and removes a database connection; audited with its settings
    /// (secrets left out); answers {"removed": id}. Its calls stay in the log.
    virtual Result<nlohmann::json> remove(const std::string& id, const std::string& actor) = 0;
    /// One real connect and login with a deadline, apart from the running
    /// link; done gets {"ok","state","message"} on any thread.
    virtual void test(const std::string& id, std::function<void(Result<nlohmann::json>)> done) = 0;

    struct WebhookAnswer {
        int status = 200;
        std::string code;     // "accepted", "duplicate", or the error code
        std::string message;  // plain words; "" when accepted
    };
    /// A POST to `path`: nullopt when no webhook PBX listens there.
    virtual std::optional<WebhookAnswer> webhook(std::string_view path, std::string_view timestamp,
                                                 std::string_view signature, std::string_view body) = 0;
};

}  // namespace ringside::server
