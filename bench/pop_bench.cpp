// pop_bench: end-to-end load on the real `ringside serve` binary.
//
// A simulated Asterisk in this process places N calls/s of realistic AMI
// traffic (about 30 events a call, mixed outcomes) to M agents, whose browsers
// are M WebSocket clients in this process. The store holds C customers;
// a share of callers is unknown. Reported:
//   event-to-pop latency: from the moment the PBX writes the DialBegin that
//   rings an agent's phone to the moment that agent's socket has the
//   call.ringing (p50, p99, p99.9, max);
//   calls/s placed and sustained by the server; pops expected, received,
//   lost and duplicated; the server's peak RSS and CPU time.
//
//   pop_bench [--rate 500] [--seconds 20] [--agents 1000] [--customers 1000000]
//             [--unknown 0.1] [--data DIR] [--binary PATH]
// The store under --data is kept and reused (building 1M customers takes a while).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without it
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "ringside/core/password.hpp"
#include "ringside/sim/simulated_asterisk.hpp"
#include "ringside/storage/sqlite_store.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ws = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Options {
    double rate = 500;
    int seconds = 20;
    int agents = 1000;
    long customers = 1'000'000;
    double unknown = 0.1;
    std::string data = "var/bench";
    std::string binary = RINGSIDE_BINARY_DIR "/src/app/ringside";
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--rate") o.rate = std::stod(v);
        else if (k == "--seconds") o.seconds = std::stoi(v);
        else if (k == "--agents") o.agents = std::stoi(v);
        else if (k == "--customers") o.customers = std::stol(v);
        else if (k == "--unknown") o.unknown = std::stod(v);
        else if (k == "--data") o.data = v;
        else if (k == "--binary") o.binary = v;
        else throw std::runtime_error("unknown option " + k);
    }
    return o;
}

/// Customer i's mobile number, national format and E.164 (region IR).
std::string customer_national(long i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0912%07ld", i);
    return buf;
}
std::string customer_e164(long i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "+98912%07ld", i);
    return buf;
}

void build_store(ringside::SqliteStore& store, const Options& o) {
    auto have = static_cast<long>(store.customer_count());
    if (have >= o.customers) return;
    std::cerr << "seeding " << (o.customers - have) << " customers...\n";
    auto t0 = Clock::now();
    const char* tiers[] = {"gold", "silver", "bronze"};
    std::vector<ringside::Customer> batch;
    for (long i = have; i < o.customers; ++i) {
        ringside::Customer c;
        c.name = "Customer " + std::to_string(i);
        c.phones = {customer_e164(i)};
        c.tier = tiers[i % 3];
        c.tags = {"bench"};
        c.created_at = ringside::now_ms();
        batch.push_back(std::move(c));
        if (batch.size() == 20000 || i + 1 == o.customers) {
            auto ids = store.create_customers(batch);
            // Every tenth customer has an open issue, so pops carry one.
            for (std::size_t k = 0; k < ids.size(); k += 10) {
                ringside::Issue is;
                is.customer_id = ids[k];
                is.title = "Refund not received";
                is.opened_at = ringside::now_ms();
                store.create_issue(is);
            }
            batch.clear();
        }
    }
    std::cerr << "seeded in " << std::chrono::duration<double>(Clock::now() - t0).count() << " s\n";
}

struct Stats {
    std::mutex m;
    // call id -> agent -> expected ring time (steady clock)
    std::unordered_map<std::string, Clock::time_point> expected;  // key: call id + "|" + agent
    std::unordered_map<std::string, int> received;
    std::vector<double> latencies_ms;
    std::uint64_t messages = 0;
    std::uint64_t unexpected = 0;
};

class Agent : public std::enable_shared_from_this<Agent> {
public:
    Agent(asio::io_context& ioc, std::string name, Stats& stats) : ws_(ioc), name_(std::move(name)), stats_(stats) {}

    void start(const tcp::endpoint& ep, const std::string& token, std::function<void(bool)> ready) {
        ready_ = std::move(ready);
        token_ = token;
        beast::get_lowest_layer(ws_).async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
            if (ec) return self->ready_(false);
            beast::error_code ignored;
            beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true), ignored);
            self->ws_.async_handshake("127.0.0.1", "/ws?token=" + self->token_, [self](beast::error_code ec2) {
                if (ec2) return self->ready_(false);
                // The server holds live messages until the browser's first message.
                self->out_ = R"({"type":"ping"})";
                self->ws_.async_write(asio::buffer(self->out_), [self](beast::error_code ec3, std::size_t) {
                    self->ready_(!ec3);
                    if (!ec3) self->read();
                });
            });
        });
    }

    void close() {
        beast::error_code ec;
        beast::get_lowest_layer(ws_).socket().close(ec);
    }

private:
    void read() {
        ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            auto now = Clock::now();
            auto text = beast::buffers_to_string(self->buf_.data());
            self->buf_.consume(self->buf_.size());
            self->on_message(text, now);
            self->read();
        });
    }

    void on_message(const std::string& text, Clock::time_point now) {
        auto j = nlohmann::json::parse(text, nullptr, false);
        std::lock_guard lock(stats_.m);
        ++stats_.messages;
        if (j.is_discarded() || j.value("type", "") != "call.ringing") return;
        auto key = j["call"]["id"].get<std::string>() + "|" + name_;
        auto it = stats_.expected.find(key);
        if (it == stats_.expected.end()) {
            ++stats_.unexpected;
            return;
        }
        if (stats_.received[key]++ == 0)
            stats_.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
    }

    ws::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buf_;
    std::string name_, token_, out_;
    Stats& stats_;
    std::function<void(bool)> ready_;
};

struct ProcInfo {
    long rss_kb = 0, hwm_kb = 0;
    double cpu_s = 0;
};

ProcInfo proc_info(pid_t pid) {
    ProcInfo p;
    std::ifstream st("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(st, line)) {
        if (line.rfind("VmRSS:", 0) == 0) p.rss_kb = std::stol(line.substr(6));
        if (line.rfind("VmHWM:", 0) == 0) p.hwm_kb = std::stol(line.substr(6));
    }
    std::ifstream sf("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(sf)), {});
    auto rp = s.rfind(')');
    std::istringstream rest(s.substr(rp + 2));
    std::string f;
    long ut = 0, stt = 0;
    for (int i = 3; i <= 15 && rest >> f; ++i) {
        if (i == 14) ut = std::stol(f);
        if (i == 15) stt = std::stol(f);
    }
    p.cpu_s = static_cast<double>(ut + stt) / static_cast<double>(sysconf(_SC_CLK_TCK));
    return p;
}

double pct(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
}

/// Offset of the DialBegin that rings `ext` in this call's script.
std::chrono::milliseconds dial_offset(const ringside::sim::CallPlan& plan, const std::string& ext) {
    auto script = ringside::sim::script_call(plan);
    for (const auto& te : script.events)
        if (te.message.event() == "DialBegin" && te.message.get("DestChannel").rfind("SIP/" + ext + "-", 0) == 0)
            return te.offset;
    return 0ms;
}

}  // namespace

int main(int argc, char** argv) try {
    auto o = parse(argc, argv);
    std::filesystem::create_directories(o.data);
    auto db = std::filesystem::absolute(o.data) / "bench.db";
    std::vector<std::string> tokens(static_cast<std::size_t>(o.agents));
    {
        ringside::SqliteStore store(db);
        build_store(store, o);
        auto hash = ringside::hash_password("bench-password");
        for (int a = 0; a < o.agents; ++a) {
            ringside::User u;
            u.username = ringside::AgentId{"agent" + std::to_string(a)};
            u.name = u.username.value();
            u.extension = ringside::Extension{std::to_string(2000 + a)};
            if (!store.find_user(u.username)) store.create_user(u, hash);
            tokens[static_cast<std::size_t>(a)] = ringside::generate_token();
            store.create_session(ringside::sha256_hex(tokens[static_cast<std::size_t>(a)]), u.username,
                                 ringside::now_ms() + std::chrono::hours(2));
        }
    }

    // The PBX: its own thread, like a separate machine.
    asio::io_context pbx_ioc;
    ringside::sim::SimConfig sc;
    sc.users = {{"ringside", "bench"}};
    sc.max_queued_bytes = 64 * 1024 * 1024;
    ringside::sim::SimulatedAsterisk pbx(pbx_ioc, sc);
    pbx.start();
    auto pbx_work = asio::make_work_guard(pbx_ioc);
    std::thread pbx_thread([&] { pbx_ioc.run(); });

    // The server under test.
    unsigned short port;
    {
        asio::io_context tmp;
        tcp::acceptor a(tmp, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        port = a.local_endpoint().port();
    }
    auto cfg = std::filesystem::absolute(o.data) / "bench.toml";
    std::ofstream(cfg) << "[server]\nlisten = \"127.0.0.1:" << port << "\"\n[database]\npath = \"" << db.string()
                       << "\"\n[phone]\ndefault_region = \"IR\"\n[log]\nlevel = \"warn\"\n[[pbx]]\nid = \"bench\"\n"
                       << "type = \"asterisk-ami\"\nport = " << pbx.port() << "\nusername = \"ringside\"\nsecret = \"bench\"\n";
    pid_t pid = fork();
    if (pid == 0) {
        auto log = std::filesystem::absolute(o.data) / "server.log";
        if (!freopen(log.c_str(), "w", stderr)) _exit(126);
        execl(o.binary.c_str(), o.binary.c_str(), "serve", "--config", cfg.c_str(), nullptr);
        _exit(127);
    }
    auto idle = proc_info(pid);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    for (int i = 0; i < 200; ++i) {
        asio::io_context tmp;
        tcp::socket s(tmp);
        beast::error_code ec;
        s.connect(ep, ec);
        if (!ec) break;
        std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(1s);  // let the AMI link log in and resync
    idle = proc_info(pid);

    // The browsers.
    Stats stats;
    asio::io_context client_ioc;
    std::vector<std::shared_ptr<Agent>> agents;
    std::atomic<int> ready{0}, failed{0};
    for (int a = 0; a < o.agents; ++a) {
        auto ag = std::make_shared<Agent>(client_ioc, "agent" + std::to_string(a), stats);
        ag->start(ep, tokens[static_cast<std::size_t>(a)], [&](bool ok) { (ok ? ready : failed)++; });
        agents.push_back(ag);
    }
    auto client_work = asio::make_work_guard(client_ioc);
    std::thread client_thread([&] { client_ioc.run(); });
    auto t_conn = Clock::now();
    while (ready + failed < o.agents && Clock::now() - t_conn < 60s) std::this_thread::sleep_for(10ms);
    std::cerr << ready << " agents connected, " << failed << " failed\n";
    auto connected = proc_info(pid);

    // The traffic: calls to agents' extensions at the rate, callers mostly customers.
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> u01(0, 1);
    std::uniform_int_distribution<long> pick_customer(0, std::max<long>(0, o.customers - 1));
    std::uniform_int_distribution<int> pick_agent(0, o.agents - 1);
    ringside::sim::TrafficMix mix;
    mix.ring_min = 1000ms;
    mix.ring_max = 3000ms;
    mix.talk_min = 2000ms;
    mix.talk_max = 8000ms;
    ringside::sim::TrafficGenerator gen(mix, 7);
    std::uint64_t placed = 0, expected_pops = 0;
    auto start = Clock::now();
    auto interval = std::chrono::duration<double>(1.0 / o.rate);
    auto until = start + std::chrono::seconds(o.seconds);
    while (Clock::now() < until) {
        auto due = start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(placed));
        if (due > Clock::now()) std::this_thread::sleep_until(due);
        int a = pick_agent(rng);
        std::string ext = std::to_string(2000 + a);
        auto plan = *gen.next({ext});
        plan.caller_number = u01(rng) < o.unknown ? "0935" + std::to_string(1000000 + pick_agent(rng))
                                                  : customer_national(pick_customer(rng));
        auto off = dial_offset(plan, ext);
        auto t = Clock::now();
        auto linkedid = pbx.place_call(plan);
        {
            std::lock_guard lock(stats.m);
            stats.expected["bench-" + linkedid + "|agent" + std::to_string(a)] = t + off;
        }
        ++placed;
        ++expected_pops;
    }
    auto traffic_s = std::chrono::duration<double>(Clock::now() - start).count();
    std::this_thread::sleep_for(5s);  // rings still due, and their pops
    auto end = proc_info(pid);

    std::size_t received = 0, duplicates = 0;
    std::vector<double> lat;
    {
        std::lock_guard lock(stats.m);
        for (const auto& [k, n] : stats.received) {
            ++received;
            if (n > 1) duplicates += static_cast<std::size_t>(n - 1);
        }
        lat = stats.latencies_ms;
    }
    // Server-side throughput from its own counters.
    std::string metrics;
    {
        asio::io_context tmp;
        beast::tcp_stream s(tmp);
        s.connect(ep);
        std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        asio::write(s, asio::buffer(req));
        beast::error_code ec;
        std::string all;
        char buf[65536];
        for (;;) {
            auto n = s.socket().read_some(asio::buffer(buf), ec);
            all.append(buf, n);
            if (ec) break;
        }
        metrics = all;
    }
    auto metric = [&](const std::string& name) -> std::string {
        auto p = metrics.find("\n" + name);
        if (p == std::string::npos) return "?";
        auto e = metrics.find('\n', p + 1);
        auto line = metrics.substr(p + 1, e - p - 1);
        return line.substr(line.rfind(' ') + 1);
    };

    // The server's own view: AMI event read -> pops handed to the hub (histogram upper bounds).
    auto server_pct = [&](double p) -> std::string {
        std::vector<std::pair<std::string, double>> buckets;
        std::istringstream in(metrics);
        std::string line;
        while (std::getline(in, line)) {
            const std::string pre = "ringside_engine_event_latency_seconds_bucket{le=\"";
            if (line.rfind(pre, 0) != 0) continue;
            auto q = line.find('"', pre.size());
            buckets.emplace_back(line.substr(pre.size(), q - pre.size()), std::stod(line.substr(line.rfind(' ') + 1)));
        }
        if (buckets.empty() || buckets.back().second == 0) return "?";
        double want = p / 100.0 * buckets.back().second;
        for (const auto& [le, n] : buckets)
            if (n >= want) return le == "+Inf" ? ">250" : std::to_string(std::stod(le) * 1000).substr(0, 5);
        return "?";
    };
    auto counters = pbx.counters();
    std::printf("\npop_bench: %d agents, %ld customers (%.0f%% unknown callers), %.0f calls/s for %d s\n", o.agents,
                o.customers, o.unknown * 100, o.rate, o.seconds);
    std::printf("  calls placed            %llu (%.1f calls/s), AMI events sent %llu (%.0f/s)\n",
                static_cast<unsigned long long>(placed), static_cast<double>(placed) / traffic_s,
                static_cast<unsigned long long>(counters.events_sent),
                static_cast<double>(counters.events_sent) / (traffic_s + 5));
    std::printf("  server: calls started %s, ended %s, engine events %s\n", metric("ringside_calls_started_total").c_str(),
                metric("ringside_calls_ended_total").c_str(), metric("ringside_engine_events_total").c_str());
    std::printf("  pops expected %llu, received %zu, lost %llu, duplicate %zu, unexpected %llu\n",
                static_cast<unsigned long long>(expected_pops), received,
                static_cast<unsigned long long>(expected_pops - received), duplicates,
                static_cast<unsigned long long>(stats.unexpected));
    std::printf("  event-to-pop latency ms: p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", pct(lat, 50), pct(lat, 99),
                pct(lat, 99.9), lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end()));
    std::printf("  server side, AMI event read -> pop handed to the hub, ms: p50 <= %s  p99 <= %s  p99.9 <= %s\n",
                server_pct(50).c_str(), server_pct(99).c_str(), server_pct(99.9).c_str());
    std::printf("  server RSS: idle %.1f MiB, %d sockets open %.1f MiB, end %.1f MiB, peak %.1f MiB\n",
                static_cast<double>(idle.rss_kb) / 1024, o.agents, static_cast<double>(connected.rss_kb) / 1024,
                static_cast<double>(end.rss_kb) / 1024, static_cast<double>(end.hwm_kb) / 1024);
    std::printf("  server CPU: %.1f s over %.1f s of traffic (%.0f%% of one core)\n", end.cpu_s - connected.cpu_s,
                traffic_s + 5, 100 * (end.cpu_s - connected.cpu_s) / (traffic_s + 5));
    std::printf("  clients dropped by the PBX for being slow: %llu\n",
                static_cast<unsigned long long>(counters.clients_dropped_slow));

    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    for (auto& a : agents) a->close();
    client_work.reset();
    client_ioc.stop();
    client_thread.join();
    pbx.stop();
    pbx_work.reset();
    pbx_ioc.stop();
    pbx_thread.join();
    return expected_pops == received && duplicates == 0 ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "pop_bench: " << e.what() << "\n";
    return 2;
}
