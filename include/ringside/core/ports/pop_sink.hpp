#pragma once
// The pop delivery port, owned by the core. The core hands each message for
// one user to a PopSink; the embedded default (server/pop_hub.hpp) numbers
// it with the user's `seq`, keeps it for `resume`, and writes it to that
// user's open WebSockets. A deployment of several nodes puts a sink here that
// carries the message to the node holding the user's socket.
#include <vector>

#include <nlohmann/json.hpp>

#include "ringside/core/strong_typedef.hpp"

namespace ringside {

class PopSink {
public:
    virtual ~PopSink() = default;
    /// message: a server-to-client object with "type" and no "seq" (the sink
    /// assigns it). Must not block: called on the call engine's thread.
    virtual void send(const AgentId& to, nlohmann::json message) = 0;
    /// The same message to each of `to`, each numbered with that user's own
    /// `seq` as send() does, in that order. A sink may serialise it once for
    /// all (a queue's pop rings five agents). Default: send() to each.
    virtual void send_each(const std::vector<AgentId>& to, nlohmann::json message) {
        for (std::size_t i = 0; i < to.size(); ++i)
            if (i + 1 == to.size()) send(to[i], std::move(message));
            else send(to[i], message);
    }

    /// Who a broadcast goes to.
    enum class Audience {
        supervisors,  // every signed-in supervisor and admin (never agents)
    };
    /// Sends message to every user of the audience who is connected now,
    /// each numbered with that user's own `seq` as send() does. Same rules
    /// as send(). A sink that carries no broadcasts (the default) drops them.
    virtual void broadcast(Audience to, nlohmann::json message) {
        (void)to;
        (void)message;
    }
    /// State for one user (a wallboard snapshot): numbered like send(), but
    /// not kept for resume. Same rules as send(). Default: send().
    virtual void send_state(const AgentId& to, nlohmann::json message) { send(to, std::move(message)); }
};

}  // namespace ringside
