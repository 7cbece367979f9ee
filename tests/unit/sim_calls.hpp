#pragma once
// The simulated Asterisk's calls (src/sim) played as AMI through the real
// mapper into the call service, as the AMI scenario tables play them.
#include <chrono>

#include "ami_calls.hpp"
#include "call_events.hpp"
#include "call_service_env.hpp"
#include "ringside/ami/mapper.hpp"
#include "ringside/sim/call_script.hpp"

namespace call_test {

/// Sara (09121234567) dials 500 at t0; the phones ring 5 s, and the one that
/// answers talks 30 s. Rows set who is dialled and what happens.
inline sim::CallPlan customer_plan() {
    sim::CallPlan p;
    p.epoch_seconds = 1700000000;
    p.caller_number = "09121234567";
    p.dialed = "500";
    p.ring_time = std::chrono::seconds(5);
    p.talk_time = std::chrono::seconds(30);
    p.start = at_s(0);
    return p;
}

/// Plays a script's AMI events, from start, into the call service; returns the call's id.
inline CallId play(Env& e, const sim::CallScript& script, Timestamp start) {
    ami::EventMapper mapper(PbxId("main"));
    for (const auto& te : script.events)
        for (auto& ev : mapper.map(te.message, start + te.offset)) e.svc.on_pbx_event(ev);
    return CallId("main-" + script.linkedid);
}

/// Scripts a simulated call and plays it; returns the call's id.
inline CallId play(Env& e, const sim::CallPlan& plan) { return play(e, sim::script_call(plan), plan.start); }

}  // namespace call_test
