#pragma once
// The embedded PopSink: numbers each user's messages with a per-user `seq`,
// keeps them for `resume`, and fans each one out to that user's open
// WebSockets. One serialisation per message; every session gets the same
// immutable string.
//
// Thread safety: every member may be called from any thread. send() calls
// must be serialised (the engine strand does that): it is what makes the
// delivery order equal the seq order. Subscribers are called outside the
// hub's lock.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "ringside/core/strong_typedef.hpp"
#include "ringside/core/ports/pop_sink.hpp"
#include "ringside/core/time.hpp"

namespace ringside::server {

/// One open WebSocket as the hub sees it.
class PopSubscriber {
public:
    virtual ~PopSubscriber() = default;
    /// Must not block and must not call back into the hub synchronously:
    /// a session posts the message to its own strand.
    virtual void deliver(std::uint64_t seq, std::shared_ptr<const std::string> message) = 0;
    /// A broadcast: the message's text is `head` (this user's `{"seq":N,`)
    /// followed by `body`, one string shared by every member's sessions.
    /// Same rules as deliver(). Default: deliver() of the two joined.
    virtual void deliver_shared(std::uint64_t seq, std::string head, std::shared_ptr<const std::string> body) {
        deliver(seq, std::make_shared<const std::string>(std::move(head) + *body));
    }
    /// The user's access changed (disabled, new password, new role): close
    /// with this reason. Same rules as deliver(). Default: nothing.
    virtual void end(const char* /*reason*/) {}
};

/// A message the hub keeps for resume.
struct HeldMessage {
    std::uint64_t seq = 0;                          // per user, from 1
    std::shared_ptr<const std::string> text;        // the JSON text with "seq"
};

struct PopHubOptions {
    /// Messages younger than this are kept for resume (unless max_held_per_user is hit first).
    std::chrono::milliseconds retention = std::chrono::minutes(10);
    /// Hard bound per user: the oldest go first beyond it.
    std::size_t max_held_per_user = 1000;
    /// Each user's first seq in this process. The app starts it from the
    /// process's start time (seconds x 10^6) so seqs keep increasing across
    /// restarts, and a browser resuming after a restart gets everything the
    /// new process sent, however many messages that was.
    std::uint64_t first_seq = 1;
    /// Clock for retention; tests inject their own.
    std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
};

struct PopHubStats {
    std::uint64_t messages = 0;     // send() calls (messages numbered)
    std::uint64_t deliveries = 0;   // message x open session handed over
    std::uint64_t dropped = 0;      // messages sessions dropped (queue full)
    std::uint64_t resumes = 0;      // replay() calls
    std::size_t sessions = 0;       // subscribers now
};

class PopHub final : public PopSink {
public:
    explicit PopHub(PopHubOptions options = {});
    ~PopHub() override;

    /// Adds "seq", serialises once, keeps it, hands it to every subscriber of `to`.
    /// Never throws for bad UTF-8 in the message (replaced).
    void send(const AgentId& to, nlohmann::json message) override;
    /// send() to each of `to`, serialised once: each user's text is its own
    /// `{"seq":N,` head before the one body.
    void send_each(const std::vector<AgentId>& to, nlohmann::json message) override;

    /// Sends message to each member of the audience (see join), as send() does
    /// for one user, but does not keep it for resume: broadcasts are state
    /// (the wallboard), and a reconnecting supervisor gets a snapshot.
    /// Serialised once for all members: each gets its own seq as a short head
    /// before the one shared body (PopSubscriber::deliver_shared).
    /// Serialised with send() by the caller (the engine strand).
    void broadcast(Audience to, nlohmann::json message) override;
    /// send() without keeping the message for resume (a board snapshot).
    void send_state(const AgentId& to, nlohmann::json message) override;
    /// A session of `user` joins the audience (a supervisor's WebSocket); the
    /// user is a member while at least one of their sessions is joined.
    void join(Audience a, const AgentId& user);
    void leave(Audience a, const AgentId& user);
    /// Members now (the wallboard skips its work when there are none).
    std::size_t audience_size(Audience a) const;

    /// Registers a subscriber (held weakly; `id` identifies it for unsubscribe).
    /// Returns the user's latest seq at that instant: every later message is
    /// delivered to it, none before.
    std::uint64_t subscribe(const AgentId& user, const PopSubscriber* id, std::weak_ptr<PopSubscriber> s);
    void unsubscribe(const AgentId& user, const PopSubscriber* id);

    /// Held messages of `user` with seq > after, in seq order. When `after`
    /// is beyond the user's latest seq (a browser that saw an earlier run of
    /// the process), every held message is returned.
    std::vector<HeldMessage> replay(const AgentId& user, std::uint64_t after);

    /// A customer was erased: drops every held message about them (the pop
    /// naming them, and every later message of those calls, which carry the
    /// caller's number), so a resume never replays their file. Returns how
    /// many messages were dropped. O(held messages).
    std::size_t forget_customer(std::int64_t customer_id);

    /// A console's `pop.shown` receipt: `user`'s browser painted the card of
    /// the `call.ringing` numbered `seq` for call `call_id`. Answers how long
    /// after the phone started ringing (the pop's `rang_at`, else when the hub
    /// sent it) the card showed, at `now`; never negative. nullopt, and
    /// nothing recorded, when the receipt does not match a held pop of that
    /// user (unknown or expired seq, not a `call.ringing`, another call) or
    /// that pop was acknowledged already (another tab, a repeat): so each pop
    /// counts once, and memory stays bounded by what is held for resume.
    std::optional<std::chrono::milliseconds> acknowledge_shown(const AgentId& user, std::uint64_t seq,
                                                               std::string_view call_id, Timestamp now);

    /// The user's latest seq (0 before the first message).
    std::uint64_t latest_seq(const AgentId& user) const;
    std::size_t subscriber_count(const AgentId& user) const;
    /// Asks every open session of `user` to close (end()); returns how many.
    /// `reason` must be a string literal: sessions keep the pointer.
    std::size_t disconnect(const AgentId& user, const char* reason);
    /// A mark to take before authenticating a new session: a disconnect of
    /// its user after the mark (the user disabled between the session check
    /// and the subscription) is then seen by disconnected_since.
    std::uint64_t disconnect_mark() const noexcept { return disconnects_.load(); }
    /// The reason of the user's latest disconnect if it came after `mark`, else nullptr.
    const char* disconnected_since(const AgentId& user, std::uint64_t mark) const;
    void note_dropped(std::uint64_t n) noexcept { dropped_.fetch_add(n, std::memory_order_relaxed); }
    PopHubStats stats() const;

private:
    struct Held {
        std::uint64_t seq;
        std::chrono::steady_clock::time_point at;
        std::shared_ptr<const std::string> text;
        std::uint64_t call = 0;         // hash of the message's call id (0: none), for forget_customer
        std::int64_t customer = 0;      // the customer it names (0: none)
        std::string ringing_call;       // a call.ringing's call id ("" for other messages), for pop.shown
        Timestamp rang_at{};            // when that phone started ringing (the pop's rang_at, else sent)
        bool shown = false;             // a pop.shown for it was counted
    };
    struct Sub {
        const PopSubscriber* id;
        std::weak_ptr<PopSubscriber> ptr;
    };
    struct UserState {
        std::uint64_t next_seq = 1;
        std::deque<Held> held;
        std::vector<Sub> subs;
        std::uint64_t disconnected_at = 0;       // disconnects_ at the user's latest disconnect
        const char* disconnect_reason = nullptr;
    };
    void prune_locked(UserState& u, std::chrono::steady_clock::time_point now) const;
    /// send() to each of `to` (count users from `to`), with hold: kept for resume or not (a snapshot).
    void send_to(const AgentId* to, std::size_t count, nlohmann::json message, bool hold);
    UserState& user_locked(const AgentId& user);
    /// The user's sessions still open; drops those that are gone.
    static std::vector<std::shared_ptr<PopSubscriber>> open_subscribers_locked(UserState& u);

    std::unordered_map<AgentId, int> supervisors_;  // Audience::supervisors: user -> joined sessions

    PopHubOptions options_;
    mutable std::mutex mutex_;
    std::unordered_map<AgentId, UserState> users_;
    std::chrono::steady_clock::time_point last_sweep_{};
    std::atomic<std::uint64_t> messages_{0};
    std::atomic<std::uint64_t> deliveries_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> resumes_{0};
    std::atomic<std::uint64_t> disconnects_{0};
};

}  // namespace ringside::server
