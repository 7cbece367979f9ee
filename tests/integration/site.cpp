#include "site.hpp"

#include <csignal>
#include <cstdlib>

#include "../contract/pg_server.hpp"

namespace ringside::test {

Site::Site(SiteOptions o) : opts(std::move(o)) {
    // RINGSIDE_TEST_POSTGRES=1: the same test on PostgreSQL, a new database
    // of the test's own server (ctest runs some suites twice: *_postgres).
    if (opts.database_url.empty() && std::getenv("RINGSIDE_TEST_POSTGRES"))
        opts.database_url = contract::PgServer::get().fresh_database();
    port = free_port();
    config = dir.path / "ringside.toml";
    work_ = std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
        pbx_ioc.get_executor());
    pbx_thread_ = std::thread([this] { pbx_ioc.run(); });
}

Site::~Site() {
    stop_serve(ringside.get());
    stop_pbx();
    work_.reset();
    pbx_ioc.stop();
    pbx_thread_.join();
}

void Site::start_pbx(std::uint16_t pbx_port) {
    sim::SimConfig sc;
    sc.port = pbx_port;
    sc.users = {{"ringside", opts.sim_secret}};
    sc.replay = opts.replay;
    sc.originate_ring_time = opts.originate_ring;
    sc.originate_far_ring_time = opts.originate_ring;
    sc.originate_talk_time = opts.originate_talk;
    // A port just released by the previous simulated PBX may take a moment to be free again.
    for (int attempt = 0;; ++attempt) {
        pbx = std::make_unique<sim::SimulatedAsterisk>(pbx_ioc, sc);
        try {
            pbx->start();
            return;
        } catch (const std::exception&) {
            if (attempt >= 50) throw;
            pbx.reset();
            std::this_thread::sleep_for(100ms);
        }
    }
}

std::string Site::database_table() const {
    if (!opts.database_url.empty()) return "[database]\nurl = \"" + opts.database_url + "\"\n";
    return "[database]\npath = \"" + (dir.path / "ringside.db").string() + "\"\n";
}

void Site::stop_pbx() {
    if (pbx) pbx->stop();
}

void Site::start_ringside() {
    write_file(config, "[server]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n" + database_table() +
                           "[phone]\ndefault_region = \"" + opts.region +
                           "\"\n[log]\nlevel = \"debug\"\n"
                           "[[pbx]]\nid = \"main\"\ntype = \"asterisk-ami\"\nhost = \"127.0.0.1\"\nport = " +
                           std::to_string(pbx ? pbx->port() : 1) + "\nusername = \"ringside\"\nsecret = \"" +
                           opts.ami_secret + "\"\n" + opts.extra_config);
    ringside = serve(config, dir.path, port);
}

int Site::stop_ringside() {
    ringside->signal(SIGTERM);
    auto st = ringside->wait(15s);
    return st ? *st : -1;
}

int Site::add_user(const std::string& username, const std::string& role, const std::string& ext,
                   const std::string& password) {
    if (!std::filesystem::exists(config)) {
        write_file(config, database_table());
    }
    return ::ringside::test::add_user(config, dir.path, username, role, ext, password);
}

std::int64_t Site::add_customer(const std::string& sup_token, const std::string& name, const std::string& phone,
                                const std::string& issue_title) {
    auto r = http(port, "POST", "/api/customers",
                  nlohmann::json{{"name", name}, {"phones", {phone}}, {"tier", "gold"}, {"tags", {"vip"}}}.dump(),
                  sup_token);
    if (r.status != 201) throw std::runtime_error("create customer: " + std::to_string(r.status) + " " + r.body);
    auto id = r.json().at("id").get<std::int64_t>();
    if (!issue_title.empty()) {
        auto ri = http(port, "POST", "/api/customers/" + std::to_string(id) + "/issues",
                       nlohmann::json{{"title", issue_title}, {"description", "reported on the phone"}}.dump(),
                       sup_token);
        if (ri.status != 201) throw std::runtime_error("create issue: " + std::to_string(ri.status) + " " + ri.body);
    }
    return id;
}

std::string Site::call(const std::string& caller, std::vector<std::string> exts, sim::Outcome outcome,
                       std::chrono::milliseconds ring, std::chrono::milliseconds talk, std::size_t answered_by) {
    sim::CallPlan p;
    p.caller_number = caller;
    p.caller_name = "";
    p.extensions = std::move(exts);
    p.outcome = outcome;
    p.ring_time = ring;
    p.talk_time = talk;
    p.answered_by = answered_by;
    return "main-" + pbx->place_call(p);
}

bool Site::wait_pbx_linked(std::chrono::milliseconds timeout) {
    return wait_metric(port, "ringside_pbx_link_up{pbx=\"main\",state=\"connected\"} 1", timeout);
}

std::optional<nlohmann::json> Site::wait_call(const std::string& token, const std::string& id,
                                              const std::function<bool(const nlohmann::json&)>& pred,
                                              std::chrono::milliseconds timeout) {
    return wait_for_call(
        port, token, [&](const nlohmann::json& c) { return c["id"] == id && pred(c); }, timeout, "call " + id);
}

std::optional<nlohmann::json> Site::wait_ended(const std::string& token, const std::string& id,
                                               std::chrono::milliseconds timeout) {
    return wait_call(token, id, [](const nlohmann::json& c) { return !c["ended_at"].is_null(); }, timeout);
}

}  // namespace ringside::test
