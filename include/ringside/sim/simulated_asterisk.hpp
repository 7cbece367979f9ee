#pragma once
// A simulated Asterisk that speaks real AMI over TCP: greeting, Login (plain
// and MD5), Ping, Events, CoreShowChannels, Logoff, and the events of the
// calls it places (see call_script.hpp) written to every logged-in client as
// they fall due. Used by `ringside demo`, integration tests and the bench.
//
// Threading: all state lives on one strand of the given io_context, which may
// be run by any number of threads. Public member functions are thread-safe.
// A slow client never stalls the others: each has a bounded write queue and a
// write deadline; crossing either disconnects it (as Asterisk does after
// `writetimeout`) and counts it in clients_dropped_slow.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "ringside/sim/call_script.hpp"
#include "ringside/sim/server_session.hpp"
#include "ringside/sim/traffic.hpp"

namespace ringside::sim {

struct SimConfig {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;                              // 0: any free port, read it with port()
    std::vector<Credentials> users{{"ringside", "change-me"}};
    std::string greeting = "Asterisk Call Manager/5.0.1";  // Asterisk 16
    std::size_t max_queued_bytes = 4 * 1024 * 1024;      // per client, bytes not yet written
    std::chrono::milliseconds write_timeout{1000};       // one write may take this long
    std::chrono::milliseconds auth_failure_delay{1000};  // Asterisk sleeps 1 s before refusing
    bool close_on_auth_failure = true;                   // Asterisk ends the session after a failed Login
    std::size_t max_clients = 256;                       // further connections are closed at once
    std::string replay;                                  // raw bytes sent to each client after login
    std::uint64_t seed = 1;                              // challenges and traffic
    /// Originate: whether the agent's phone answers, how long each side
    /// rings and how long they talk (see OriginatePlan).
    bool originate_answered = true;
    std::chrono::milliseconds originate_ring_time{1500};
    std::chrono::milliseconds originate_far_ring_time{2000};
    std::chrono::milliseconds originate_talk_time{15000};
};

struct RateConfig {
    double calls_per_second = 10.0;
    std::vector<std::string> extensions{"1001", "1002", "1003", "1004"};
    TrafficMix mix{};
    std::uint64_t max_calls = 0;                         // stop after this many; 0: no limit
};

struct DemoConfig {
    std::chrono::milliseconds interval{5000};            // one call per interval
    /// After a phone's call ends it gets no demo call for this long, and
    /// never while it rings or talks: calls go to free agents only, as a
    /// queue with this wrap-up time would send them.
    std::chrono::milliseconds wrap_up{15000};
    TrafficMix mix = default_demo_mix();
    static TrafficMix default_demo_mix();                // answered after 3-8 s mostly, some cancelled, some busy
};

/// Extensions of the agents who are connected now. Called on one of the
/// io_context's threads each time the demo places a call; must be thread-safe.
using ExtensionSource = std::function<std::vector<std::string>()>;

struct SimCounters {
    std::uint64_t clients = 0;               // connections open now
    std::uint64_t calls_placed = 0;
    std::uint64_t events_sent = 0;           // event messages queued to clients (one per client per event)
    std::uint64_t clients_dropped_slow = 0;  // disconnected for not reading
    std::uint64_t live_channels = 0;         // what CoreShowChannels would list now
    std::uint64_t originates = 0;            // Originate actions accepted (each also counts in calls_placed)
    std::uint64_t queue_pauses = 0;          // QueuePause actions accepted (pause and unpause alike)
    std::uint64_t interfaces_paused = 0;     // queue members paused now, after the last QueuePause of each
};

class SimulatedAsterisk {
public:
    SimulatedAsterisk(boost::asio::io_context& ioc, SimConfig config);
    /// Stops (see stop()); pending handlers keep the internals alive until they run.
    ~SimulatedAsterisk();
    SimulatedAsterisk(const SimulatedAsterisk&) = delete;
    SimulatedAsterisk& operator=(const SimulatedAsterisk&) = delete;

    /// Binds and starts accepting. Throws boost::system::system_error when the
    /// address is invalid or the port is in use.
    void start();
    /// Closes the listener and every client, stops all traffic. Idempotent.
    void stop();
    std::uint16_t port() const noexcept;

    /// Schedules one call now. Its ids, channel numbers and start time are
    /// assigned here (the plan's are ignored). Returns the call's Linkedid.
    std::string place_call(CallPlan plan);

    /// Places calls at a steady rate until stop_traffic() or max_calls.
    void start_rate(RateConfig config);
    /// Every interval, one call to one of the extensions `source` returns
    /// (no call when it returns none).
    void start_demo(DemoConfig config, ExtensionSource source);
    void stop_traffic();

    /// Closes every client connection as a network failure would, while the
    /// calls go on (their events still fall due, unseen). Connections made
    /// within `refuse_for` are closed right after they are accepted, so what
    /// happens meanwhile is known to a client only from CoreShowChannels.
    void drop_clients(std::chrono::milliseconds refuse_for = {});

    SimCounters counters() const noexcept;
    /// Whether the last QueuePause for this device ("PJSIP/1001") paused it;
    /// false for one never paused. Thread-safe.
    bool interface_paused(const std::string& interface) const;

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace ringside::sim
