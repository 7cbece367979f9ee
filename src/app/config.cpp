#include "ringside/app/config.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "ringside/core/model.hpp"
#include "ringside/server/client_address.hpp"
#include "ringside/server/tls_identity.hpp"

namespace ringside::app {
namespace {

int line_of(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

class Checker {
public:
    explicit Checker(std::vector<ConfigError>& errors) : errors_(errors) {}

    void error(std::string key, int line, std::string message) {
        errors_.push_back({std::move(key), line, std::move(message)});
    }

    /// Every key of tbl must be in allowed.
    void known_keys(const toml::table& tbl, const std::string& prefix, std::initializer_list<std::string_view> allowed) {
        for (auto&& [k, v] : tbl) {
            bool ok = false;
            for (auto a : allowed) ok = ok || a == k.str();
            if (!ok) error(join(prefix, k.str()), line_of(v), "unknown key");
        }
    }

    void str(const toml::table& tbl, const std::string& prefix, std::string_view key, std::string& out) {
        if (auto* n = tbl.get(key)) {
            if (auto* s = n->as_string()) out = s->get();
            else error(join(prefix, key), line_of(*n), "must be a string");
        }
    }

    void boolean(const toml::table& tbl, const std::string& prefix, std::string_view key, bool& out) {
        if (auto* n = tbl.get(key)) {
            if (auto* b = n->as_boolean()) out = b->get();
            else error(join(prefix, key), line_of(*n), "must be true or false");
        }
    }

    template <class Int>
    void integer(const toml::table& tbl, const std::string& prefix, std::string_view key, Int& out, long long lo,
                 long long hi) {
        if (auto* n = tbl.get(key)) {
            auto* i = n->as_integer();
            if (!i || i->get() < lo || i->get() > hi)
                error(join(prefix, key), line_of(*n),
                      "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
            else
                out = static_cast<Int>(i->get());
        }
    }

    const toml::table* table(const toml::table& root, std::string_view key) {
        auto* n = root.get(key);
        if (!n) return nullptr;
        if (auto* t = n->as_table()) return t;
        error(std::string(key), line_of(*n), "must be a table ([" + std::string(key) + "])");
        return nullptr;
    }

    int line(const toml::table& tbl, std::string_view key) {
        auto* n = tbl.get(key);
        return n ? line_of(*n) : line_of(tbl);
    }

    std::size_t count() const { return errors_.size(); }

    static std::string join(const std::string& prefix, std::string_view key) {
        return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
    }

private:
    std::vector<ConfigError>& errors_;
};

bool valid_region(const std::string& r) {
    return r.size() == 2 && std::isupper(static_cast<unsigned char>(r[0])) &&
           std::isupper(static_cast<unsigned char>(r[1]));
}

bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

/// [server] tls_certificate and tls_private_key: both or neither; when
/// both, the files are read and the key must belong to the certificate, so
/// that check-config finds what `serve` would refuse.
void check_tls(Checker& c, const toml::table& server, Config& cfg) {
    std::string cert, key;
    const std::size_t before = c.count();
    c.str(server, "server", "tls_certificate", cert);
    c.str(server, "server", "tls_private_key", key);
    if (c.count() != before) return;
    for (auto [name, value] : {std::pair{"tls_certificate", &cert}, std::pair{"tls_private_key", &key}})
        if (server.get(name) && value->empty())
            c.error(std::string("server.") + name, c.line(server, name), "must be the path of a PEM file, not empty");
    if (c.count() != before) return;
    if (cert.empty() != key.empty()) {
        const char* missing = cert.empty() ? "tls_certificate" : "tls_private_key";
        const char* given = cert.empty() ? "tls_private_key" : "tls_certificate";
        c.error(std::string("server.") + missing, c.line(server, given),
                std::string("is required with ") + given + ": HTTPS needs both the certificate and its private key");
        return;
    }
    if (cert.empty()) return;
    if (auto* n = server.get("cookie_secure"); n && n->as_boolean() && !n->as_boolean()->get())
        c.error("server.cookie_secure", line_of(*n),
                "cannot be false with tls_certificate: over HTTPS the session cookie is always Secure (remove the key)");
    auto loaded = server::load_tls_identity({cert, key});
    if (auto* p = std::get_if<server::TlsProblem>(&loaded)) {
        const char* name = p->file == server::TlsProblem::File::certificate ? "tls_certificate" : "tls_private_key";
        c.error(std::string("server.") + name, c.line(server, name), p->message);
        return;
    }
    cfg.tls_certificate = cert;
    cfg.tls_private_key = key;
    cfg.cookie_secure = true;
}

/// [server] max_connections, max_connections_per_address,
/// header_timeout_seconds and trusted_proxies.
void check_connections(Checker& c, const toml::table& server, Config& cfg) {
    c.integer(server, "server", "max_connections", cfg.max_connections, 16, 1000000);
    const std::size_t before = c.count();
    c.integer(server, "server", "max_connections_per_address", cfg.max_connections_per_address, 1, 1000000);
    if (c.count() == before && cfg.max_connections_per_address > cfg.max_connections)
        c.error("server.max_connections_per_address", c.line(server, "max_connections_per_address"),
                "is larger than max_connections (" + std::to_string(cfg.max_connections) + "): one address could never use it");
    c.integer(server, "server", "header_timeout_seconds", cfg.header_timeout_seconds, 1, 300);
    auto* n = server.get("trusted_proxies");
    if (!n) return;
    auto* arr = n->as_array();
    if (!arr) {
        c.error("server.trusted_proxies", line_of(*n), "must be an array of addresses or CIDR blocks, e.g. [\"127.0.0.1\"]");
        return;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
        auto* v = (*arr)[i].as_string();
        if (!v || !server::parse_address_range(v->get())) {
            c.error("server.trusted_proxies[" + std::to_string(i) + "]", line_of((*arr)[i]),
                    "must be an IP address or a CIDR block with no host bits set, e.g. \"127.0.0.1\", \"10.0.0.0/8\" "
                    "or \"fd00::/8\"");
            continue;
        }
        cfg.trusted_proxies.push_back(v->get());
    }
}

}  // namespace

// ---- [[pbx]] type = "sip" ----------------------------------------------------
namespace {
void check_sip(Checker& c, const toml::table& t, const std::string& prefix, PbxConfig& p) {
    c.known_keys(t, prefix, {"id", "type", "enabled", "listen", "mode", "contact_host", "max_ring", "server", "transport",
                             "domain", "extensions", "expires"});
    const int tline = line_of(t);
    c.str(t, prefix, "listen", p.listen);
    auto hp = parse_host_port(p.listen);
    if (!hp)
        c.error(prefix + ".listen", c.line(t, "listen"),
                p.listen.empty() ? "is required for sip: host:port, e.g. \"0.0.0.0:5060\""
                                 : "must be host:port, e.g. \"0.0.0.0:5060\"");
    else if (!is_ip_literal(hp->host))
        c.error(prefix + ".listen", c.line(t, "listen"), "must be an IP address and port, e.g. \"0.0.0.0:5060\"");
    c.str(t, prefix, "mode", p.sip_mode);
    if (p.sip_mode != "uas" && p.sip_mode != "watch")
        c.error(prefix + ".mode", c.line(t, "mode"),
                "must be \"uas\" (take the PBX's forked INVITEs) or \"watch\" (SUBSCRIBE to the phones' dialog state)");
    c.str(t, prefix, "contact_host", p.sip_contact_host);
    c.integer(t, prefix, "max_ring", p.sip_max_ring_seconds, 10, 3600);
    c.str(t, prefix, "server", p.sip_server);
    c.str(t, prefix, "transport", p.sip_transport);
    c.str(t, prefix, "domain", p.sip_domain);
    c.integer(t, prefix, "expires", p.sip_expires_seconds, 60, 86400);
    if (auto* n = t.get("extensions")) {
        auto* arr = n->as_array();
        if (!arr) {
            c.error(prefix + ".extensions", line_of(*n), "must be an array of strings, e.g. [\"1001\", \"1002\"]");
        } else {
            static const std::regex ext_re("[A-Za-z0-9_.+*#-]{1,32}");
            for (std::size_t i = 0; i < arr->size(); ++i) {
                auto* s = (*arr)[i].as_string();
                std::string key = prefix + ".extensions[" + std::to_string(i) + "]";
                if (!s) c.error(key, line_of((*arr)[i]), "must be a string");
                else if (!std::regex_match(s->get(), ext_re))
                    c.error(key, line_of((*arr)[i]), "must be an extension: 1 to 32 of A-Z a-z 0-9 _ . + * # -");
                else p.sip_extensions.push_back(s->get());
            }
        }
    }
    const bool watch = p.sip_mode == "watch";
    for (auto key : {"server", "transport", "domain", "extensions", "expires"})
        if (!watch && t.get(key)) c.error(prefix + "." + key, c.line(t, key), "applies to mode = \"watch\" only");
    if (watch && t.get("max_ring")) c.error(prefix + ".max_ring", c.line(t, "max_ring"), "applies to mode = \"uas\" only");
    if (watch) {
        if (p.sip_server.empty()) c.error(prefix + ".server", tline, "is required for mode = \"watch\": host:port of the PBX");
        else if (!parse_host_port(p.sip_server))
            c.error(prefix + ".server", c.line(t, "server"), "must be host:port, e.g. \"10.0.0.1:5060\"");
        if (p.sip_transport != "udp" && p.sip_transport != "tcp")
            c.error(prefix + ".transport", c.line(t, "transport"), "must be \"udp\" or \"tcp\"");
    }
    if (!p.sip_contact_host.empty() && !is_ip_literal(p.sip_contact_host) &&
        !std::regex_match(p.sip_contact_host, std::regex("[A-Za-z0-9.-]{1,253}")))
        c.error(prefix + ".contact_host", c.line(t, "contact_host"), "must be an IP address or a host name");
}
}  // namespace

// ---- [auth.ldap] ---------------------------------------------------------------
namespace {
/// [auth.ldap]: the URL, TLS, how a user's entry is found (user_dn, or
/// search_base and search_filter), the groups that give roles.
void check_ldap(Checker& c, const toml::table& t, Config& cfg) {
    const std::string p = "auth.ldap";
    c.known_keys(t, p, {"url", "start_tls", "ca_file", "user_dn", "search_base", "search_filter", "service_dn",
                        "service_password", "group_filter", "name_attribute", "timeout_seconds", "recheck_seconds",
                        "groups"});
    const int tline = line_of(t);
    directory::LdapOptions o;
    c.str(t, p, "url", o.url);
    c.boolean(t, p, "start_tls", o.start_tls);
    c.str(t, p, "ca_file", o.ca_file);
    c.str(t, p, "user_dn", o.user_dn);
    c.str(t, p, "search_base", o.search_base);
    c.str(t, p, "search_filter", o.search_filter);
    c.str(t, p, "service_dn", o.service_dn);
    c.str(t, p, "service_password", o.service_password);
    c.str(t, p, "group_filter", o.group_filter);
    c.str(t, p, "name_attribute", o.name_attribute);
    int timeout = 5, recheck = 60;
    c.integer(t, p, "timeout_seconds", timeout, 1, 60);
    c.integer(t, p, "recheck_seconds", recheck, 1, 86400);
    o.timeout = std::chrono::seconds(timeout);
    o.recheck = std::chrono::seconds(recheck);

    static const std::regex url_re("ldaps?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?|ldaps?://\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?/?");
    if (o.url.empty()) c.error(p + ".url", tline, "is required: ldap://host[:port] or ldaps://host[:port]");
    else if (!std::regex_match(o.url, url_re))
        c.error(p + ".url", c.line(t, "url"), "must be ldap://host[:port] or ldaps://host[:port], e.g. \"ldaps://ldap.example.com\"");
    if (o.start_tls && o.url.starts_with("ldaps://"))
        c.error(p + ".start_tls", c.line(t, "start_tls"), "is for ldap:// URLs; ldaps:// is TLS from the start");
    if (!o.ca_file.empty()) {
        std::ifstream in(o.ca_file);
        if (!in) c.error(p + ".ca_file", c.line(t, "ca_file"), "cannot read " + o.ca_file + ": " + std::strerror(errno));
    }
    const bool by_dn = !o.user_dn.empty(), by_search = !o.search_base.empty();
    if (by_dn == by_search)
        c.error(by_dn ? p + ".search_base" : p + ".user_dn", by_dn ? c.line(t, "search_base") : tline,
                by_dn ? "cannot be set with user_dn: either users bind as user_dn, or they are found under search_base"
                      : "is required (a DN with {user}, e.g. \"uid={user},ou=people,dc=example,dc=com\"), or else search_base");
    if (by_dn && o.user_dn.find("{user}") == std::string::npos)
        c.error(p + ".user_dn", c.line(t, "user_dn"), "must contain {user}, e.g. \"uid={user},ou=people,dc=example,dc=com\"");
    if (t.get("search_filter") && !by_search)
        c.error(p + ".search_filter", c.line(t, "search_filter"), "applies with search_base only");
    if (by_search && (o.search_filter.empty() || o.search_filter.find("{user}") == std::string::npos || o.search_filter.front() != '(' ||
                      o.search_filter.back() != ')'))
        c.error(p + ".search_filter", c.line(t, "search_filter"),
                "must be a filter in parentheses containing {user}, e.g. \"(uid={user})\"");
    if (o.group_filter.empty() || o.group_filter.front() != '(' || o.group_filter.back() != ')' ||
        (o.group_filter.find("{dn}") == std::string::npos && o.group_filter.find("{user}") == std::string::npos))
        c.error(p + ".group_filter", c.line(t, "group_filter"),
                "must be a filter in parentheses containing {dn} or {user}, e.g. \"(member={dn})\"");
    if (o.service_dn.empty() != o.service_password.empty())
        c.error(o.service_dn.empty() ? p + ".service_dn" : p + ".service_password",
                c.line(t, o.service_dn.empty() ? "service_password" : "service_dn"),
                o.service_dn.empty() ? "is required with service_password" : "is required with service_dn (an empty password is an anonymous bind)");
    if (auto* n = t.get("groups")) {
        auto* g = n->as_table();
        if (!g) c.error(p + ".groups", line_of(*n), "must be a table ([auth.ldap.groups]) of group DN = role");
        else for (auto&& [k, v] : *g) {
            const std::string key = p + ".groups.\"" + std::string(k.str()) + "\"";
            auto* s = v.as_string();
            auto role = s ? role_from_string(s->get()) : std::nullopt;
            if (!role) c.error(key, line_of(v), "must be \"agent\", \"supervisor\" or \"admin\"");
            else if (k.str().find('=') == std::string_view::npos)
                c.error(key, line_of(v), "must be a group's DN, e.g. \"cn=agents,ou=groups,dc=example,dc=com\"");
            else o.groups.emplace_back(std::string(k.str()), *role);
        }
    }
    if (!t.get("groups") || (t.get("groups")->as_table() && t.get("groups")->as_table()->empty()))
        c.error(p + ".groups", tline, "needs at least one group DN = role: users in no mapped group cannot sign in");
    cfg.ldap = std::move(o);
}
}  // namespace

std::optional<HostPort> parse_host_port(std::string_view s) {
    HostPort hp;
    std::string_view port_part;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') return std::nullopt;
        hp.host = std::string(s.substr(1, close - 1));
        port_part = s.substr(close + 2);
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string_view::npos || colon == 0) return std::nullopt;
        hp.host = std::string(s.substr(0, colon));
        if (hp.host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets
        port_part = s.substr(colon + 1);
    }
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_part.data(), port_part.data() + port_part.size(), port);
    if (ec != std::errc{} || p != port_part.data() + port_part.size() || port > 65535 || hp.host.empty())
        return std::nullopt;
    hp.port = static_cast<std::uint16_t>(port);
    return hp;
}

std::filesystem::path default_web_root() {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(RINGSIDE_WEB_ROOT) / "index.html", ec)) return RINGSIDE_WEB_ROOT;
    return RINGSIDE_INSTALLED_WEB_ROOT;
}

ConfigResult parse_config(std::string_view text, const std::filesystem::path& file_name) {
    ConfigResult result;
    toml::table root;
    try {
        root = toml::parse(text, file_name.string());
    } catch (const toml::parse_error& e) {
        result.errors.push_back({"", static_cast<int>(e.source().begin.line), std::string(e.description())});
        return result;
    }
    Checker c(result.errors);
    Config cfg;
    cfg.file = file_name;
    cfg.web_root = default_web_root();
    c.known_keys(root, "", {"server", "database", "phone", "pbx", "log", "calls", "reports", "customers", "retention", "auth",
                        "agent_states"});

    if (auto* server = c.table(root, "server")) {
        c.known_keys(*server, "server",
                     {"listen", "web_root", "session_hours", "cookie_secure", "allowed_origins", "max_websockets_per_user",
                      "tls_certificate", "tls_private_key", "max_connections", "max_connections_per_address",
                      "header_timeout_seconds", "trusted_proxies"});
        std::string listen;
        c.str(*server, "server", "listen", listen);
        if (!listen.empty()) {
            if (auto hp = parse_host_port(listen)) cfg.listen = *hp;
            else c.error("server.listen", c.line(*server, "listen"), "must be host:port, e.g. \"127.0.0.1:8080\"");
        }
        std::string web_root;
        c.str(*server, "server", "web_root", web_root);
        if (!web_root.empty()) cfg.web_root = web_root;
        c.integer(*server, "server", "session_hours", cfg.session_hours, 1, 24 * 30);
        c.boolean(*server, "server", "cookie_secure", cfg.cookie_secure);
        c.integer(*server, "server", "max_websockets_per_user", cfg.max_websockets_per_user, 1, 1000);
        check_tls(c, *server, cfg);
        check_connections(c, *server, cfg);
        if (auto* n = server->get("allowed_origins")) {
            static const std::regex origin_re("https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\\[[0-9A-Fa-f:.]+\\](:[0-9]{1,5})?");
            auto* arr = n->as_array();
            if (!arr) c.error("server.allowed_origins", line_of(*n), "must be an array of origins, e.g. [\"https://crm.example\"]");
            for (std::size_t i = 0; arr && i < arr->size(); ++i) {
                auto* v = (*arr)[i].as_string();
                if (!v || !std::regex_match(v->get(), origin_re)) {
                    c.error("server.allowed_origins[" + std::to_string(i) + "]", line_of((*arr)[i]),
                            "must be an origin: scheme://host[:port] with no path, e.g. \"https://crm.example\"");
                    continue;
                }
                cfg.allowed_origins.push_back(v->get());
            }
        }
    }
    if (auto* db = c.table(root, "database")) {
        c.known_keys(*db, "database", {"path", "url"});
        std::string path;
        c.str(*db, "database", "path", path);
        if (db->get("path") && path.empty()) c.error("database.path", c.line(*db, "path"), "must not be empty");
        if (!path.empty()) cfg.database = path;
        c.str(*db, "database", "url", cfg.database_url);
        if (db->get("url")) {
            const auto& u = cfg.database_url;
            if (!u.starts_with("postgresql://") && !u.starts_with("postgres://"))
                c.error("database.url", c.line(*db, "url"),
                        "must be a PostgreSQL URL, e.g. \"postgresql://ringside@db.example/ringside\"");
            else if (db->get("path"))
                c.error("database.url", c.line(*db, "url"),
                        "and database.path are both set: one database, either the SQLite file or PostgreSQL");
        }
    }
    if (auto* phone = c.table(root, "phone")) {
        c.known_keys(*phone, "phone", {"default_region"});
        c.str(*phone, "phone", "default_region", cfg.default_region);
        if (!valid_region(cfg.default_region))
            c.error("phone.default_region", c.line(*phone, "default_region"),
                    "must be a two-letter ISO 3166-1 region in capitals, e.g. \"IR\"");
    }
    if (auto* calls = c.table(root, "calls")) {
        c.known_keys(*calls, "calls", {"pop_internal"});
        c.boolean(*calls, "calls", "pop_internal", cfg.pop_internal);
    }
    if (auto* reports = c.table(root, "reports")) {
        c.known_keys(*reports, "reports", {"service_level_seconds"});
        c.integer(*reports, "reports", "service_level_seconds", cfg.service_level_seconds, 1, 3600);
    }
    if (auto* states = c.table(root, "agent_states")) {
        c.known_keys(*states, "agent_states", {"reasons", "wrap_up_seconds", "queue_wrap_up_seconds"});
        if (auto* n = states->get("reasons")) {
            auto* arr = n->as_array();
            std::vector<std::string> reasons;
            if (!arr || arr->empty() || arr->size() > 20) {
                c.error("agent_states.reasons", line_of(*n), "must be a list of 1 to 20 reason names");
            } else {
                for (std::size_t i = 0; i < arr->size(); ++i) {
                    auto* s = (*arr)[i].as_string();
                    if (!s || !valid_reason_name(s->get()) ||
                        std::find(reasons.begin(), reasons.end(), s->get()) != reasons.end()) {
                        c.error("agent_states.reasons[" + std::to_string(i) + "]", line_of((*arr)[i]),
                                "must be a distinct name of 1-32 of a-z 0-9 _ -");
                        reasons.clear();
                        break;
                    }
                    reasons.push_back(s->get());
                }
                if (!reasons.empty()) cfg.agent_states.reasons = std::move(reasons);
            }
        }
        int wrap = static_cast<int>(cfg.agent_states.wrap_up.count());
        c.integer(*states, "agent_states", "wrap_up_seconds", wrap, 0, 3600);
        cfg.agent_states.wrap_up = std::chrono::seconds(wrap);
        if (auto* n = states->get("queue_wrap_up_seconds")) {
            if (auto* t = n->as_table()) {
                for (auto&& [k, v] : *t) {
                    const std::string key = "agent_states.queue_wrap_up_seconds." + std::string(k.str());
                    auto* i = v.as_integer();
                    if (!i || i->get() < 0 || i->get() > 3600) c.error(key, line_of(v), "must be an integer from 0 to 3600");
                    else cfg.agent_states.queue_wrap_up[std::string(k.str())] = std::chrono::seconds(i->get());
                }
            } else {
                c.error("agent_states.queue_wrap_up_seconds", line_of(*n),
                        "must be a table ([agent_states.queue_wrap_up_seconds]) of queue name = seconds");
            }
        }
    }
    if (auto* customers = c.table(root, "customers")) {
        c.known_keys(*customers, "customers", {"tiers"});
        if (auto* n = customers->get("tiers")) {
            static const std::regex tier_re("[a-z0-9-]{1,32}");
            auto* arr = n->as_array();
            std::vector<std::string> tiers;
            bool ok = arr && !arr->empty() && arr->size() <= 20;
            for (std::size_t i = 0; ok && i < arr->size(); ++i) {
                auto* s = (*arr)[i].as_string();
                if (!s || !std::regex_match(s->get(), tier_re) ||
                    std::find(tiers.begin(), tiers.end(), s->get()) != tiers.end()) {
                    c.error("customers.tiers[" + std::to_string(i) + "]", line_of((*arr)[i]),
                            "must be a distinct name of 1-32 of a-z 0-9 -");
                    ok = false;
                    tiers.clear();
                    break;
                }
                tiers.push_back(s->get());
            }
            if (!arr || arr->empty() || arr->size() > 20) {
                c.error("customers.tiers", line_of(*n), "must be an array of 1 to 20 tier names, e.g. [\"gold\", \"silver\"]");
            } else if (ok) {
                cfg.customer_tiers = std::move(tiers);
            }
        }
    }
    if (auto* retention = c.table(root, "retention")) {
        c.known_keys(*retention, "retention", {"call_notes_months", "call_records_months", "audit_months"});
        // Whole months, 1 to 100 years: 0 would delete what was written a moment ago.
        auto months = [&](std::string_view key, std::optional<int>& out) {
            if (!retention->get(key)) return;
            int v = 0;
            const auto before = result.errors.size();
            c.integer(*retention, "retention", key, v, 1, 1200);
            if (result.errors.size() == before) out = v;
        };
        months("call_notes_months", cfg.retention.call_notes_months);
        months("call_records_months", cfg.retention.call_records_months);
        months("audit_months", cfg.retention.audit_months);
        const auto& r = cfg.retention;
        if (r.call_notes_months && r.call_records_months && *r.call_notes_months > *r.call_records_months)
            c.error("retention.call_notes_months", c.line(*retention, "call_notes_months"),
                    "is longer than call_records_months (" + std::to_string(*r.call_records_months) +
                        "): the records, notes included, are deleted first; leave it out or make it shorter");
    }
    if (auto* auth = c.table(root, "auth")) {
        c.known_keys(*auth, "auth", {"ldap"});
        if (auto* n = auth->get("ldap")) {
            if (auto* t = n->as_table()) check_ldap(c, *t, cfg);
            else c.error("auth.ldap", line_of(*n), "must be a table ([auth.ldap])");
        }
    }
    if (auto* log = c.table(root, "log")) {
        c.known_keys(*log, "log", {"level"});
        c.str(*log, "log", "level", cfg.log_level);
        static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
        if (!levels.count(cfg.log_level))
            c.error("log.level", c.line(*log, "level"), "must be one of trace, debug, info, warn, error");
    }
    if (auto* pbx_node = root.get("pbx")) {
        auto* arr = pbx_node->as_array();
        if (!arr) {
            c.error("pbx", line_of(*pbx_node), "must be an array of tables ([[pbx]])");
        } else {
            std::set<std::string> ids;
            static const std::regex id_re("[a-z0-9-]+");
            static const std::regex dial_re("[A-Za-z0-9_.-]+");
            for (std::size_t i = 0; i < arr->size(); ++i) {
                std::string prefix = "pbx[" + std::to_string(i) + "]";
                auto* t = (*arr)[i].as_table();
                if (!t) {
                    c.error(prefix, line_of((*arr)[i]), "must be a table");
                    continue;
                }
                PbxConfig p;
                c.str(*t, prefix, "id", p.id);
                c.str(*t, prefix, "type", p.type);
                c.boolean(*t, prefix, "enabled", p.enabled);
                int tline = line_of(*t);
                if (p.id.empty()) c.error(prefix + ".id", tline, "is required");
                else if (!std::regex_match(p.id, id_re))
                    c.error(prefix + ".id", c.line(*t, "id"), "must match [a-z0-9-]+");
                else if (!ids.insert(p.id).second)
                    c.error(prefix + ".id", c.line(*t, "id"), "duplicate id \"" + p.id + "\"");
                if (p.type == "asterisk-ami") {
                    c.known_keys(*t, prefix, {"id", "type", "enabled", "host", "port", "username", "secret", "md5",
                                              "ping_interval", "dial_context", "dial_tech"});
                    p.dial_context = "from-internal";
                    c.str(*t, prefix, "dial_context", p.dial_context);
                    c.str(*t, prefix, "dial_tech", p.dial_tech);
                    if (!std::regex_match(p.dial_context, dial_re))
                        c.error(prefix + ".dial_context", c.line(*t, "dial_context"), "must match [A-Za-z0-9_.-]+");
                    if (!std::regex_match(p.dial_tech, dial_re))
                        c.error(prefix + ".dial_tech", c.line(*t, "dial_tech"), "must match [A-Za-z0-9_.-]+");
                    p.port = 5038;
                    c.str(*t, prefix, "host", p.host);
                    c.integer(*t, prefix, "port", p.port, 1, 65535);
                    c.str(*t, prefix, "username", p.username);
                    c.str(*t, prefix, "secret", p.secret);
                    c.boolean(*t, prefix, "md5", p.md5);
                    c.integer(*t, prefix, "ping_interval", p.ping_interval_seconds, 1, 3600);
                    if (p.username.empty()) c.error(prefix + ".username", tline, "is required for asterisk-ami");
                    if (p.secret.empty()) c.error(prefix + ".secret", tline, "is required for asterisk-ami");
                } else if (p.type == "freeswitch-esl") {
                    c.known_keys(*t, prefix, {"id", "type", "enabled", "host", "port", "password", "dial_context"});
                    p.dial_context = "default";
                    c.str(*t, prefix, "dial_context", p.dial_context);
                    if (!std::regex_match(p.dial_context, dial_re))
                        c.error(prefix + ".dial_context", c.line(*t, "dial_context"), "must match [A-Za-z0-9_.-]+");
                    p.port = 8021;
                    c.str(*t, prefix, "host", p.host);
                    c.integer(*t, prefix, "port", p.port, 1, 65535);
                    c.str(*t, prefix, "password", p.password);
                    if (p.password.empty()) c.error(prefix + ".password", tline, "is required for freeswitch-esl");
                } else if (p.type == "sip") {
                    check_sip(c, *t, prefix, p);
                } else if (p.type == "webhook") {
                    c.known_keys(*t, prefix, {"id", "type", "enabled", "path", "secret"});
                    c.str(*t, prefix, "path", p.path);
                    c.str(*t, prefix, "secret", p.secret);
                    if (p.path.empty() || p.path.front() != '/')
                        c.error(prefix + ".path", c.line(*t, "path"), "must be an absolute URL path, e.g. \"/hooks/pbx\"");
                    else if (p.path.size() < 2 || p.path.find_first_of("?# %") != std::string::npos)
                        c.error(prefix + ".path", c.line(*t, "path"),
                                "must be a plain URL path without spaces, '%', '?' or '#', e.g. \"/hooks/pbx\"");
                    else if (p.path == "/ws" || p.path == "/healthz" || p.path == "/metrics" || p.path == "/api" ||
                             p.path.starts_with("/api/"))
                        c.error(prefix + ".path", c.line(*t, "path"),
                                "\"" + p.path + "\" is one of Ringside's own paths; use e.g. \"/hooks/" + p.id + "\"");
                    else
                        for (const auto& other : cfg.pbx)
                            if (other.type == "webhook" && other.path == p.path)
                                c.error(prefix + ".path", c.line(*t, "path"),
                                        "pbx \"" + other.id + "\" already receives webhooks at \"" + p.path + "\"");
                    if (p.secret.size() < 16)
                        c.error(prefix + ".secret", c.line(*t, "secret"), "must be at least 16 characters");
                } else if (p.type.empty()) {
                    c.error(prefix + ".type", tline, "is required: asterisk-ami, freeswitch-esl, sip or webhook");
                } else {
                    c.error(prefix + ".type", c.line(*t, "type"),
                            "unknown type \"" + p.type + "\": asterisk-ami, freeswitch-esl, sip or webhook");
                }
                cfg.pbx.push_back(std::move(p));
            }
        }
    }
    if (result.errors.empty()) result.config = std::move(cfg);
    return result;
}

ConfigResult load_config(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        ConfigResult r;
        r.errors.push_back({"", 0, "cannot read " + file.string() + ": " + std::strerror(errno)});
        return r;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), file);
}

}  // namespace ringside::app
