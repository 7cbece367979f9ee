#include <doctest/doctest.h>

#include "ringside/app/config.hpp"

using namespace ringside::app;

namespace {
bool has_error(const ConfigResult& r, const std::string& key, int line = -1) {
    for (const auto& e : r.errors)
        if (e.key == key && (line < 0 || e.line == line)) return true;
    return false;
}
}  // namespace

TEST_CASE("the contract's example config is valid and typed") {
    auto r = parse_config(R"([server]
listen = "127.0.0.1:8080"

[database]
path = "var/ringside.db"

[phone]
default_region = "IR"

[[pbx]]
id = "main"
type = "asterisk-ami"
host = "127.0.0.1"
port = 5038
username = "ringside"
secret = "change-me"
)", "ringside.toml");
    REQUIRE(r.errors.empty());
    REQUIRE(r.config);
    CHECK(r.config->listen.host == "127.0.0.1");
    CHECK(r.config->listen.port == 8080);
    CHECK(r.config->database == "var/ringside.db");
    REQUIRE(r.config->pbx.size() == 1);
    CHECK(r.config->pbx[0].id == "main");
    CHECK(r.config->pbx[0].port == 5038);
    CHECK(r.config->pbx[0].secret == "change-me");
}

TEST_CASE("an unknown key is an error naming its path and line") {
    auto r = parse_config("[server]\nlisten = \"127.0.0.1:8080\"\nlsiten = \"x\"\n", "f.toml");
    CHECK_FALSE(r.config);
    CHECK(has_error(r, "server.lsiten", 3));
}

TEST_CASE("a wrong type names the key") {
    auto r = parse_config("[[pbx]]\nid = \"a\"\ntype = \"asterisk-ami\"\nport = \"5038\"\nusername = \"u\"\nsecret = \"s\"\n",
                          "f.toml");
    CHECK(has_error(r, "pbx[0].port", 4));
}

TEST_CASE("duplicate pbx ids are an error on the second one") {
    auto r = parse_config(
        "[[pbx]]\nid = \"a\"\ntype = \"asterisk-ami\"\nusername = \"u\"\nsecret = \"s\"\n"
        "[[pbx]]\nid = \"a\"\ntype = \"asterisk-ami\"\nusername = \"u\"\nsecret = \"s\"\n",
        "f.toml");
    CHECK(has_error(r, "pbx[1].id", 7));
}

TEST_CASE("a pbx id outside [a-z0-9-] and an unknown type are errors") {
    auto r = parse_config("[[pbx]]\nid = \"Main PBX\"\ntype = \"avaya\"\n", "f.toml");
    CHECK(has_error(r, "pbx[0].id", 2));
    CHECK(has_error(r, "pbx[0].type", 3));
}

TEST_CASE("a TOML syntax error reports its line") {
    auto r = parse_config("[server]\nlisten = \n", "f.toml");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].line == 2);
}

TEST_CASE("listen must be host:port") {
    CHECK(parse_host_port("127.0.0.1:8080")->port == 8080);
    CHECK(parse_host_port("[::1]:80")->host == "::1");
    CHECK_FALSE(parse_host_port("127.0.0.1"));
    CHECK_FALSE(parse_host_port("host:99999"));
    auto r = parse_config("[server]\nlisten = \"8080\"\n", "f.toml");
    CHECK(has_error(r, "server.listen", 2));
}

TEST_CASE("a missing file is an error that says so") {
    auto r = load_config("/nonexistent/ringside.toml");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].message.find("cannot read") != std::string::npos);
}

TEST_CASE("[calls] pop_internal defaults to false, takes a boolean, and names a wrong type or unknown key") {
    auto none = parse_config("", "f.toml");
    REQUIRE(none.config);
    CHECK_FALSE(none.config->pop_internal);
    auto on = parse_config("[calls]\npop_internal = true\n", "f.toml");
    REQUIRE(on.config);
    CHECK(on.config->pop_internal);
    CHECK(has_error(parse_config("[calls]\npop_internal = \"yes\"\n", "f.toml"), "calls.pop_internal", 2));
    CHECK(has_error(parse_config("[calls]\npop_inernal = true\n", "f.toml"), "calls.pop_inernal", 2));
}

TEST_CASE("[reports] service_level_seconds defaults to 20 and names a value out of range with its line") {
    auto none = parse_config("", "f.toml");
    REQUIRE(none.config);
    CHECK(none.config->service_level_seconds == 20);
    auto set = parse_config("[reports]\nservice_level_seconds = 30\n", "f.toml");
    REQUIRE(set.config);
    CHECK(set.config->service_level_seconds == 30);
    CHECK(has_error(parse_config("[reports]\n\nservice_level_seconds = 0\n", "f.toml"), "reports.service_level_seconds", 3));
    CHECK(has_error(parse_config("[reports]\nservice_level_seconds = \"20\"\n", "f.toml"), "reports.service_level_seconds", 2));
    CHECK(has_error(parse_config("[reports]\nservice_level = 20\n", "f.toml"), "reports.service_level", 2));
}

// ---- [[pbx]] type = "sip"

TEST_CASE("a sip pbx defaults to mode uas and reads the watch keys") {
    auto uas = parse_config("[[pbx]]\nid = \"s\"\ntype = \"sip\"\nlisten = \"0.0.0.0:5060\"\n", "f.toml");
    REQUIRE(uas.config);
    CHECK(uas.config->pbx[0].sip_mode == "uas");
    CHECK(uas.config->pbx[0].sip_max_ring_seconds == 300);
    auto watch = parse_config("[[pbx]]\nid = \"s\"\ntype = \"sip\"\nlisten = \"127.0.0.1:5070\"\nmode = \"watch\"\n"
                              "server = \"10.0.0.1:5060\"\ntransport = \"tcp\"\nextensions = [\"1001\", \"1002\"]\n"
                              "expires = 300\ndomain = \"pbx.example.com\"\n",
                              "f.toml");
    REQUIRE(watch.config);
    const auto& p = watch.config->pbx[0];
    CHECK(p.sip_mode == "watch");
    CHECK(p.sip_server == "10.0.0.1:5060");
    CHECK(p.sip_transport == "tcp");
    CHECK(p.sip_extensions == std::vector<std::string>{"1001", "1002"});
    CHECK(p.sip_expires_seconds == 300);
    CHECK(p.sip_domain == "pbx.example.com");
}

TEST_CASE("sip config mistakes name the key and line") {
    auto r = parse_config("[[pbx]]\nid = \"s\"\ntype = \"sip\"\nlisten = \"pbx.local:5060\"\nmode = \"proxy\"\n", "f.toml");
    CHECK(has_error(r, "pbx[0].listen", 4));
    CHECK(has_error(r, "pbx[0].mode", 5));
    auto w = parse_config("[[pbx]]\nid = \"s\"\ntype = \"sip\"\nlisten = \"0.0.0.0:5060\"\nmode = \"watch\"\n"
                          "transport = \"sctp\"\nextensions = [\"10 01\", 7]\nexpires = 5\nmax_ring = 60\n",
                          "f.toml");
    CHECK(has_error(w, "pbx[0].server", 1));
    CHECK(has_error(w, "pbx[0].transport", 6));
    CHECK(has_error(w, "pbx[0].extensions[0]", 7));
    CHECK(has_error(w, "pbx[0].extensions[1]", 7));
    CHECK(has_error(w, "pbx[0].expires", 8));
    CHECK(has_error(w, "pbx[0].max_ring", 9));
    auto u = parse_config("[[pbx]]\nid = \"s\"\ntype = \"sip\"\nlisten = \"0.0.0.0:5060\"\nserver = \"1.2.3.4:5060\"\n", "f.toml");
    CHECK(has_error(u, "pbx[0].server", 5));
    auto missing = parse_config("[[pbx]]\nid = \"s\"\ntype = \"sip\"\n", "f.toml");
    CHECK(has_error(missing, "pbx[0].listen", 1));
}

TEST_CASE("a webhook pbx names a missing, reserved or shared path and a short secret with their lines") {
    auto r = parse_config(R"([[pbx]]
id = "cloud"
type = "webhook"
path = "/api/calls"
secret = "short"

[[pbx]]
id = "cloud2"
type = "webhook"
path = "/hooks/a"
secret = "0123456789abcdef"

[[pbx]]
id = "cloud3"
type = "webhook"
path = "/hooks/a"
secret = "0123456789abcdef"

[[pbx]]
id = "cloud4"
type = "webhook"
path = "hooks"
secret = "0123456789abcdef"
colour = "red"
)", "ringside.toml");
    CHECK(has_error(r, "pbx[0].path", 4));
    CHECK(has_error(r, "pbx[0].secret", 5));
    CHECK_FALSE(has_error(r, "pbx[1].path"));
    CHECK(has_error(r, "pbx[2].path", 16));
    CHECK(has_error(r, "pbx[3].path", 22));
    CHECK(has_error(r, "pbx[3].colour", 24));
    for (const auto& e : r.errors)
        if (e.key == "pbx[2].path") CHECK(e.message.find("cloud2") != std::string::npos);
}

TEST_CASE("a valid webhook pbx keeps its path and secret") {
    auto r = parse_config(R"([[pbx]]
id = "cloud"
type = "webhook"
path = "/hooks/cloud"
secret = "0123456789abcdef"
)", "ringside.toml");
    REQUIRE(r.errors.empty());
    CHECK(r.config->pbx[0].path == "/hooks/cloud");
    CHECK(r.config->pbx[0].secret == "0123456789abcdef");
}

TEST_CASE("[retention] gives each kind of data its months; a key left out keeps it for ever") {
    auto r = parse_config("[retention]\ncall_notes_months = 24\naudit_months = 84\n", "f.toml");
    REQUIRE(r.errors.empty());
    REQUIRE(r.config);
    CHECK(r.config->retention.call_notes_months == 24);
    CHECK_FALSE(r.config->retention.call_records_months);
    CHECK(r.config->retention.audit_months == 84);
    CHECK(r.config->retention.any());

    auto none = parse_config("[server]\nlisten = \"127.0.0.1:8080\"\n", "f.toml");
    REQUIRE(none.config);
    CHECK_FALSE(none.config->retention.any());
    auto empty = parse_config("[retention]\n", "f.toml");
    REQUIRE(empty.config);
    CHECK_FALSE(empty.config->retention.any());
}

TEST_CASE("[retention] refuses unknown keys, months out of range, wrong types and notes outliving their records") {
    auto typo = parse_config("[retention]\ncall_note_months = 24\n", "f.toml");
    CHECK_FALSE(typo.config);
    CHECK(has_error(typo, "retention.call_note_months", 2));

    auto zero = parse_config("[retention]\ncall_records_months = 0\n", "f.toml");
    CHECK_FALSE(zero.config);
    REQUIRE(has_error(zero, "retention.call_records_months", 2));
    CHECK(zero.errors[0].message == "must be an integer from 1 to 1200");
    CHECK(has_error(parse_config("[retention]\naudit_months = 1201\n", "f.toml"), "retention.audit_months", 2));
    CHECK(has_error(parse_config("[retention]\naudit_months = -3\n", "f.toml"), "retention.audit_months", 2));
    CHECK(has_error(parse_config("[retention]\naudit_months = \"24\"\n", "f.toml"), "retention.audit_months", 2));
    CHECK(has_error(parse_config("[retention]\naudit_months = 2.5\n", "f.toml"), "retention.audit_months", 2));

    auto longer = parse_config("[retention]\ncall_notes_months = 36\ncall_records_months = 24\n", "f.toml");
    CHECK_FALSE(longer.config);
    REQUIRE(has_error(longer, "retention.call_notes_months", 2));
    CHECK(longer.errors[0].message.find("call_records_months (24)") != std::string::npos);
    // Equal is fine: the notes go with their records.
    CHECK(parse_config("[retention]\ncall_notes_months = 24\ncall_records_months = 24\n", "f.toml").config);

    auto not_table = parse_config("retention = 24\n", "f.toml");
    CHECK(has_error(not_table, "retention", 1));
}

TEST_CASE("TLS needs both files: one without the other, or an empty path, names the key") {
    auto alone = parse_config("[server]\ntls_certificate = \"/etc/ringside/tls/fullchain.pem\"\n", "ringside.toml");
    CHECK_FALSE(alone.config);
    CHECK(has_error(alone, "server.tls_private_key", 2));
    auto empty = parse_config("[server]\ntls_certificate = \"\"\ntls_private_key = \"k.pem\"\n", "ringside.toml");
    CHECK(has_error(empty, "server.tls_certificate", 2));
    auto typed = parse_config("[server]\ntls_certificate = 1\ntls_private_key = \"k.pem\"\n", "ringside.toml");
    CHECK(has_error(typed, "server.tls_certificate", 2));
    // A file that is not there: the error names the key and the path.
    auto missing = parse_config("[server]\ntls_certificate = \"/nonexistent/ringside.crt\"\ntls_private_key = \"/nonexistent/ringside.key\"\n",
                                "ringside.toml");
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].key == "server.tls_certificate");
    CHECK(missing.errors[0].message == "cannot read /nonexistent/ringside.crt: No such file or directory");
    // Without TLS keys nothing changes: plain HTTP, the cookie as cookie_secure says.
    auto plain = parse_config("[server]\ncookie_secure = true\n", "ringside.toml");
    REQUIRE(plain.config);
    CHECK(plain.config->tls_certificate.empty());
    CHECK(plain.config->cookie_secure);
}

TEST_CASE("the connection limits and trusted_proxies are read, and a bad value names the key and its line") {
    auto ok = parse_config("[server]\nmax_connections = 2000\nmax_connections_per_address = 50\nheader_timeout_seconds = 5\n"
                           "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"fd00::/8\", \"::1\"]\n",
                           "f.toml");
    REQUIRE(ok.config);
    CHECK(ok.config->max_connections == 2000);
    CHECK(ok.config->max_connections_per_address == 50);
    CHECK(ok.config->header_timeout_seconds == 5);
    CHECK(ok.config->trusted_proxies.size() == 4);
    auto defaults = parse_config("[server]\n", "f.toml");
    REQUIRE(defaults.config);
    CHECK(defaults.config->max_connections == 4096);
    CHECK(defaults.config->max_connections_per_address == 256);
    CHECK(defaults.config->header_timeout_seconds == 10);
    CHECK(defaults.config->trusted_proxies.empty());

    CHECK(has_error(parse_config("[server]\nmax_connections = 0\n", "f.toml"), "server.max_connections", 2));
    CHECK(has_error(parse_config("[server]\nmax_connections = 100\nmax_connections_per_address = 101\n", "f.toml"),
                    "server.max_connections_per_address", 3));
    CHECK(has_error(parse_config("[server]\nheader_timeout_seconds = 0\n", "f.toml"), "server.header_timeout_seconds", 2));
    CHECK(has_error(parse_config("[server]\ntrusted_proxies = \"127.0.0.1\"\n", "f.toml"), "server.trusted_proxies", 2));
    auto bad = parse_config("[server]\ntrusted_proxies = [\n  \"127.0.0.1\",\n  \"proxy.example\",\n  \"10.0.0.1/8\",\n"
                            "  \"10.0.0.0/33\",\n  7,\n]\n",
                            "f.toml");
    CHECK_FALSE(bad.config);
    CHECK(has_error(bad, "server.trusted_proxies[1]", 4));
    CHECK(has_error(bad, "server.trusted_proxies[2]", 5));
    CHECK(has_error(bad, "server.trusted_proxies[3]", 6));
    CHECK(has_error(bad, "server.trusted_proxies[4]", 7));
    CHECK_FALSE(has_error(bad, "server.trusted_proxies[0]"));
}

TEST_CASE("[auth.ldap] is typed: a DN template or a search, groups to roles, the recheck interval") {
    auto r = parse_config(R"([auth.ldap]
url = "ldap://ldap.example.com:389"
start_tls = true
user_dn = "uid={user},ou=people,dc=example,dc=com"
recheck_seconds = 30

[auth.ldap.groups]
"cn=agents,ou=groups,dc=example,dc=com" = "agent"
"cn=leads,ou=groups,dc=example,dc=com" = "supervisor"
)", "ringside.toml");
    REQUIRE(r.errors.empty());
    REQUIRE(r.config->ldap);
    const auto& l = *r.config->ldap;
    CHECK(l.url == "ldap://ldap.example.com:389");
    CHECK(l.start_tls);
    CHECK(l.recheck == std::chrono::seconds(30));
    CHECK(l.timeout == std::chrono::seconds(5));
    REQUIRE(l.groups.size() == 2);
    CHECK(l.groups[1].first == "cn=leads,ou=groups,dc=example,dc=com");
    CHECK(l.groups[1].second == ringside::Role::supervisor);
    CHECK_FALSE(parse_config("[server]\n", "f.toml").config->ldap);

    auto search = parse_config(R"toml([auth.ldap]
url = "ldaps://dc1.corp.example"
search_base = "dc=corp,dc=example"
search_filter = "(&(sAMAccountName={user})(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"
service_dn = "cn=ringside,ou=services,dc=corp,dc=example"
service_password = "s3cret"
group_filter = "(member={dn})"
groups = { "cn=ringside-admins,dc=corp,dc=example" = "admin" }
)toml", "ringside.toml");
    REQUIRE(search.errors.empty());
    CHECK(search.config->ldap->service_dn == "cn=ringside,ou=services,dc=corp,dc=example");
}

TEST_CASE("[auth.ldap] mistakes name the key and the line") {
    const std::string groups = "\n[auth.ldap.groups]\n\"cn=a,dc=x\" = \"agent\"\n";
    auto no_url = parse_config("[auth.ldap]\nuser_dn = \"uid={user},dc=x\"\n" + groups, "f.toml");
    CHECK(has_error(no_url, "auth.ldap.url", 1));
    auto bad_url = parse_config("[auth.ldap]\nurl = \"http://x\"\nuser_dn = \"uid={user},dc=x\"\n" + groups, "f.toml");
    CHECK(has_error(bad_url, "auth.ldap.url", 2));
    auto tls_twice = parse_config("[auth.ldap]\nurl = \"ldaps://x\"\nstart_tls = true\nuser_dn = \"uid={user},dc=x\"\n" + groups, "f.toml");
    CHECK(has_error(tls_twice, "auth.ldap.start_tls", 3));
    auto neither = parse_config("[auth.ldap]\nurl = \"ldap://x\"\n" + groups, "f.toml");
    CHECK(has_error(neither, "auth.ldap.user_dn", 1));
    auto both = parse_config("[auth.ldap]\nurl = \"ldap://x\"\nuser_dn = \"uid={user},dc=x\"\nsearch_base = \"dc=x\"\n" + groups, "f.toml");
    CHECK(has_error(both, "auth.ldap.search_base", 4));
    auto no_placeholder = parse_config("[auth.ldap]\nurl = \"ldap://x\"\nuser_dn = \"uid=alice,dc=x\"\n" + groups, "f.toml");
    CHECK(has_error(no_placeholder, "auth.ldap.user_dn", 3));
    auto bad_filter = parse_config("[auth.ldap]\nurl = \"ldap://x\"\nsearch_base = \"dc=x\"\nsearch_filter = \"uid={user}\"\n" + groups, "f.toml");
    CHECK(has_error(bad_filter, "auth.ldap.search_filter", 4));
    auto half_service = parse_config("[auth.ldap]\nurl = \"ldap://x\"\nsearch_base = \"dc=x\"\nservice_dn = \"cn=s,dc=x\"\n" + groups, "f.toml");
    CHECK(has_error(half_service, "auth.ldap.service_password", 4));
    auto bad_role = parse_config("[auth.ldap]\nurl = \"ldap://x\"\nuser_dn = \"uid={user},dc=x\"\n[auth.ldap.groups]\n\"cn=a,dc=x\" = \"boss\"\n", "f.toml");
    CHECK(has_error(bad_role, "auth.ldap.groups.\"cn=a,dc=x\"", 5));
    auto no_groups = parse_config("[auth.ldap]\nurl = \"ldap://x\"\nuser_dn = \"uid={user},dc=x\"\n", "f.toml");
    CHECK(has_error(no_groups, "auth.ldap.groups", 1));
    auto recheck = parse_config("[auth.ldap]\nurl = \"ldap://x\"\nuser_dn = \"uid={user},dc=x\"\nrecheck_seconds = 0\n" + groups, "f.toml");
    CHECK(has_error(recheck, "auth.ldap.recheck_seconds", 4));
    auto unknown = parse_config("[auth.ldap]\nurl = \"ldap://x\"\nuser_dn = \"uid={user},dc=x\"\npassword = \"x\"\n" + groups, "f.toml");
    CHECK(has_error(unknown, "auth.ldap.password", 4));
    auto ca = parse_config("[auth.ldap]\nurl = \"ldaps://x\"\nca_file = \"/nonexistent/ca.pem\"\nuser_dn = \"uid={user},dc=x\"\n" + groups, "f.toml");
    CHECK(has_error(ca, "auth.ldap.ca_file", 3));
    CHECK(has_error(parse_config("[auth]\nsaml = 1\n", "f.toml"), "auth.saml", 2));
}

TEST_CASE("[agent_states] sets the not-ready reasons and the wrap-up, per queue too") {
    auto r = parse_config("[agent_states]\nreasons = [\"break\", \"coaching\"]\nwrap_up_seconds = 30\n"
                          "[agent_states.queue_wrap_up_seconds]\nsales = 60\nsupport = 0\n",
                          "ringside.toml");
    REQUIRE(r.errors.empty());
    REQUIRE(r.config);
    const auto& a = r.config->agent_states;
    CHECK(a.reasons == std::vector<std::string>{"break", "coaching"});
    CHECK(a.wrap_up == std::chrono::seconds(30));
    CHECK(a.wrap_up_for(std::string("sales")) == std::chrono::seconds(60));
    CHECK(a.wrap_up_for(std::string("support")) == std::chrono::seconds(0));
    CHECK(a.wrap_up_for(std::nullopt) == std::chrono::seconds(30));

    auto defaults = parse_config("", "ringside.toml");
    REQUIRE(defaults.config);
    CHECK(defaults.config->agent_states.reasons == std::vector<std::string>{"break", "lunch", "training", "meeting"});
    CHECK(defaults.config->agent_states.wrap_up == std::chrono::seconds(15));
}

TEST_CASE("[agent_states] errors name the key and its line") {
    auto r = parse_config("[agent_states]\nreasons = [\"break\", \"Lunch\"]\nwrap_up_seconds = 7200\nmood = 1\n"
                          "[agent_states.queue_wrap_up_seconds]\nsales = \"long\"\n",
                          "ringside.toml");
    CHECK(has_error(r, "agent_states.reasons[1]", 2));
    CHECK(has_error(r, "agent_states.wrap_up_seconds", 3));
    CHECK(has_error(r, "agent_states.mood", 4));
    CHECK(has_error(r, "agent_states.queue_wrap_up_seconds.sales", 6));
    CHECK(!r.config);
    CHECK(has_error(parse_config("[agent_states]\nreasons = []\n", "ringside.toml"), "agent_states.reasons", 2));
    CHECK(has_error(parse_config("[agent_states]\nreasons = [\"a\", \"a\"]\n", "ringside.toml"), "agent_states.reasons[1]", 2));
}
