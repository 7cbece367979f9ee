#pragma once
// Mode (a): watching agents' phones through the dialog event package.
// Sans-I/O: the shell sends requests to the configured server, hands back
// every message that arrives, and calls tick() at next_deadline().
//
//  - One subscription per watched extension: SUBSCRIBE sip:<ext>@<domain>
//    with Event: dialog, Accept: application/dialog-info+xml, Expires
//    (RFC 6665, RFC 4235). Refreshed within the dialog before it expires
//    (at 3/4 of the granted Expires), retransmitted over UDP when no answer
//    comes (RFC 3261 Timer E: 0.5 s doubling to 4 s, 32 s in all), and
//    started afresh after a failure, a 481, or Subscription-State:
//    terminated, with a back-off.
//  - 423 Interval Too Brief: resubscribe with the server's Min-Expires.
//    401/407: reported once as a warning (digest authentication is not
//    supported: the server must accept the subscriptions from Ringside's
//    address); retried every retry_after.
//  - NOTIFY: 200 OK (481 for an unknown subscription), then the body:
//    dialogs with direction recipient (or none) become
//      trying/proceeding/early -> ringing,
//      confirmed               -> answered,
//      terminated              -> ended (event rejected -> 21, code 486 -> 17,
//                                 timeout -> 19, else 16),
//    with the caller from <remote><identity> (display name too). A full
//    document also ends the dialogs it no longer lists. Older versions than
//    the last seen are ignored (RFC 4235 4.1.2). initiator dialogs (the
//    agent placing a call) pop nothing.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ringside/core/pbx_event.hpp"
#include "ringside/sip/call_events.hpp"
#include "ringside/sip/parser.hpp"
#include "ringside/sip/uas.hpp"

namespace ringside::sip {

struct WatcherConfig {
    std::vector<std::string> extensions;     // the phones to watch
    std::string server;                       // "host:port" SUBSCRIBEs go to
    std::string domain;                       // Request-URI / To host; "" = server's host
    std::string local;                        // this side's "host:port" (Contact, Via, From)
    std::string transport = "UDP";            // "UDP" | "TCP"
    std::chrono::seconds expires{600};        // Expires asked for
    std::chrono::seconds retry_after{30};     // after a failed or terminated subscription
    std::uint64_t seed = 0;                   // tags, Call-IDs, branches; 0 = std::random_device
    std::string user_agent = "Ringside";
};

struct WatcherOutput {
    std::vector<std::string> requests;   // to the server
    std::vector<Reply> replies;          // responses to where the NOTIFY came from
    std::vector<pbx::Event> events;
    std::vector<std::string> warnings;   // operator-facing, no personal data
};

class Watcher {
public:
    Watcher(PbxId pbx, WatcherConfig config);

    /// Sends the first SUBSCRIBEs.
    WatcherOutput start(std::chrono::steady_clock::time_point now);
    WatcherOutput on_item(const Item& item, Origin origin, std::chrono::steady_clock::time_point now, Timestamp wall);
    WatcherOutput tick(std::chrono::steady_clock::time_point now, Timestamp wall);
    std::optional<std::chrono::steady_clock::time_point> next_deadline() const;
    /// The transport to the server was lost (TCP): every subscription starts again.
    WatcherOutput reset(std::chrono::steady_clock::time_point now, Timestamp wall);

    /// Extensions with a subscription the server accepted and that has not expired.
    std::size_t active_subscriptions() const;
    const CallEvents& calls() const noexcept { return calls_; }

private:
    enum class SubState { idle, pending, active };
    struct Known {
        std::string key;      // call key
        bool answered = false;
    };
    struct Sub {
        std::string ext;
        SubState state = SubState::idle;
        std::string call_id, from_tag, to_tag;
        std::uint32_t cseq = 0;
        std::chrono::seconds ask{600};
        std::string pending_request;   // the SUBSCRIBE waiting for its answer
        std::chrono::steady_clock::time_point sent_at{}, next_retransmit{};
        std::chrono::milliseconds retransmit_every{500};
        std::chrono::steady_clock::time_point next_action{};  // refresh or retry
        std::optional<std::uint64_t> version;
        std::map<std::string, Known> dialogs;   // dialog id -> call
        bool auth_warned = false;
        bool terminated_by_notify = false;
    };
    std::string random_hex(int n);
    void subscribe(Sub& s, std::chrono::steady_clock::time_point now, WatcherOutput& out, bool refresh);
    void restart_later(Sub& s, std::chrono::steady_clock::time_point at, Timestamp wall, WatcherOutput& out);
    void on_response(const Message& m, std::chrono::steady_clock::time_point now, Timestamp wall, WatcherOutput& out);
    void on_notify(const Message& m, Origin origin, std::chrono::steady_clock::time_point now, Timestamp wall,
                   WatcherOutput& out);
    std::string reply(const Message& req, int code, std::string_view reason) const;

    PbxId pbx_;
    WatcherConfig config_;
    CallEvents calls_;
    std::mt19937_64 rng_;
    std::vector<Sub> subs_;
};

}  // namespace ringside::sip
