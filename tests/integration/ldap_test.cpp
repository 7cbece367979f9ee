// Sign-in with the company directory ([auth.ldap]) against a real OpenLDAP
// server: Debian's slapd, started by the test on a free loopback port with a
// config and database of its own, users and groups loaded with slapadd and
// changed with ldapmodify while the real `ringside serve` runs.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>

#include "harness.hpp"

using namespace ringside::test;
using json = nlohmann::json;

namespace {

const std::string suffix = "dc=example,dc=com";
const std::string root_dn = "cn=admin," + suffix;
const std::string root_pw = "directory-root";

std::filesystem::path find_tool(const std::string& name) {
    for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
        std::filesystem::path p = std::filesystem::path(dir) / name;
        if (std::filesystem::exists(p)) return p;
    }
    return {};
}

std::string person(const std::string& uid, const std::string& cn, const std::string& password) {
    return "dn: uid=" + uid + ",ou=people," + suffix + "\nobjectClass: inetOrgPerson\nuid: " + uid + "\ncn: " + cn +
           "\nsn: " + cn.substr(cn.rfind(' ') + 1) + "\nuserPassword: " + password + "\n\n";
}

std::string group(const std::string& cn, const std::vector<std::string>& uids) {
    std::string g = "dn: cn=" + cn + ",ou=groups," + suffix + "\nobjectClass: groupOfNames\ncn: " + cn + "\n";
    for (const auto& u : uids) g += "member: uid=" + u + ",ou=people," + suffix + "\n";
    return g + "\n";
}

/// slapd with a database of its own under a temp dir, on a free loopback port.
struct Slapd {
    TempDir dir;
    unsigned short port = free_port();
    std::unique_ptr<Process> process;
    std::filesystem::path slapd = find_tool("slapd"), slapadd = find_tool("slapadd"), ldapmodify = find_tool("ldapmodify");

    /// `tls_dir`: where cert.pem and key.pem are, for StartTLS; empty: plain LDAP only.
    explicit Slapd(const std::filesystem::path& tls_dir = {}) {
        // Installed by scripts/install-deps --test: its absence is a broken test machine, never a pass.
        if (slapd.empty() || slapadd.empty() || ldapmodify.empty())
            FAIL("slapd, slapadd or ldapmodify not found: install Debian's slapd and ldap-utils "
                 "(scripts/install-deps --test)");
        std::filesystem::create_directories(dir.path / "db");
        write_file(dir.path / "slapd.conf",
                   "include /etc/ldap/schema/core.schema\n"
                   "include /etc/ldap/schema/cosine.schema\n"
                   "include /etc/ldap/schema/inetorgperson.schema\n"
                   "modulepath /usr/lib/ldap\nmoduleload back_mdb\n" +
                   (tls_dir.empty() ? std::string()
                                    : "TLSCertificateFile " + (tls_dir / "cert.pem").string() + "\nTLSCertificateKeyFile " +
                                          (tls_dir / "key.pem").string() + "\n") +
                   "pidfile " + (dir.path / "slapd.pid").string() + "\n"
                   "database mdb\nmaxsize 16777216\n"
                   "suffix \"" + suffix + "\"\nrootdn \"" + root_dn + "\"\nrootpw " + root_pw + "\n"
                   "directory " + (dir.path / "db").string() + "\n"
                   "access to attrs=userPassword by anonymous auth by self read by * none\n"
                   "access to * by * read\n");
        std::string ldif = "dn: " + suffix + "\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n"
                           "dn: ou=people," + suffix + "\nobjectClass: organizationalUnit\nou: people\n\n"
                           "dn: ou=groups," + suffix + "\nobjectClass: organizationalUnit\nou: groups\n\n";
        ldif += person("alice", "Alice Lee", "alice-directory-pw");
        ldif += person("sam", "Sam Stone", "sam-directory-pw");
        ldif += person("nora", "Nora Nobody", "nora-directory-pw");
        ldif += person("zed", "Zed Zimmer", "zed-directory-pw");
        ldif += person("lena", "Lena Local", "lena-directory-pw");   // also a local user: the local one wins
        ldif += group("ringside-agents", {"alice", "zed", "lena"});
        ldif += group("ringside-supervisors", {"sam"});
        ldif += group("other", {"nora"});
        write_file(dir.path / "data.ldif", ldif);
        auto loaded = run({slapadd.string(), "-f", (dir.path / "slapd.conf").string(), "-l", (dir.path / "data.ldif").string()},
                          dir.path);
        REQUIRE_MESSAGE(loaded.status == 0, "slapadd failed: " << loaded.err);
        process = std::make_unique<Process>(std::vector<std::string>{slapd.string(), "-d", "0", "-f",
                                                                     (dir.path / "slapd.conf").string(), "-h",
                                                                     "ldap://127.0.0.1:" + std::to_string(port) + "/"},
                                            dir.path);
        // Ready when a search answers (generous: a loaded CI machine).
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (!modify("dn: " + suffix + "\nchangetype: modify\nreplace: o\no: Example\n")) {
            REQUIRE_MESSAGE(process->running(), "slapd exited: " << process->err());
            REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "slapd did not answer: " << process->err());
            std::this_thread::sleep_for(100ms);
        }
    }
    ~Slapd() {
        if (process && process->running()) {
            process->signal(SIGTERM);
            process->wait(10s);
        }
    }

    std::string url() const { return "ldap://127.0.0.1:" + std::to_string(port); }

    /// ldapmodify as the directory's root; true when it succeeded.
    bool modify(const std::string& ldif) {
        auto r = run({ldapmodify.string(), "-x", "-H", url(), "-D", root_dn, "-w", root_pw}, dir.path, ldif);
        return r.status == 0;
    }
};

struct Ringside {
    TempDir dir;
    unsigned short port = free_port();
    std::filesystem::path config = dir.path / "ringside.toml";
    std::unique_ptr<Process> process;

    explicit Ringside(const std::string& ldap_table) {
        write_file(config, "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n[database]\npath = \"" +
                               (dir.path / "ringside.db").string() + "\"\n[log]\nlevel = \"debug\"\n" + ldap_table);
        REQUIRE(add_user(config, dir.path, "lena", "agent", "1009", "lena-local-pw") == 0);
        REQUIRE(add_user(config, dir.path, "root", "admin", "", "root-local-pw") == 0);
        process = serve(config, dir.path, port);
    }
    ~Ringside() { stop_serve(process.get()); }

    HttpResponse login(const std::string& user, const std::string& password) {
        return http(port, "POST", "/api/login", json{{"username", user}, {"password", password}}.dump());
    }
    HttpResponse me(const std::string& token) { return http(port, "GET", "/api/me", "", token); }
};

std::string groups_table(const std::string& extra = "") {
    return extra + "\n[auth.ldap.groups]\n\"cn=ringside-agents,ou=groups," + suffix + "\" = \"agent\"\n\"cn=ringside-supervisors,ou=groups," +
           suffix + "\" = \"supervisor\"\n";
}

/// A console's /ws with the sign-in's token, read until the server closes it.
struct Socket {
    boost::asio::io_context ioc;
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws{ioc};

    Socket(unsigned short port, const std::string& token) {
        auto& tcp = boost::beast::get_lowest_layer(ws);
        tcp.expires_after(10s);
        tcp.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
        tcp.expires_never();
        ws.handshake("127.0.0.1:" + std::to_string(port), "/ws?token=" + token);
        ws.write(boost::asio::buffer(json{{"type", "ping"}}.dump()));
    }
    /// The reason the server gave when it closed; empty when it did not within `limit` (an upper bound only).
    std::string wait_closed(std::chrono::seconds limit = 60s) {
        boost::beast::get_lowest_layer(ws).expires_after(limit);
        boost::beast::flat_buffer buf;
        boost::beast::error_code ec;
        while (!ec) ws.read(buf, ec);
        return ec == boost::beast::websocket::error::closed ? std::string(ws.reason().reason.c_str()) : std::string();
    }
};

/// Polls until pred() or the (generous) deadline; true when pred() held.
template <class Pred>
bool eventually(Pred pred, std::chrono::seconds limit = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(100ms);
    }
    return pred();
}

}  // namespace

TEST_CASE("directory users sign in with their directory password and get the role of their group") {
    Slapd ldap;
    Ringside rs("[auth.ldap]\nurl = \"" + ldap.url() + "\"\nsearch_base = \"ou=people," + suffix +
                "\"\nsearch_filter = \"(&(objectClass=inetOrgPerson)(uid={user}))\"\nservice_dn = \"" + root_dn +
                "\"\nservice_password = \"" + root_pw + "\"\nrecheck_seconds = 1\n" + groups_table());

    auto alice = rs.login("alice", "alice-directory-pw");
    REQUIRE_MESSAGE(alice.status == 200, alice.body);
    CHECK(alice.json()["user"]["role"] == "agent");
    CHECK(alice.json()["user"]["name"] == "Alice Lee");
    auto sam = rs.login("Sam", "sam-directory-pw");  // the case typed does not matter
    REQUIRE_MESSAGE(sam.status == 200, sam.body);
    CHECK(sam.json()["user"]["username"] == "sam");
    CHECK(sam.json()["user"]["role"] == "supervisor");

    CHECK(rs.login("alice", "wrong-password").status == 401);
    CHECK(rs.login("alice", "").status == 401);          // never an anonymous bind
    CHECK(rs.login("nobody", "whatever-pw").status == 401);
    auto nora = rs.login("nora", "nora-directory-pw");   // right password, no mapped group
    CHECK(nora.status == 403);
    CHECK(nora.json()["error"] == "no_role");
    // Filter injection: none of these is anyone, whatever the password.
    for (const std::string name : {"*", "*)(uid=*", "alice)(|(uid=*", "al*", "*)(objectClass=*", "alice\\2a"}) {
        auto r = rs.login(name, "alice-directory-pw");
        CHECK_MESSAGE(r.status == 401, name << " -> " << r.status << " " << r.body);
    }

    // A local user signs in locally, never with a directory password.
    CHECK(rs.login("lena", "lena-local-pw").status == 200);
    CHECK(rs.login("lena", "lena-directory-pw").status == 401);

    // The directory user has a row of their own, marked as the directory's, without a password.
    {
        SQLite::Database db((rs.dir.path / "ringside.db").string(), SQLite::OPEN_READONLY);
        SQLite::Statement q(db, "SELECT password_hash, directory_dn, role FROM users WHERE username = 'alice'");
        REQUIRE(q.executeStep());
        CHECK(q.getColumn(0).getString().empty());
        CHECK(q.getColumn(1).getString() == "uid=alice,ou=people," + suffix);
        CHECK(q.getColumn(2).getString() == "agent");
    }
    // ... so an admin can give them an extension, which the next sign-in keeps.
    const auto root = login(rs.port, "root", "root-local-pw");
    auto patched = http(rs.port, "PATCH", "/api/admin/users/alice", json{{"extension", "1001"}}.dump(), root,
                        {{"Content-Type", "application/json"}});
    CHECK_MESSAGE(patched.status == 200, patched.body);
    auto again = rs.login("alice", "alice-directory-pw");
    REQUIRE(again.status == 200);
    CHECK(again.json()["user"]["extension"] == "1001");

    // The role follows the directory's groups at sign-in.
    REQUIRE(ldap.modify("dn: cn=ringside-supervisors,ou=groups," + suffix + "\nchangetype: modify\nadd: member\nmember: uid=alice,ou=people," +
                        suffix + "\n"));
    auto promoted = rs.login("alice", "alice-directory-pw");
    REQUIRE(promoted.status == 200);
    CHECK(promoted.json()["user"]["role"] == "supervisor");
}

TEST_CASE("the login throttle counts directory sign-ins too") {
    Slapd ldap;
    Ringside rs("[auth.ldap]\nurl = \"" + ldap.url() + "\"\nuser_dn = \"uid={user},ou=people," + suffix + "\"\n" + groups_table());
    int refused = 0, limited = 0;
    for (int i = 0; i < 8; ++i) {
        const auto s = rs.login("zed", "wrong-" + std::to_string(i)).status;
        refused += s == 401;
        limited += s == 429;
    }
    CHECK(refused == 5);
    CHECK(limited == 3);
    // Locked now, even with the right password (from this address).
    CHECK(rs.login("zed", "zed-directory-pw").status == 429);
}

TEST_CASE("a user removed from the group or from the directory loses access at their next request, their socket closed") {
    Slapd ldap;
    // A DN template, and rechecks read anonymously (no service account).
    Ringside rs("[auth.ldap]\nurl = \"" + ldap.url() + "\"\nuser_dn = \"uid={user},ou=people," + suffix +
                "\"\nrecheck_seconds = 1\n" + groups_table());
    const auto alice = login(rs.port, "alice", "alice-directory-pw");
    const auto sam = login(rs.port, "sam", "sam-directory-pw");
    const auto lena = login(rs.port, "lena", "lena-local-pw");
    CHECK(rs.me(alice).status == 200);
    Socket ws(rs.port, alice);

    // Still in the group: a request after the interval is rechecked and passes.
    std::this_thread::sleep_for(1500ms);
    CHECK(rs.me(alice).status == 200);

    REQUIRE(ldap.modify("dn: cn=ringside-agents,ou=groups," + suffix + "\nchangetype: modify\ndelete: member\nmember: uid=alice,ou=people," +
                        suffix + "\n"));
    // The first request after the recheck interval is refused (the deadline is only an upper bound).
    CHECK(eventually([&] { return rs.me(alice).status == 401; }));
    CHECK(rs.me(alice).status == 401);  // the session is gone for good
    CHECK(ws.wait_closed() == "directory access withdrawn");
    // Signing in again is refused too: in no mapped group.
    CHECK(rs.login("alice", "alice-directory-pw").status == 403);

    // An entry deleted from the directory.
    REQUIRE(ldap.modify("dn: uid=sam,ou=people," + suffix + "\nchangetype: delete\n"));
    CHECK(eventually([&] { return rs.me(sam).status == 401; }));
    CHECK(rs.login("sam", "sam-directory-pw").status == 401);

    // A local user's session is never sent to the directory.
    CHECK(rs.me(lena).status == 200);
}

TEST_CASE("a directory that cannot be reached refuses sign-ins with 503 and keeps local users working") {
    Ringside rs("[auth.ldap]\nurl = \"ldap://127.0.0.1:" + std::to_string(free_port()) + "\"\nuser_dn = \"uid={user},ou=people," +
                suffix + "\"\ntimeout_seconds = 2\n" + groups_table());
    auto r = rs.login("alice", "alice-directory-pw");
    CHECK(r.status == 503);
    CHECK(r.json()["error"] == "directory_unavailable");
    CHECK(rs.login("lena", "lena-local-pw").status == 200);
}

TEST_CASE("StartTLS: the directory's certificate must chain to ca_file, else nothing is sent") {
    TempDir certs;
    // A certificate for 127.0.0.1 that slapd serves, and another the service is wrongly told to trust.
    for (const std::string name : {"", "other-"}) {
        auto made = run({find_tool("openssl").string(), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", (certs.path / (name + "key.pem")).string(),
                         "-out", (certs.path / (name + "cert.pem")).string()},
                        certs.path);
        REQUIRE_MESSAGE(made.status == 0, "openssl req failed: " << made.err);
    }
    Slapd ldap(certs.path);
    const auto table = [&](const std::string& ca) {
        return "[auth.ldap]\nurl = \"" + ldap.url() + "\"\nstart_tls = true\nca_file = \"" + (certs.path / ca).string() +
               "\"\nuser_dn = \"uid={user},ou=people," + suffix + "\"\n" + groups_table();
    };
    {
        Ringside rs(table("cert.pem"));
        auto r = rs.login("alice", "alice-directory-pw");
        CHECK_MESSAGE(r.status == 200, r.body);
    }
    {
        Ringside rs(table("other-cert.pem"));
        auto r = rs.login("alice", "alice-directory-pw");
        CHECK(r.status == 503);
        CHECK(r.json()["error"] == "directory_unavailable");
        CHECK(rs.process->err().find("StartTLS") != std::string::npos);
    }
}
