#pragma once
// Mode (b): a user agent server for the PBX's forked INVITEs ("parallel
// ring"). Sans-I/O: messages in (with an opaque origin the shell maps back to
// a UDP peer or a TCP connection), responses and neutral events out.
//
//  INVITE  -> 100 Trying, 180 Ringing (with a To tag and a Contact); the
//             Request-URI (else To) user is the extension that rings. Never
//             a 2xx: Ringside is not a phone.
//  CANCEL  -> 200 to the CANCEL, 487 to the INVITE, then the ACK is
//             absorbed. "Reason: SIP;cause=200" (call completed elsewhere,
//             RFC 3326) means the fork lost to another branch: for the
//             parallel-ring set-up this mode is for (Ringside forked beside
//             the agent's own phone) that is the agent answering, so the
//             extension answers and its part ends; any other CANCEL is the
//             caller hanging up (missed call).
//  BYE     -> 200; on an early dialog (RFC 3261 15.1.2) also 487 to the
//             INVITE; the caller hung up. Unknown dialog: 481.
//  ACK     -> ends the INVITE transaction; never answered.
//  OPTIONS -> 200 (PBX keep-alive qualify). Other methods: 405 with Allow.
//  A retransmitted INVITE or CANCEL gets the last response again.
//  A message the parser rejected gets 400 naming the reason (if it could be
//  read far enough to answer), except ACK, which is never answered.
//  A fork still ringing after max_ring gets 480 and ends (no answer).
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ringside/core/pbx_event.hpp"
#include "ringside/sip/call_events.hpp"
#include "ringside/sip/parser.hpp"

namespace ringside::sip {

using Origin = std::uint64_t;  // the shell's handle for where a message came from

struct Reply {
    Origin origin = 0;
    std::string bytes;
};

struct UasOutput {
    std::vector<Reply> replies;
    std::vector<pbx::Event> events;
};

struct UasConfig {
    std::chrono::seconds max_ring{300};      // a fork ringing longer gets 480
    std::chrono::seconds linger{32};          // how long a finished INVITE transaction waits for ACK (Timer H)
    std::uint64_t seed = 0;                   // tag randomness; 0 = from std::random_device
    std::string user_agent = "Ringside";
};

class Uas {
public:
    Uas(PbxId pbx, UasConfig config);

    /// One parsed (or rejected) message from `origin`. local is this side's
    /// "host:port" as the peer reached it and transport "UDP" or "TCP", for
    /// the Contact of the 180.
    UasOutput on_item(const Item& item, Origin origin, std::string_view local, std::string_view transport,
                      std::chrono::steady_clock::time_point now, Timestamp wall);
    /// Timers: max_ring and linger. Call at least once a second.
    UasOutput tick(std::chrono::steady_clock::time_point now, Timestamp wall);
    /// When tick() next has something to do (nullopt: nothing pending).
    std::optional<std::chrono::steady_clock::time_point> next_deadline() const;
    /// A TCP connection went away: transactions that came on it can no
    /// longer be answered; their calls end.
    UasOutput origin_closed(Origin origin, Timestamp wall);

    std::size_t transactions() const noexcept { return invites_.size(); }
    const CallEvents& calls() const noexcept { return calls_; }

private:
    struct Invite {
        Message request;
        Origin origin = 0;
        std::string key;          // call key
        std::string ext;
        std::string to_tag;
        std::string last_response;
        bool ringing = true;      // no final response yet
        bool reliable = false;    // came over TCP: no retransmission of the final response
        std::chrono::milliseconds retransmit_every{500};  // Timer G (RFC 3261 17.2.1), UDP only
        std::chrono::steady_clock::time_point next_retransmit{};
        std::chrono::steady_clock::time_point since;   // INVITE arrival, then final response time
    };
    std::string tid(const Message& m) const;  // transaction id: top Via branch + sent-by + Call-ID
    std::string new_tag();
    std::string response(const Message& req, int code, std::string_view reason, const std::string& to_tag,
                         std::string_view extra = {}) const;
    void on_invite(const Message& m, Origin origin, std::string_view local, std::string_view transport,
                   std::chrono::steady_clock::time_point now, Timestamp wall, UasOutput& out);
    void on_cancel(const Message& m, Origin origin, std::chrono::steady_clock::time_point now, Timestamp wall,
                   UasOutput& out);
    void on_bye(const Message& m, Origin origin, std::chrono::steady_clock::time_point now, Timestamp wall,
                UasOutput& out);
    void finish(Invite& inv, int code, std::string_view reason, std::chrono::steady_clock::time_point now,
                UasOutput& out);

    PbxId pbx_;
    UasConfig config_;
    CallEvents calls_;
    std::mt19937_64 rng_;
    std::map<std::string, Invite> invites_;  // by transaction id
};

}  // namespace ringside::sip
