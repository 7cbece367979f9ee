// The browser tests' telephone exchange: a simulated Asterisk (real AMI over
// loopback) that places exactly the calls a test asks for, so a test knows
// who rings, when, and how the call ends. Also seeds a database with the demo
// customers and logins before `ringside serve` opens it.
//
//   browser_pbx seed DB      seeds DB (demo customers, issues, history, logins) and exits
//   browser_pbx pbx SECRET   listens on a free loopback port, prints "port N", then reads
//                            one command a line from stdin until EOF:
//     call CALLER EXT[,EXT...] answered|caller_cancels|busy|no_answer RING_MS TALK_MS [ANSWERED_BY]
//   and answers each with "call LINKEDID" (Ringside's call id is "<pbx id>-LINKEDID").
//   CALLER is the raw caller id as the trunk presents it; "%20" stands for a space.
//     originates             answers "originates N": Originate actions accepted so far
//     queue_pauses           answers "queue_pauses N P": QueuePause actions accepted so far, members paused now
//   (each runs as Asterisk would: the agent's phone rings 1.5 s, the far end 2 s, they talk 2 s).
#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "ringside/core/phone.hpp"
#include "ringside/sim/simulated_asterisk.hpp"
#include "ringside/storage/demo_seed.hpp"
#include "ringside/storage/sqlite_store.hpp"

namespace {

using namespace ringside;

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

std::string unescape_spaces(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s.compare(i, 3, "%20") == 0) {
            out += ' ';
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::optional<sim::Outcome> outcome_from(const std::string& s) {
    if (s == "answered") return sim::Outcome::answered;
    if (s == "caller_cancels") return sim::Outcome::caller_cancels;
    if (s == "busy") return sim::Outcome::busy;
    if (s == "no_answer") return sim::Outcome::no_answer;
    return std::nullopt;
}

int run_pbx(const std::string& secret) {
    boost::asio::io_context ioc;
    auto work = boost::asio::make_work_guard(ioc);
    sim::SimConfig sc;
    sc.users = {{"ringside", secret}};
    sc.originate_talk_time = std::chrono::seconds(2);
    sim::SimulatedAsterisk pbx(ioc, sc);
    pbx.start();
    std::thread io([&] { ioc.run(); });
    std::cout << "port " << pbx.port() << std::endl;

    std::string line;
    while (std::getline(std::cin, line)) {
        std::istringstream in(line);
        std::string cmd, caller, exts, outcome;
        long ring_ms = 0, talk_ms = 0;
        std::size_t answered_by = 0;
        in >> cmd;
        if (cmd == "originates") {
            std::cout << "originates " << pbx.counters().originates << std::endl;
            continue;
        }
        if (cmd == "queue_pauses") {
            const auto c = pbx.counters();
            std::cout << "queue_pauses " << c.queue_pauses << " " << c.interfaces_paused << std::endl;
            continue;
        }
        in >> caller >> exts >> outcome >> ring_ms >> talk_ms;
        if (!(in >> answered_by)) answered_by = 0;
        auto o = outcome_from(outcome);
        if (cmd != "call" || exts.empty() || !o || ring_ms < 0 || talk_ms < 0) {
            std::cout << "error: " << line << std::endl;
            continue;
        }
        sim::CallPlan p;
        p.caller_number = unescape_spaces(caller);
        p.extensions = split(exts, ',');
        p.outcome = *o;
        p.ring_time = std::chrono::milliseconds(ring_ms);
        p.talk_time = std::chrono::milliseconds(talk_ms);
        p.answered_by = answered_by;
        std::cout << "call " << pbx.place_call(p) << std::endl;
    }
    pbx.stop();
    work.reset();
    ioc.stop();
    io.join();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const std::string mode = argc > 1 ? argv[1] : "";
        if (mode == "seed" && argc == 3) {
            SqliteStore store(argv[2]);
            PhoneNormalizer phones("IR");
            seed_demo(store, phones);
            std::cout << "seeded" << std::endl;
            return 0;
        }
        if (mode == "pbx" && argc == 3) return run_pbx(argv[2]);
        std::cerr << "usage: browser_pbx seed DB | browser_pbx pbx SECRET\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "browser_pbx: " << e.what() << "\n";
        return 1;
    }
}
