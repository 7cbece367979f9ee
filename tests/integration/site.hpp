#pragma once
// A whole Ringside site for one test: a simulated Asterisk in this process
// (real AMI over loopback), a config file, users created through the real
// CLI, and the real `ringside serve` binary on a free port with a real
// SQLite file in a temp directory.
#include <memory>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include "harness.hpp"
#include "ringside/sim/simulated_asterisk.hpp"

namespace ringside::test {

struct SiteOptions {
    std::string ami_secret = "s3cret";   // what Ringside's config says
    std::string sim_secret = "s3cret";   // what the simulated Asterisk accepts
    std::string replay;                  // raw AMI bytes the PBX sends after login
    std::string region = "IR";
    // Originate on the simulated PBX: the agent's phone and the number each
    // ring this long, then they talk this long.
    std::chrono::milliseconds originate_ring = std::chrono::milliseconds(500);
    std::chrono::milliseconds originate_talk = std::chrono::milliseconds(1000);
    std::string extra_config;            // appended to the config file (more [[pbx]] tables, ...)
    std::string database_url;            // [database] url (PostgreSQL) instead of the SQLite file
};

class Site {
public:
    explicit Site(SiteOptions o = {});
    ~Site();

    /// Starts a simulated Asterisk on sim_port (0: any).
    void start_pbx(std::uint16_t port = 0);
    void stop_pbx();
    /// Writes the config and starts `ringside serve`; waits for /healthz.
    void start_ringside();
    /// SIGTERM and wait; returns the exit status.
    int stop_ringside();

    /// `ringside user add ...`; returns exit status.
    int add_user(const std::string& username, const std::string& role, const std::string& ext,
                 const std::string& password = "password-123");
    std::string token(const std::string& username, const std::string& password = "password-123") {
        return login(port, username, password);
    }
    /// A customer through the API (as a supervisor); returns its id.
    std::int64_t add_customer(const std::string& sup_token, const std::string& name, const std::string& phone,
                              const std::string& issue_title = "");

    /// Places a call on the simulated PBX; returns the Ringside call id ("main-<linkedid>").
    std::string call(const std::string& caller, std::vector<std::string> exts, sim::Outcome outcome,
                     std::chrono::milliseconds ring = 1500ms, std::chrono::milliseconds talk = 1000ms,
                     std::size_t answered_by = 0);

    /// The calls list (GET /api/calls?limit=1000) as this user sees it.
    nlohmann::json calls(const std::string& token) {
        return http(port, "GET", "/api/calls?limit=1000", "", token).json()["calls"];
    }

    /// Waits for the AMI link to be logged in (pbx link up in /metrics).
    bool wait_pbx_linked(std::chrono::milliseconds timeout = 15s);
    /// Polls GET /api/calls?limit=... until pred holds for the call with this id.
    std::optional<nlohmann::json> wait_call(const std::string& token, const std::string& id,
                                            const std::function<bool(const nlohmann::json&)>& pred,
                                            std::chrono::milliseconds timeout = 10s);
    /// wait_call until the call has ended (its record is final).
    std::optional<nlohmann::json> wait_ended(const std::string& token, const std::string& id,
                                             std::chrono::milliseconds timeout = 10s);

    SiteOptions opts;
    TempDir dir;
    unsigned short port = 0;
    std::filesystem::path config;
    std::unique_ptr<Process> ringside;
    boost::asio::io_context pbx_ioc;
    std::unique_ptr<sim::SimulatedAsterisk> pbx;

private:
    std::string database_table() const;
    std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::thread pbx_thread_;
};

}  // namespace ringside::test
