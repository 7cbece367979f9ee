#pragma once
// The TOML config file (docs/interface.md "Config file"), typed, with documented
// defaults. Unknown keys, wrong types and duplicate ids are errors that name
// the key path and the line.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "ringside/core/agent_state.hpp"
#include "ringside/core/privacy.hpp"
#include "ringside/directory/ldap_directory.hpp"

namespace ringside::app {

struct HostPort {
    std::string host;
    std::uint16_t port = 0;
};
/// "127.0.0.1:8080", "[::1]:8080", "localhost:0". nullopt when malformed.
std::optional<HostPort> parse_host_port(std::string_view s);

struct PbxConfig {
    std::string id;                    // [a-z0-9-]+, unique
    std::string type;                  // asterisk-ami | freeswitch-esl | sip | webhook
    bool enabled = true;
    // asterisk-ami and freeswitch-esl
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;            // default 5038 (AMI), 8021 (ESL)
    // asterisk-ami
    std::string username;
    std::string secret;
    bool md5 = false;                  // MD5 challenge login instead of plain Secret
    int ping_interval_seconds = 15;    // keep-alive Ping when idle
    // click-to-dial (asterisk-ami, freeswitch-esl): the agent's phone is rung as
    // <dial_tech>/<extension> (AMI; ESL rings user/<extension>), then runs
    // dial_context/<number>. Defaults: AMI "from-internal" and "PJSIP", ESL "default".
    std::string dial_context;
    std::string dial_tech = "PJSIP";
    // freeswitch-esl
    std::string password;
    // sip
    std::string listen;
    // sip: the two modes (docs/interface.md "SIP")
    std::string sip_mode = "uas";              // mode: uas (take forked INVITEs) | watch (SUBSCRIBE to dialog state)
    std::string sip_contact_host;              // contact_host: host put in Contact/Via; "" = the listen host or the route's source
    int sip_max_ring_seconds = 300;            // max_ring (uas): a fork ringing longer gets 480; 10..3600
    std::string sip_server;                    // server (watch): host:port the SUBSCRIBEs go to; required for watch
    std::string sip_transport = "udp";         // transport (watch): udp | tcp
    std::string sip_domain;                    // domain (watch): host of sip:<ext>@<domain>; "" = the server's host
    std::vector<std::string> sip_extensions;   // extensions (watch): the phones to watch; empty = every user's extension
    int sip_expires_seconds = 600;             // expires (watch): subscription lifetime asked for; 60..86400
    // webhook
    std::string path;
};

struct Config {
    std::filesystem::path file;        // where it was read from ("" for built-in)
    HostPort listen{"127.0.0.1", 8080};
    std::filesystem::path web_root;    // [server] web_root; default: the web/ folder Ringside was built with
    std::filesystem::path database = "var/ringside.db";
    /// [database] url: PostgreSQL (a libpq URL) instead of the SQLite file
    /// of `database`, for a database shared by several nodes; "" for SQLite.
    std::string database_url;
    std::string default_region = "IR";
    std::string log_level = "info";    // [log] level: trace|debug|info|warn|error
    int session_hours = 12;            // [server] session_hours: login lifetime
    bool cookie_secure = false;        // [server] cookie_secure: Secure session cookie (served behind HTTPS; always with TLS)
    /// [server] tls_certificate and tls_private_key: PEM files; both set,
    /// `listen` serves HTTPS and WSS only. Checked readable and matching
    /// when the config is read. Relative to the working directory.
    std::filesystem::path tls_certificate;
    std::filesystem::path tls_private_key;
    /// [server] allowed_origins: origins ("https://crm.example") besides the
    /// service's own whose pages may open /ws or write with the session cookie.
    std::vector<std::string> allowed_origins;
    int max_websockets_per_user = 16;  // [server] max_websockets_per_user: 1..1000
    /// [server] max_connections: TCP connections open at once (HTTP and
    /// WebSocket), 16..1000000; lowered at start to fit the open-files limit.
    int max_connections = 4096;
    /// [server] max_connections_per_address: from one client address, 1..max_connections.
    int max_connections_per_address = 256;
    /// [server] header_timeout_seconds: a request's headers must be complete within this, 1..300.
    int header_timeout_seconds = 10;
    /// [server] trusted_proxies: addresses or CIDR blocks of reverse proxies
    /// whose X-Forwarded-For / Forwarded names the client; checked when read.
    std::vector<std::string> trusted_proxies;
    bool pop_internal = false;         // [calls] pop_internal: pop calls between agents' phones too
    int service_level_seconds = 20;    // [reports] service_level_seconds: answered within this counts toward the service level (1..3600)
    /// [customers] tiers: the tiers a customer may have, best first; 1-20 of [a-z0-9-]+.
    std::vector<std::string> customer_tiers{"gold", "silver", "bronze"};
    std::vector<PbxConfig> pbx;
    /// [agent_states]: `reasons` (1-20 distinct names of [a-z0-9_-], the
    /// not-ready reasons agents pick from), `wrap_up_seconds` (0-3600, 0: no
    /// wrap-up after calls) and [agent_states.queue_wrap_up_seconds] (queue
    /// name = seconds, the same range: that queue's calls' own wrap-up).
    AgentStateRules agent_states;
    /// [retention]: whole months each kind of data is kept (1..1200); a key
    /// left out keeps that data for ever, so no table keeps everything.
    RetentionRules retention;
    /// [auth.ldap]: sign-in through the company directory; nullopt: local users only.
    std::optional<directory::LdapOptions> ldap;
};

struct ConfigError {
    std::string key;                   // "pbx[1].port", "server.listen"
    int line = 0;                      // 1-based, 0 when unknown
    std::string message;               // "must be an integer from 1 to 65535"
};

struct ConfigResult {
    std::optional<Config> config;      // set when errors is empty
    std::vector<ConfigError> errors;
};

/// Reads and validates; never throws for a bad file (errors say why),
/// including a file that cannot be read (key "", the OS reason).
ConfigResult load_config(const std::filesystem::path& file);
ConfigResult parse_config(std::string_view toml_text, const std::filesystem::path& file_name);

/// The folder of static UI files: the tree's web/ this build was made from
/// while it exists, else where the Debian package installs them.
std::filesystem::path default_web_root();

}  // namespace ringside::app
