#include "pop_messages.hpp"

#include <string_view>

#include "ringside/core/call_service.hpp"
#include "ringside/core/customers.hpp"
#include "ringside/core/time.hpp"

namespace ringside {
namespace {

std::string_view retract_reason(StopReason r) {
    // The contract's two reasons; why the phone stopped goes in "detail".
    return r == StopReason::answered_elsewhere ? "answered_elsewhere" : "caller_hung_up";
}

std::string_view stop_detail(StopReason r) {
    switch (r) {
    case StopReason::answered_elsewhere: return "answered_elsewhere";
    case StopReason::caller_hung_up: return "caller_hung_up";
    case StopReason::no_answer: return "no_answer";
    case StopReason::busy: return "busy";
    case StopReason::rejected: return "rejected";
    }
    return "caller_hung_up";
}

}  // namespace

nlohmann::json pop_call_json(const CallRecord& c) {
    return {{"id", c.id.value()},
            {"pbx", c.pbx.value()},
            {"direction", to_string(c.direction)},
            {"from", c.from},
            {"from_raw", c.from_raw},
            {"from_name", c.from_name},
            {"anonymous", caller_withheld(c)},
            {"to", c.to},
            {"queue", c.queue ? nlohmann::json(*c.queue) : nlohmann::json(nullptr)},
            {"queue_position", c.queue_position ? nlohmann::json(*c.queue_position) : nlohmann::json(nullptr)},
            {"hold_seconds", c.hold_seconds},
            {"started_at", format_iso(c.started_at)}};
}

nlohmann::json live_call_json(const CallRecord& c, const nlohmann::json& ringing, const Customer* customer) {
    auto opt = [](const auto& v) { return v ? nlohmann::json(v->value()) : nlohmann::json(nullptr); };
    return {{"id", c.id.value()},
            {"pbx", c.pbx.value()},
            {"direction", to_string(c.direction)},
            {"from", c.from},
            {"from_name", c.from_name},
            {"anonymous", caller_withheld(c)},
            {"to", c.to},
            {"queue", c.queue ? nlohmann::json(*c.queue) : nlohmann::json(nullptr)},
            {"customer_id", c.customer_id ? nlohmann::json(*c.customer_id) : nlohmann::json(nullptr)},
            {"customer_name", customer ? nlohmann::json(customer->name) : nlohmann::json(nullptr)},
            {"customer_tier", customer && !customer->tier.empty() ? nlohmann::json(customer->tier) : nlohmann::json(nullptr)},
            {"status", c.answered_at ? "answered" : "ringing"},
            {"started_at", format_iso(c.started_at)},
            {"answered_at", c.answered_at ? nlohmann::json(format_iso(*c.answered_at)) : nlohmann::json(nullptr)},
            {"agent", opt(c.agent)},
            {"extension", opt(c.extension)},
            {"ringing", ringing}};
}

nlohmann::json ringing_message(const CallRecord& c, const std::optional<CustomerContext>& ctx) {
    nlohmann::json m = {{"type", "call.ringing"}, {"call", pop_call_json(c)}};
    if (ctx) {
        // Pops go to agents: the customer as an agent may see it (no lifetime value).
        m["customer"] = customer_view(ctx->customer, Role::agent);
        m["open_issues"] = ctx->open_issues;
        m["recent_interactions"] = ctx->recent_interactions;
        m["evaluation"] = evaluation_view(evaluate(*ctx, c.started_at), Role::agent);
        m["birthday_today"] = is_birthday(ctx->customer.birthday, c.started_at);
    } else {
        m["customer"] = nullptr;
        m["open_issues"] = nlohmann::json::array();
        m["recent_interactions"] = nlohmann::json::array();
    }
    return m;
}

namespace detail {

nlohmann::json retracted_message(const CallId& id, StopReason why) {
    return {{"type", "call.retracted"},
            {"call", {{"id", id.value()}}},
            {"reason", retract_reason(why)},
            {"detail", stop_detail(why)}};
}

nlohmann::json merged_retraction(const CallId& id, const CallId& into) {
    return {{"type", "call.retracted"},
            {"call", {{"id", id.value()}}},
            {"reason", "caller_hung_up"},
            {"detail", "merged"},
            {"merged_into", into.value()}};
}

nlohmann::json answered_message(const CallRecord& r) {
    return {{"type", "call.answered"}, {"call", pop_call_json(r)}, {"agent", r.agent->value()}};
}

nlohmann::json ended_message(const CallRecord& r) { return {{"type", "call.ended"}, {"call", r}}; }

nlohmann::json board_calls_message(nlohmann::json calls) { return {{"type", "board.calls"}, {"calls", std::move(calls)}}; }

nlohmann::json board_changes_message(nlohmann::json calls, nlohmann::json removed) {
    return {{"type", "board.changes"}, {"calls", std::move(calls)}, {"removed", std::move(removed)}};
}

}  // namespace detail
}  // namespace ringside
