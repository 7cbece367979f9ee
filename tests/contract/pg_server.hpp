#pragma once
// A real PostgreSQL server for the contract suite, started by the test
// itself: initdb and pg_ctl in a temporary directory, listening on
// 127.0.0.1 only, on a free port, stopped and removed at exit. Run as root
// (the CI's fresh Debian root), the server runs as `nobody`, since
// PostgreSQL refuses to run as root. Without PostgreSQL's binaries the
// test exits 77, which ctest counts as skipped.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <libpq-fe.h>

namespace contract {

namespace fs = std::filesystem;

inline std::string pg_bindir() {
    if (const char* d = std::getenv("RINGSIDE_PG_BINDIR"))  // a named directory without them: absent
        return fs::exists(fs::path(d) / "initdb") && fs::exists(fs::path(d) / "pg_ctl") ? d : "";
    for (const char* v : {"17", "16", "15", "14", "13"}) {
        fs::path p = fs::path("/usr/lib/postgresql") / v / "bin";
        if (fs::exists(p / "initdb") && fs::exists(p / "pg_ctl")) return p.string();
    }
    return {};
}

inline int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error("pg_server: no free loopback port");
    ::close(s);
    return ntohs(a.sin_port);
}

class PgServer {
public:
    /// The one server of this test process, started on first use.
    static PgServer& get() {
        static PgServer s;
        return s;
    }
    PgServer(const PgServer&) = delete;
    PgServer& operator=(const PgServer&) = delete;
    ~PgServer() {
        if (started_) run(pg_ctl_ + " stop -D " + data_ + " -m fast -w >/dev/null 2>&1");
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    /// A URL to a new, empty database of its own (one per test case).
    std::string fresh_database() {
        const std::string name = "contract_" + std::to_string(++databases_);
        PGconn* c = PQconnectdb(url("postgres").c_str());
        if (PQstatus(c) != CONNECTION_OK) {
            std::string why = PQerrorMessage(c);
            PQfinish(c);
            throw std::runtime_error("pg_server: cannot connect: " + why);
        }
        PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
        const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        std::string why = PQerrorMessage(c);
        PQclear(r);
        PQfinish(c);
        if (!ok) throw std::runtime_error("pg_server: CREATE DATABASE: " + why);
        return url(name);
    }
    /// Stops the server (fast shutdown: clients are disconnected), as a
    /// database restart or outage does to Ringside; start() brings it back
    /// on the same port.
    void stop() {
        if (started_ && run(pg_ctl_ + " stop -D " + data_ + " -m fast -w >/dev/null 2>&1") == 0) started_ = false;
    }
    void start() {
        if (started_) return;
        started_ = run(pg_ctl_ + " start -D " + data_ + " -l " + dir_ + "/server.log -w -t 60 -o '" + options() +
                       "' >/dev/null 2>&1") == 0;
        if (!started_) throw std::runtime_error("pg_server: pg_ctl start failed, see " + dir_ + "/server.log");
    }
    std::string url(const std::string& db) const {
        return "postgresql://ringside@127.0.0.1:" + std::to_string(port_) + "/" + db + "?sslmode=disable";
    }

private:
    PgServer() {
        const std::string bin = pg_bindir();
        if (bin.empty()) {
            std::fprintf(stderr, "PostgreSQL's initdb and pg_ctl not found: skipped (scripts/install-deps --test)\n");
            std::exit(77);
        }
        char tmpl[] = "/tmp/ringside-pg-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("pg_server: mkdtemp failed");
        dir_ = tmpl;
        data_ = dir_ + "/data";
        std::string as;
        if (::geteuid() == 0) {
            const passwd* pw = ::getpwnam("nobody");
            if (!pw) throw std::runtime_error("pg_server: running as root and there is no user nobody");
            if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
                throw std::runtime_error("pg_server: cannot hand " + dir_ + " to nobody");
            as = "runuser -u nobody -- ";
        }
        pg_ctl_ = as + bin + "/pg_ctl";
        if (run(as + bin + "/initdb -D " + data_ + " -U ringside -A trust -E UTF8 --no-locale >" + dir_ +
                "/initdb.log 2>&1") != 0)
            throw std::runtime_error("pg_server: initdb failed, see " + dir_ + "/initdb.log");
        // Loopback only; the socket directory is ours; fsync off: a test
        // database need not survive a power cut.
        for (int attempt = 0; attempt < 5 && !started_; ++attempt) {
            port_ = free_port();
            started_ = run(pg_ctl_ + " start -D " + data_ + " -l " + dir_ + "/server.log -w -t 60 -o '" + options() +
                           "' >/dev/null 2>&1") == 0;
        }
        if (!started_) throw std::runtime_error("pg_server: pg_ctl start failed, see " + dir_ + "/server.log");
    }

    std::string options() const {
        return "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " + dir_ +
               " -c fsync=off -c max_connections=50";
    }
    static int run(const std::string& cmd) { return std::system(cmd.c_str()); }

    std::string dir_, data_, pg_ctl_;
    int port_ = 0;
    int databases_ = 0;
    bool started_ = false;
};

}  // namespace contract
