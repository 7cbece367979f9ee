// pop_bench: end-to-end load on the real `ringside serve` binary.
//
// A simulated Asterisk in this process plays calls as real Asterisk 13 AMI
// bytes (src/sim) to the server, whose agents' browsers are WebSocket
// clients in this process, and supervisors' wallboards too. Named profiles
// look like call centers (bench/README.md says what each figure means):
//
//   pop_bench --profile small|large|burst|ceiling [--short] [--check]
//             [--rate N] [--seconds S] [--agents M] [--supervisors K]
//             [--ring-min S] [--ring-max S] [--talk-min S] [--talk-max S]
//             [--queue-percent P] [--transfer-percent P] [--customers C]
//             [--unknown F] [--data DIR] [--binary PATH]
//
// Without --profile it plays the old default: 500 calls/s for 20 s to 1,000
// agents, short calls. Any flag after the profile overrides it. The last
// line printed is one `RESULT key=value ...` line per run (or ceiling step)
// for scripts/bench. Exit status: 0 when no pop was lost or duplicated and
// no message was out of order (times never fail a run), 1 otherwise, 2 when
// the bench itself could not run.
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
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
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

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
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

// ---------------------------------------------------------------- profiles

/// One run's shape. Times in whole seconds on the command line.
struct Options {
    std::string profile = "default";
    bool short_form = false;
    bool check = false;
    double rate = 500;                  // calls/s placed (ceiling: unused, see steps)
    int seconds = 20;                   // traffic time (ceiling: per step)
    int agents = 1000;                  // agents on WebSockets, extensions 2000...
    int supervisors = 0;                // supervisors with the wallboard open
    std::chrono::seconds ring_min{1}, ring_max{3};  // ring time of each call
    std::chrono::seconds talk_min{2}, talk_max{8};  // talk time (also the transfer target's)
    unsigned queue_percent = 0;         // share of calls to a queue of queue_size agents (ringall)
    std::size_t queue_size = 5;
    unsigned transfer_percent = 0;      // share of answered direct calls blind-transferred
    std::vector<double> steps;          // ceiling: rates tried in order
    int drain_seconds = 30;             // after the traffic, wait this long at most for pops still due
    long customers = 1'000'000;
    double unknown = 0.1;               // share of callers not in the store
    std::string data = "var/bench";
    std::string binary = RINGSIDE_BINARY_DIR "/src/app/ringside";
};

/// Sets `o` to a named profile, full or short form. Throws on an unknown name.
void apply_profile(Options& o, const std::string& name, bool short_form) {
    o.profile = name;
    o.short_form = short_form;
    // A mid-size customer file: seeding it once takes well under a minute on
    // a loaded machine; the pop lookup's cost hardly grows with it (customer_bench).
    o.customers = 200'000;
    // What every call-center profile shares: rings of 3-20 s, talks of 30 s
    // to 10 min, a third of the calls to a queue of 5, 5 % transfers.
    auto center = [&] {
        o.ring_min = 3s, o.ring_max = 20s;
        o.talk_min = 30s, o.talk_max = 600s;
        o.queue_percent = 33, o.queue_size = 5;
        o.transfer_percent = 5;
    };
    if (name == "small") {
        center();
        o.agents = 50, o.supervisors = 1, o.rate = 1;
        o.seconds = short_form ? 60 : 300;
    } else if (name == "large") {
        center();
        o.agents = 1000, o.supervisors = 10, o.rate = 20;
        // Full: 10 min reaches the steady state (20 calls/s x ~4.4 min mean
        // call ~ 4,400 live). Short: 2 min with talks of 2-5 min, so no
        // answered call ends within the run and the live count climbs by
        // ~16/s to ~2,000 answered plus those still ringing.
        o.seconds = short_form ? 120 : 600;
        if (short_form) o.talk_min = 120s, o.talk_max = 300s;
    } else if (name == "burst") {
        center();
        o.agents = 1000, o.supervisors = 10, o.rate = 500;
        o.seconds = short_form ? 5 : 20;
    } else if (name == "ceiling") {
        // Short calls so each step's load is its own rate, not what earlier
        // steps left live; queues and transfers as in the other profiles.
        o.agents = 1000, o.supervisors = 10;
        o.ring_min = 1s, o.ring_max = 3s;
        o.talk_min = 2s, o.talk_max = 8s;
        o.queue_percent = 33, o.queue_size = 5;
        o.transfer_percent = 5;
        o.steps = {25, 50, 100, 200, 400, 700, 1000, 1500, 2000, 3000};
        o.seconds = short_form ? 5 : 20;
        o.drain_seconds = 15;
    } else {
        throw std::runtime_error("unknown profile " + name + " (small, large, burst, ceiling)");
    }
}

Options parse(int argc, char** argv) {
    Options o;
    std::vector<std::string> args(argv + 1, argv + argc);
    // The profile first, then the flags over it, wherever they were written.
    bool short_form = std::find(args.begin(), args.end(), "--short") != args.end();
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == "--profile") apply_profile(o, args[i + 1], short_form);
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& k = args[i];
        if (k == "--short") continue;
        if (k == "--check") {
            o.check = true;
            continue;
        }
        if (i + 1 >= args.size()) throw std::runtime_error(k + " needs a value");
        const std::string& v = args[++i];
        if (k == "--profile") continue;
        else if (k == "--rate") o.rate = std::stod(v), o.steps.clear();
        else if (k == "--seconds") o.seconds = std::stoi(v);
        else if (k == "--agents") o.agents = std::stoi(v);
        else if (k == "--supervisors") o.supervisors = std::stoi(v);
        else if (k == "--ring-min") o.ring_min = seconds(std::stoi(v));
        else if (k == "--ring-max") o.ring_max = seconds(std::stoi(v));
        else if (k == "--talk-min") o.talk_min = seconds(std::stoi(v));
        else if (k == "--talk-max") o.talk_max = seconds(std::stoi(v));
        else if (k == "--queue-percent") o.queue_percent = static_cast<unsigned>(std::stoul(v));
        else if (k == "--transfer-percent") o.transfer_percent = static_cast<unsigned>(std::stoul(v));
        else if (k == "--drain") o.drain_seconds = std::stoi(v);
        else if (k == "--customers") o.customers = std::stol(v);
        else if (k == "--unknown") o.unknown = std::stod(v);
        else if (k == "--data") o.data = v;
        else if (k == "--binary") o.binary = v;
        else throw std::runtime_error("unknown option " + k);
    }
    if (o.agents < 1) throw std::runtime_error("--agents must be at least 1");
    if (o.queue_size > static_cast<std::size_t>(o.agents)) o.queue_size = static_cast<std::size_t>(o.agents);
    return o;
}

// ---------------------------------------------------------------- the store

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

// ---------------------------------------------------------------- what the browsers see

/// One ring of one agent's phone the bench waits a pop for.
struct Expected {
    Clock::time_point rang;                      // the PBX wrote the DialBegin (as scheduled)
    std::optional<Clock::time_point> answered;   // the call was answered at the PBX after that ring
    int step = 0;                                // ceiling step (0 otherwise)
};

/// A pop as an agent's socket had it; matched against Expected at the end,
/// so no lookup (and no race with registering the ring) sits in the read path.
struct Arrival {
    std::string key;  // call id + "|" + agent index
    Clock::time_point at;
};

struct Tally {
    std::mutex m;
    std::vector<Arrival> pops;       // call.ringing arrivals
    std::uint64_t messages = 0;      // every message agents received
    std::uint64_t out_of_order = 0;  // see Agent::check_order
    std::uint64_t board_messages = 0, board_bytes = 0, board_out_of_order = 0;
    std::uint64_t sockets_closed = 0;  // closed by the server during the run
};

/// An agent's or supervisor's browser: reads every message at once
/// (a browser that keeps up) and checks what it can without a lookup.
class Browser : public std::enable_shared_from_this<Browser> {
public:
    Browser(asio::io_context& ioc, int index, bool supervisor, Tally& tally)
        : ws_(ioc), index_(index), supervisor_(supervisor), tally_(tally) {}

    void start(const tcp::endpoint& ep, const std::string& token, std::function<void(bool)> ready) {
        ready_ = std::move(ready);
        token_ = token;
        // A board.calls of 10,000 live calls is several MB.
        ws_.read_message_max(256 * 1024 * 1024);
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
        closing_ = true;
        beast::error_code ec;
        beast::get_lowest_layer(ws_).socket().close(ec);
    }

private:
    void read() {
        ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                if (!self->closing_) {
                    std::lock_guard lock(self->tally_.m);
                    ++self->tally_.sockets_closed;
                }
                return;
            }
            auto now = Clock::now();
            std::string_view text(static_cast<const char*>(self->buf_.data().data()), self->buf_.size());
            if (self->supervisor_) self->on_board(text);
            else self->on_message(text, now);
            self->buf_.consume(self->buf_.size());
            self->read();
        });
    }

    /// Wallboard messages can be megabytes: only their seq is read. nlohmann
    /// writes keys sorted, so the top-level "seq" is the last one (after
    /// "calls"/"agents"/"figures", before "type") and nothing nested has one.
    void on_board(std::string_view text) {
        std::uint64_t seq = 0;
        auto p = text.rfind("\"seq\":");
        if (p != std::string_view::npos) seq = std::strtoull(text.data() + p + 6, nullptr, 10);
        std::lock_guard lock(tally_.m);
        ++tally_.board_messages;
        tally_.board_bytes += text.size();
        if (p != std::string_view::npos) {
            if (seq <= last_seq_ && last_seq_ != 0) ++tally_.board_out_of_order;
            last_seq_ = seq;
        }
    }

    void on_message(std::string_view text, Clock::time_point now) {
        auto j = nlohmann::json::parse(text, nullptr, false);
        std::string type, call;
        std::uint64_t seq = 0;
        if (!j.is_discarded() && j.is_object()) {
            type = j.value("type", "");
            if (auto s = j.find("seq"); s != j.end() && s->is_number_unsigned()) seq = s->get<std::uint64_t>();
            if (auto c = j.find("call"); c != j.end() && c->is_object())
                if (auto id = c->find("id"); id != c->end() && id->is_string()) call = id->get<std::string>();
        }
        const bool bad = check_order(type, call, seq);
        std::lock_guard lock(tally_.m);
        ++tally_.messages;
        if (bad) ++tally_.out_of_order;
        if (type == "call.ringing" && !call.empty())
            tally_.pops.push_back({call + "|" + std::to_string(index_), now});
    }

    /// Out of order: seq not above the last one, or a call's messages in the
    /// wrong order for this agent: answered/retracted/ended before its
    /// ringing, or a ringing after them (no profile rings one agent twice
    /// for one call). Agent-local: runs on the client thread only.
    bool check_order(const std::string& type, const std::string& call, std::uint64_t seq) {
        bool bad = false;
        if (seq != 0) {
            if (seq <= last_seq_) bad = true;
            last_seq_ = std::max(last_seq_, seq);
        }
        if (call.empty() || type.rfind("call.", 0) != 0) return bad;
        auto& st = calls_[call];
        if (type == "call.ringing") {
            if (st.over) bad = true;
            st.rang = true;
        } else if (type == "call.answered" || type == "call.retracted" || type == "call.ended") {
            if (!st.rang) bad = true;
            st.over = true;
        }
        return bad;
    }

    struct CallSeen {
        bool rang = false, over = false;
    };

    ws::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buf_;
    int index_;
    bool supervisor_;
    bool closing_ = false;
    Tally& tally_;
    std::string token_, out_;
    std::function<void(bool)> ready_;
    std::uint64_t last_seq_ = 0;
    std::unordered_map<std::string, CallSeen> calls_;
};

// ---------------------------------------------------------------- processes

struct ProcInfo {
    long rss_kb = 0, hwm_kb = 0;
    /// VmRSS split: anonymous memory (heap, stacks, SQLite's page cache) and
    /// file pages mapped in (the binary, libraries, SQLite's mmap of the
    /// database), which the kernel can drop and read again.
    long anon_kb = 0, file_kb = 0;
    double cpu_s = 0;  // utime + stime
};

ProcInfo proc_info(pid_t pid) {
    ProcInfo p;
    std::ifstream st("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(st, line)) {
        if (line.rfind("VmRSS:", 0) == 0) p.rss_kb = std::stol(line.substr(6));
        if (line.rfind("VmHWM:", 0) == 0) p.hwm_kb = std::stol(line.substr(6));
        if (line.rfind("RssAnon:", 0) == 0) p.anon_kb = std::stol(line.substr(8));
        if (line.rfind("RssFile:", 0) == 0) p.file_kb = std::stol(line.substr(8));
    }
    std::ifstream sf("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(sf)), {});
    auto rp = s.rfind(')');
    if (rp == std::string::npos) return p;
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

double self_cpu_s() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto tv = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return tv(ru.ru_utime) + tv(ru.ru_stime);
}

double thread_cpu_s(std::thread& t) {
    clockid_t id;
    timespec ts{};
    if (pthread_getcpuclockid(t.native_handle(), &id) != 0 || clock_gettime(id, &ts) != 0) return 0;
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string load_average() {
    std::ifstream f("/proc/loadavg");
    std::string a, b, c;
    f >> a >> b >> c;
    return a + "/" + b + "/" + c;
}

/// VmRSS of the server every 250 ms while armed: the peak between arm() and
/// peak(), of the whole and of its anonymous and file-backed parts (each its
/// own peak).
class RssSampler {
public:
    explicit RssSampler(pid_t pid) : pid_(pid), thread_([this] { run(); }) {}
    ~RssSampler() {
        stop_ = true;
        thread_.join();
    }
    void arm() {
        const auto p = proc_info(pid_);
        peak_kb_ = p.rss_kb;
        anon_kb_ = p.anon_kb;
        file_kb_ = p.file_kb;
    }
    long peak_kb() const { return sample().rss; }
    long anon_peak_kb() const { return sample().anon; }
    long file_peak_kb() const { return sample().file; }

private:
    struct Peaks {
        long rss, anon, file;
    };
    Peaks sample() const {
        const auto p = proc_info(pid_);
        return {std::max(peak_kb_.load(), p.rss_kb), std::max(anon_kb_.load(), p.anon_kb),
                std::max(file_kb_.load(), p.file_kb)};
    }
    static void raise(std::atomic<long>& peak, long v) {
        auto p = peak.load();
        while (v > p && !peak.compare_exchange_weak(p, v)) {}
    }
    void run() {
        while (!stop_) {
            const auto p = proc_info(pid_);
            raise(peak_kb_, p.rss_kb);
            raise(anon_kb_, p.anon_kb);
            raise(file_kb_, p.file_kb);
            std::this_thread::sleep_for(250ms);
        }
    }
    pid_t pid_;
    std::atomic<bool> stop_{false};
    std::atomic<long> peak_kb_{0}, anon_kb_{0}, file_kb_{0};
    std::thread thread_;
};

double pct(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return v[k];
}

// ---------------------------------------------------------------- the traffic

/// Where in a call's script each agent's phone starts ringing and when the
/// call is next answered after that; and when the script ends.
struct ScriptTimes {
    struct Ring {
        int agent;
        milliseconds rang;
        std::optional<milliseconds> answered;
    };
    std::vector<Ring> rings;
    milliseconds end{0};
};

/// Reads a script the way the PBX will play it: a DialBegin to SIP/<ext>-...
/// rings that agent; the first DialEnd ANSWER after it answers the call.
ScriptTimes script_times(const ringside::sim::CallScript& script) {
    ScriptTimes t;
    for (const auto& te : script.events) {
        const auto ev = te.message.event();
        if (ev == "DialBegin") {
            const auto dest = te.message.get("DestChannel");
            if (dest.rfind("SIP/", 0) != 0) continue;
            auto dash = dest.find('-');
            int ext = std::atoi(std::string(dest.substr(4, dash - 4)).c_str());
            if (ext >= 2000) t.rings.push_back({ext - 2000, te.offset, std::nullopt});
        } else if (ev == "DialEnd" && te.message.get("DialStatus") == "ANSWER") {
            for (auto& r : t.rings)
                if (!r.answered) r.answered = te.offset;
        }
        t.end = te.offset;
    }
    return t;
}

/// Everything one stretch of traffic (a run or a ceiling step) measured.
struct Figures {
    std::string name;
    double rate = 0, traffic_s = 0;
    std::uint64_t calls = 0, expected = 0, received = 0, lost = 0, duplicated = 0, late = 0, unexpected = 0;
    std::uint64_t out_of_order = 0, board_messages = 0, board_bytes = 0, board_out_of_order = 0;
    std::uint64_t live_peak = 0, sockets_closed = 0, pbx_dropped = 0;
    double p50 = 0, p99 = 0, p999 = 0, max = 0;
    double server_cpu_s = 0, wall_s = 0, bench_cpu_s = 0;
    long rss_start_kb = 0, rss_peak_kb = 0, rss_end_kb = 0;
    long rss_anon_peak_kb = 0, rss_file_peak_kb = 0, rss_anon_end_kb = 0;
    std::string load;

    bool counts_ok() const { return lost == 0 && duplicated == 0 && out_of_order == 0 && board_out_of_order == 0; }
};

class Run {
public:
    Run(const Options& o, ringside::sim::SimulatedAsterisk& pbx, Tally& tally, pid_t server)
        : o_(o), pbx_(pbx), tally_(tally), server_(server), rng_(42) {
        ringside::sim::TrafficMix mix;
        // Busy phones are left out: app_queue and the dialplan hide them from
        // a call center's callers, and a busy DialEnd ends the ring at once.
        mix.answered = 80, mix.caller_cancels = 15, mix.busy = 0, mix.no_answer = 5;
        mix.ring_min = o.ring_min, mix.ring_max = o.ring_max;
        mix.talk_min = o.talk_min, mix.talk_max = o.talk_max;
        mix.queue_percent = o.queue_percent;
        mix.transfer_percent = o.transfer_percent;
        // Queues of queue_size consecutive agents: q0 = agents 0-4, q1 = 5-9...
        for (int first = 0; first + static_cast<int>(o.queue_size) <= o.agents; first += static_cast<int>(o.queue_size)) {
            ringside::sim::TrafficMix::Queue q;
            q.name = "q" + std::to_string(first / static_cast<int>(o.queue_size));
            for (std::size_t k = 0; k < o.queue_size; ++k) q.members.push_back(std::to_string(2000 + first + static_cast<int>(k)));
            mix.queues.push_back(std::move(q));
        }
        for (int a = 0; a < o.agents; ++a) extensions_.push_back(std::to_string(2000 + a));
        gen_.emplace(mix, 7);
    }

    /// Places calls at `rate` for `secs`, then waits (without traffic) until
    /// every pop of this stretch arrived or `drain` passed with none
    /// outstanding still coming. Returns its figures.
    Figures stretch(const std::string& name, double rate, int secs, int step, RssSampler& rss) {
        Figures f;
        f.name = name;
        f.rate = rate;
        f.load = load_average();
        std::size_t pops_before;
        std::uint64_t ooo_before, board_before, board_bytes_before, board_ooo_before, closed_before;
        {
            std::lock_guard lock(tally_.m);
            pops_before = tally_.pops.size();
            ooo_before = tally_.out_of_order;
            board_before = tally_.board_messages;
            board_bytes_before = tally_.board_bytes;
            board_ooo_before = tally_.board_out_of_order;
            closed_before = tally_.sockets_closed;
        }
        const auto dropped_before = pbx_.counters().clients_dropped_slow;
        const auto p0 = proc_info(server_);
        const double bench0 = self_cpu_s();
        rss.arm();
        f.rss_start_kb = p0.rss_kb;

        std::uniform_real_distribution<double> u01(0, 1);
        std::uniform_int_distribution<long> pick_customer(0, std::max<long>(0, o_.customers - 1));
        std::uniform_int_distribution<int> pick_number(0, 8'999'999);
        const auto start = Clock::now();
        const auto interval = std::chrono::duration<double>(1.0 / rate);
        const auto until = start + seconds(secs);
        std::uint64_t placed = 0;
        Clock::time_point last_ring = start;
        for (;;) {
            auto due = start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(placed));
            if (due >= until) break;
            if (due > Clock::now()) std::this_thread::sleep_until(due);
            auto plan = *gen_->next(extensions_);
            plan.caller_number = u01(rng_) < o_.unknown ? "0935" + std::to_string(1'000'000 + pick_number(rng_))
                                                        : customer_national(pick_customer(rng_));
            // Ids and start are the PBX's to give; the offsets do not depend on them.
            auto times = script_times(ringside::sim::script_call(plan));
            auto t = Clock::now();
            auto linkedid = pbx_.place_call(plan);
            const std::string call = "bench-" + linkedid + "|";
            for (const auto& r : times.rings) {
                // Rings due after the traffic (a transfer target's, after a
                // talk of minutes) are outside this stretch: not waited for,
                // not counted, their pops ignored.
                const bool measured = t + r.rang < until;
                Expected e{t + r.rang, std::nullopt, measured ? step : -1};
                if (r.answered) e.answered = t + *r.answered;
                auto [it, fresh] = expected_.try_emplace(call + std::to_string(r.agent), e);
                if (!fresh) ++twice_;  // never in these plans; counted so it shows if it ever happens
                if (!measured) continue;
                last_ring = std::max(last_ring, e.rang);
                ++f.expected;
            }
            lives_.emplace_back(t, t + times.end);
            ++placed;
        }
        f.calls = placed;
        f.traffic_s = std::chrono::duration<double>(Clock::now() - start).count();

        // Drain: the last rings fall due up to ring offsets later; then give
        // the server until `drain` after the last ring to deliver them.
        // --check counts, never times: there the wait goes on while the
        // server still works (its backlog may hold pops for minutes) and
        // ends once it has been idle for 2 s (under 10 % of a core), with
        // a cap of 15 min.
        auto deadline = last_ring + seconds(o_.drain_seconds);
        const auto cap = last_ring + std::chrono::minutes(15);
        std::size_t seen = 0;
        auto cpu_at = proc_info(server_).cpu_s;
        auto cpu_when = Clock::now();
        while (Clock::now() < deadline) {
            std::this_thread::sleep_for(250ms);
            {
                std::lock_guard lock(tally_.m);
                seen = tally_.pops.size() - pops_before;
            }
            if (Clock::now() > last_ring + 1s && seen >= f.expected) break;
            if (o_.check && Clock::now() - cpu_when >= 2s) {
                const auto cpu = proc_info(server_).cpu_s;
                const double busy = (cpu - cpu_at) / std::chrono::duration<double>(Clock::now() - cpu_when).count();
                if (busy > 0.10) deadline = std::min(cap, std::max(deadline, Clock::now() + 2s));
                cpu_at = cpu, cpu_when = Clock::now();
            }
        }
        std::this_thread::sleep_for(500ms);  // a duplicate right behind the last pop still counts
        const auto p1 = proc_info(server_);
        f.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
        f.server_cpu_s = p1.cpu_s - p0.cpu_s;
        f.bench_cpu_s = self_cpu_s() - bench0;
        f.rss_end_kb = p1.rss_kb;
        f.rss_peak_kb = rss.peak_kb();
        f.rss_anon_peak_kb = rss.anon_peak_kb();
        f.rss_file_peak_kb = rss.file_peak_kb();
        f.rss_anon_end_kb = p1.anon_kb;
        f.pbx_dropped = pbx_.counters().clients_dropped_slow - dropped_before;

        // Match the arrivals of this stretch with its rings.
        std::vector<Arrival> arrivals;
        {
            std::lock_guard lock(tally_.m);
            arrivals.assign(tally_.pops.begin() + static_cast<long>(pops_before), tally_.pops.end());
            f.out_of_order = tally_.out_of_order - ooo_before;
            f.board_messages = tally_.board_messages - board_before;
            f.board_bytes = tally_.board_bytes - board_bytes_before;
            f.board_out_of_order = tally_.board_out_of_order - board_ooo_before;
            f.sockets_closed = tally_.sockets_closed - closed_before;
        }
        std::unordered_map<std::string, int> got;
        std::vector<double> lat;
        for (const auto& a : arrivals) {
            auto it = expected_.find(a.key);
            if (it == expected_.end()) {
                ++f.unexpected;
                continue;
            }
            if (it->second.step < 0) continue;
            if (got[a.key]++ > 0) {
                ++f.duplicated;
                continue;
            }
            if (it->second.step != step) continue;  // a late pop of an earlier step: counted there as lost
            lat.push_back(std::chrono::duration<double, std::milli>(a.at - it->second.rang).count());
            if (it->second.answered && a.at > *it->second.answered) ++f.late;
        }
        for (const auto& [key, e] : expected_)
            if (e.step == step && !got.contains(key)) ++f.lost;
        f.received = f.expected - f.lost;
        f.p50 = pct(lat, 50), f.p99 = pct(lat, 99), f.p999 = pct(lat, 99.9);
        f.max = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
        f.live_peak = live_peak(start, Clock::now());
        return f;
    }

    std::uint64_t rung_twice() const { return twice_; }

private:
    /// Most calls live at once at the PBX between `from` and `to` (each from
    /// its first event to its last).
    std::uint64_t live_peak(Clock::time_point from, Clock::time_point to) const {
        std::vector<std::pair<Clock::time_point, int>> edges;
        edges.reserve(lives_.size() * 2);
        for (const auto& [b, e] : lives_) {
            if (e < from || b > to) continue;
            edges.emplace_back(b, +1);
            edges.emplace_back(e, -1);
        }
        std::sort(edges.begin(), edges.end());
        std::int64_t now = 0, peak = 0;
        for (const auto& [t, d] : edges) {
            now += d;
            if (t >= from) peak = std::max(peak, now);
        }
        return static_cast<std::uint64_t>(peak);
    }

    const Options& o_;
    ringside::sim::SimulatedAsterisk& pbx_;
    Tally& tally_;
    pid_t server_;
    std::mt19937_64 rng_;
    std::optional<ringside::sim::TrafficGenerator> gen_;
    std::vector<std::string> extensions_;
    std::unordered_map<std::string, Expected> expected_;
    std::vector<std::pair<Clock::time_point, Clock::time_point>> lives_;
    std::uint64_t twice_ = 0;
};

void print(const Figures& f, const Options& o) {
    auto mib = [](long kb) { return static_cast<double>(kb) / 1024; };
    std::printf("\n%s: %d agents, %d supervisors, %.0f calls/s for %.1f s (%llu calls, peak %llu live at the PBX)\n",
                f.name.c_str(), o.agents, o.supervisors, f.rate, f.traffic_s, static_cast<unsigned long long>(f.calls),
                static_cast<unsigned long long>(f.live_peak));
    std::printf("  event-to-pop ms       p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", f.p50, f.p99, f.p999, f.max);
    std::printf("  pops                  expected %llu, lost %llu, duplicated %llu, late %llu, unexpected %llu\n",
                static_cast<unsigned long long>(f.expected), static_cast<unsigned long long>(f.lost),
                static_cast<unsigned long long>(f.duplicated), static_cast<unsigned long long>(f.late),
                static_cast<unsigned long long>(f.unexpected));
    std::printf("  out of order          agents %llu, wallboards %llu\n", static_cast<unsigned long long>(f.out_of_order),
                static_cast<unsigned long long>(f.board_out_of_order));
    if (o.supervisors > 0)
        std::printf("  wallboards received  %llu messages, %.1f MiB\n", static_cast<unsigned long long>(f.board_messages),
                    static_cast<double>(f.board_bytes) / (1024.0 * 1024.0));
    std::printf("  server CPU            %.2f ms per call (%.1f s over %.1f s, %.0f%% of one core)\n",
                f.calls ? 1000 * f.server_cpu_s / static_cast<double>(f.calls) : 0, f.server_cpu_s, f.wall_s,
                100 * f.server_cpu_s / f.wall_s);
    std::printf("  server RSS MiB        start %.1f, peak %.1f, end %.1f\n", mib(f.rss_start_kb), mib(f.rss_peak_kb),
                mib(f.rss_end_kb));
    std::printf("    of which            anonymous peak %.1f, end %.1f; file-backed peak %.1f\n",
                mib(f.rss_anon_peak_kb), mib(f.rss_anon_end_kb), mib(f.rss_file_peak_kb));
    std::printf("  load tool CPU         %.1f s (%.0f%% of one core)\n", f.bench_cpu_s, 100 * f.bench_cpu_s / f.wall_s);
    std::printf("  sockets closed by the server %llu, AMI links dropped by the PBX as slow %llu, load average %s\n",
                static_cast<unsigned long long>(f.sockets_closed), static_cast<unsigned long long>(f.pbx_dropped),
                f.load.c_str());
}

/// One line for scripts/bench (keys documented in bench/README.md).
void print_result(const Figures& f) {
    std::printf("RESULT profile=%s rate=%.0f calls=%llu live_peak=%llu p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f "
                "lost=%llu dup=%llu late=%llu ooo=%llu cpu_ms_per_call=%.2f rss_start_mib=%.0f rss_peak_mib=%.0f "
                "rss_end_mib=%.0f rss_anon_peak_mib=%.0f rss_file_peak_mib=%.0f bench_cpu_pct=%.0f load=%s\n",
                f.name.c_str(), f.rate, static_cast<unsigned long long>(f.calls),
                static_cast<unsigned long long>(f.live_peak), f.p50, f.p99, f.p999, f.max,
                static_cast<unsigned long long>(f.lost), static_cast<unsigned long long>(f.duplicated),
                static_cast<unsigned long long>(f.late),
                static_cast<unsigned long long>(f.out_of_order + f.board_out_of_order),
                f.calls ? 1000 * f.server_cpu_s / static_cast<double>(f.calls) : 0,
                static_cast<double>(f.rss_start_kb) / 1024, static_cast<double>(f.rss_peak_kb) / 1024,
                static_cast<double>(f.rss_end_kb) / 1024, static_cast<double>(f.rss_anon_peak_kb) / 1024,
                static_cast<double>(f.rss_file_peak_kb) / 1024, 100 * f.bench_cpu_s / f.wall_s, f.load.c_str());
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) try {
    auto o = parse(argc, argv);
    const std::string run_name = o.profile + (o.short_form ? "-short" : "");
    std::filesystem::create_directories(o.data);
    auto db = std::filesystem::absolute(o.data) / "bench.db";
    const int browsers = o.agents + o.supervisors;
    std::vector<std::string> tokens(static_cast<std::size_t>(browsers));
    {
        ringside::SqliteStore store(db);
        build_store(store, o);
        auto hash = ringside::hash_password("bench-password");
        for (int a = 0; a < browsers; ++a) {
            ringside::User u;
            const bool sup = a >= o.agents;
            u.username = ringside::AgentId{sup ? "supervisor" + std::to_string(a - o.agents) : "agent" + std::to_string(a)};
            u.name = u.username.value();
            u.role = sup ? ringside::Role::supervisor : ringside::Role::agent;
            if (!sup) u.extension = ringside::Extension{std::to_string(2000 + a)};
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
    // Every agent's and supervisor's browser comes from 127.0.0.1, as a whole
    // office behind one NAT address would: the per-address cap must not
    // stand between the bench and the engine.
    std::ofstream(cfg) << "[server]\nlisten = \"127.0.0.1:" << port
                       << "\"\nmax_connections = 8192\nmax_connections_per_address = 8192\n[database]\npath = \""
                       << db.string()
                       << "\"\n[phone]\ndefault_region = \"IR\"\n[log]\nlevel = \"warn\"\n[[pbx]]\nid = \"bench\"\n"
                       << "type = \"asterisk-ami\"\nport = " << pbx.port() << "\nusername = \"ringside\"\nsecret = \"bench\"\n";
    pid_t pid = fork();
    if (pid == 0) {
        auto log = std::filesystem::absolute(o.data) / "server.log";
        if (!freopen(log.c_str(), "w", stderr)) _exit(126);
        execl(o.binary.c_str(), o.binary.c_str(), "serve", "--config", cfg.c_str(), nullptr);
        _exit(127);
    }
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

    // The browsers: all on one thread, as a second machine would run them.
    Tally tally;
    asio::io_context client_ioc;
    std::vector<std::shared_ptr<Browser>> clients;
    std::atomic<int> ready{0}, failed{0};
    for (int a = 0; a < browsers; ++a) {
        auto b = std::make_shared<Browser>(client_ioc, a, a >= o.agents, tally);
        b->start(ep, tokens[static_cast<std::size_t>(a)], [&](bool ok) { (ok ? ready : failed)++; });
        clients.push_back(b);
    }
    auto client_work = asio::make_work_guard(client_ioc);
    std::thread client_thread([&] { client_ioc.run(); });
    auto t_conn = Clock::now();
    while (ready + failed < browsers && Clock::now() - t_conn < 60s) std::this_thread::sleep_for(10ms);
    std::cerr << ready << " browsers connected (" << o.agents << " agents, " << o.supervisors << " supervisors), "
              << failed << " failed\n";
    std::this_thread::sleep_for(1s);  // the sessions' resume window

    RssSampler rss(pid);
    Run run(o, pbx, tally, pid);
    std::vector<Figures> results;
    const double pbx0 = thread_cpu_s(pbx_thread), client0 = thread_cpu_s(client_thread);
    const auto t0 = Clock::now();
    if (o.steps.empty()) {
        results.push_back(run.stretch(run_name, o.rate, o.seconds, 0, rss));
        print(results.back(), o);
    } else {
        // Ceiling: each step on the same server, stopping at the first one
        // that loses a pop or whose p99 passes 50 ms.
        double sustained = 0;
        for (std::size_t i = 0; i < o.steps.size(); ++i) {
            auto f = run.stretch(run_name + "@" + std::to_string(static_cast<int>(o.steps[i])), o.steps[i], o.seconds,
                                 static_cast<int>(i), rss);
            print(f, o);
            results.push_back(f);
            const bool held = f.lost == 0 && f.p99 <= 50.0;
            if (!held) break;
            sustained = o.steps[i];
        }
        std::printf("\nceiling: highest rate sustained (no pop lost, p99 <= 50 ms): %.0f calls/s\n", sustained);
        Figures sum = results.back();
        sum.name = run_name;
        sum.rate = sustained;
        results.push_back(sum);
    }
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("\nload tool threads: PBX %.1f s (%.0f%% of one core), browsers %.1f s (%.0f%%); pops rung twice for one "
                "call: %llu\n",
                thread_cpu_s(pbx_thread) - pbx0, 100 * (thread_cpu_s(pbx_thread) - pbx0) / wall,
                thread_cpu_s(client_thread) - client0, 100 * (thread_cpu_s(client_thread) - client0) / wall,
                static_cast<unsigned long long>(run.rung_twice()));
    for (const auto& f : results) print_result(f);

    // A server still working through a backlog may take minutes to stop:
    // its figures are taken, so 10 s after SIGTERM it is killed.
    kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 100 && waitpid(pid, &st, WNOHANG) == 0; ++i) std::this_thread::sleep_for(100ms);
    if (waitpid(pid, &st, WNOHANG) == 0) {
        std::fprintf(stderr, "pop_bench: the server did not stop within 10 s of SIGTERM; killed\n");
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    asio::post(client_ioc, [&] {
        for (auto& c : clients) c->close();
    });
    client_work.reset();
    client_ioc.stop();
    client_thread.join();
    pbx.stop();
    pbx_work.reset();
    pbx_ioc.stop();
    pbx_thread.join();

    bool ok = true;
    for (const auto& f : results) ok = ok && f.counts_ok();
    if (!o.steps.empty()) {
        // A ceiling run ends on a failing step by design: only order and duplicates count there.
        ok = true;
        for (const auto& f : results) ok = ok && f.duplicated == 0 && f.out_of_order == 0 && f.board_out_of_order == 0;
    }
    if (o.check && !ok) std::fprintf(stderr, "pop_bench --check: a pop was lost or duplicated or a message was out of order\n");
    return ok ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << "pop_bench: " << e.what() << "\n";
    return 2;
}
