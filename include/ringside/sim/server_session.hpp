#pragma once
// The server side of one AMI connection as Asterisk 13+ (manager.c) answers
// it: Login (plain and MD5 via Challenge), Ping, Events, CoreShowChannels,
// Logoff, QueuePause (any Interface is a member of every queue); unknown actions and actions before login are refused with
// Asterisk's messages; ActionID is echoed whenever the action had one.
// Sans-I/O: actions in, reply bytes and what to do next out.
#include <chrono>
#include <string>
#include <vector>

#include "ringside/ami/message.hpp"
#include "ringside/core/time.hpp"
#include <optional>

#include "ringside/sim/call_script.hpp"
#include "ringside/sim/channel_table.hpp"

namespace ringside::sim {

struct Credentials {
    std::string username;
    std::string secret;
};

/// Lowercase hex MD5 of `data` (the AMI MD5 login key is md5(challenge + secret)).
std::string md5_hex(std::string_view data);

class ServerSession {
public:
    /// `challenge` is what Action: Challenge hands out (Asterisk: a random decimal).
    ServerSession(std::vector<Credentials> users, std::string challenge);

    struct Reply {
        std::string bytes;          // complete messages, CRLF, to send in order
        bool close = false;         // close after sending (Logoff; failed login like Asterisk)
        bool delay = false;         // send only after the failed-login delay (Asterisk sleeps 1 s)
        bool logged_in = false;     // this action authenticated the session
        /// An accepted Originate: the call to run (its ids, clock and the
        /// phone's behaviour are the server's to fill in).
        std::optional<OriginatePlan> originate;
        /// An accepted QueuePause: the member's device and whether it is paused now.
        struct QueuePause {
            std::string interface;
            bool paused = false;
            std::string reason;
        };
        std::optional<QueuePause> queue_pause;
    };

    /// `close_on_auth_failure`: Asterisk's action_login returns -1 on bad
    /// credentials, which ends the session; false keeps it open for retries.
    Reply handle(const ami::Message& action, const ChannelTable& channels, Timestamp now,
                 bool close_on_auth_failure = true);

    bool authenticated() const noexcept { return authenticated_; }
    /// Whether call events go to this session (Events: off / EventMask: off stop them).
    bool events_on() const noexcept { return authenticated_ && events_on_; }
    const std::string& username() const noexcept { return username_; }

private:
    bool check_login(const ami::Message& action) const;
    void set_event_mask(std::string_view mask);

    std::vector<Credentials> users_;
    std::string challenge_;
    bool challenge_sent_ = false;
    bool authenticated_ = false;
    bool events_on_ = true;
    std::string username_;
};

}  // namespace ringside::sim
