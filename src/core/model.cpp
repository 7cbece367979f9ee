#include "ringside/core/model.hpp"

#include <array>

#include <nlohmann/json.hpp>

namespace ringside {
namespace {

template <class E, std::size_t N>
std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view s) {
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == s) return static_cast<E>(i);
    return std::nullopt;
}

constexpr std::array<std::string_view, 3> role_names{"agent", "supervisor", "admin"};
constexpr std::array<std::string_view, 3> direction_names{"inbound", "outbound", "internal"};
constexpr std::array<std::string_view, 6> status_names{"ringing", "answered", "missed", "abandoned", "busy", "failed"};
constexpr std::array<std::string_view, 3> hangup_by_names{"caller", "agent", "system"};

nlohmann::json opt_time(const std::optional<Timestamp>& t) {
    return t ? nlohmann::json(format_iso(*t)) : nlohmann::json(nullptr);
}

}  // namespace

std::string_view to_string(Role r) { return role_names[static_cast<std::size_t>(r)]; }
std::optional<Role> role_from_string(std::string_view s) { return lookup<Role>(role_names, s); }
bool role_at_least(Role have, Role need) { return static_cast<int>(have) >= static_cast<int>(need); }

std::string_view to_string(Direction d) { return direction_names[static_cast<std::size_t>(d)]; }
std::optional<Direction> direction_from_string(std::string_view s) { return lookup<Direction>(direction_names, s); }

std::string_view to_string(CallStatus s) { return status_names[static_cast<std::size_t>(s)]; }
std::optional<CallStatus> call_status_from_string(std::string_view s) { return lookup<CallStatus>(status_names, s); }

std::string_view to_string(HangupBy h) { return hangup_by_names[static_cast<std::size_t>(h)]; }
std::optional<HangupBy> hangup_by_from_string(std::string_view s) { return lookup<HangupBy>(hangup_by_names, s); }

void to_json(nlohmann::json& j, const User& u) {
    j = {{"username", u.username.value()},
         {"name", u.name},
         {"role", to_string(u.role)},
         {"extension", u.extension ? nlohmann::json(u.extension->value()) : nlohmann::json(nullptr)}};
}

void to_json(nlohmann::json& j, const CallRecord& c) {
    j = {{"id", c.id.value()},
         {"pbx", c.pbx.value()},
         {"direction", to_string(c.direction)},
         {"from", c.from},
         {"from_raw", c.from_raw},
         {"from_name", c.from_name},
         {"anonymous", caller_withheld(c)},
         {"to", c.to},
         {"customer_id", c.customer_id ? nlohmann::json(*c.customer_id) : nlohmann::json(nullptr)},
         {"agent", c.agent ? nlohmann::json(c.agent->value()) : nlohmann::json(nullptr)},
         {"extension", c.extension ? nlohmann::json(c.extension->value()) : nlohmann::json(nullptr)},
         {"queue", c.queue ? nlohmann::json(*c.queue) : nlohmann::json(nullptr)},
         {"status", to_string(c.status)},
         {"started_at", format_iso(c.started_at)},
         {"answered_at", opt_time(c.answered_at)},
         {"ended_at", opt_time(c.ended_at)},
         {"wait_seconds", c.wait_seconds},
         {"talk_seconds", c.talk_seconds},
         {"disposition", c.disposition},
         {"notes", c.notes},
         {"queue_position", c.queue_position ? nlohmann::json(*c.queue_position) : nlohmann::json(nullptr)},
         {"hold_seconds", c.hold_seconds},
         {"legs", c.legs}};
    j["hangup_by"] = c.hangup_by ? nlohmann::json(to_string(*c.hangup_by)) : nlohmann::json(nullptr);
    j["hangup_extension"] = c.hangup_extension ? nlohmann::json(c.hangup_extension->value()) : nlohmann::json(nullptr);
}

void to_json(nlohmann::json& j, const CallLeg& l) {
    j = {{"agent", l.agent ? nlohmann::json(l.agent->value()) : nlohmann::json(nullptr)},
         {"extension", l.extension.value()},
         {"rang_at", format_iso(l.rang_at)},
         {"answered_at", opt_time(l.answered_at)},
         {"ended_at", opt_time(l.ended_at)},
         {"talk_seconds", l.talk_seconds},
         {"transferred_by", l.transferred_by ? nlohmann::json(l.transferred_by->value()) : nlohmann::json(nullptr)}};
}

void to_json(nlohmann::json& j, const Customer& c) {
    j = {{"id", c.id},          {"name", c.name},   {"salutation", c.salutation}, {"phones", c.phones},
         {"email", c.email},    {"tier", c.tier},   {"tags", c.tags},             {"company", c.company},
         {"notes", c.notes},    {"language", c.language}, {"created_at", format_iso(c.created_at)}};
    auto details = nlohmann::json::array();
    for (std::size_t i = 0; i < c.phones.size(); ++i)
        details.push_back({{"number", c.phones[i]}, {"label", i < c.phone_labels.size() ? c.phone_labels[i] : ""}});
    j["phone_details"] = std::move(details);
    j["birthday"] = c.birthday;
    j["groups"] = c.groups;
    j["owner"] = c.owner;
    j["kind"] = c.kind;
    j["source_campaign"] = c.source_campaign;
    j["preferred_channel"] = c.preferred_channel;
    j["contact_time"] = c.contact_time;
    j["opt_outs"] = c.opt_outs;
    j["value_score"] = c.value_score ? nlohmann::json(*c.value_score) : nlohmann::json(nullptr);
    j["value_score_source"] = !c.value_score         ? nlohmann::json(nullptr)
                              : c.value_score_computed ? nlohmann::json("computed")
                                                       : nlohmann::json("set");
    j["lifetime_value"] = c.lifetime_value ? nlohmann::json(*c.lifetime_value) : nlohmann::json(nullptr);
    j["customer_since"] = format_iso(c.customer_since.value_or(c.created_at));
    j["status"] = c.status;
    if (c.status == "removed") {
        j["removed_at"] = opt_time(c.removed_at);
        j["removed_by"] = c.removed_by;
        j["removed_reason"] = c.removed_reason;
    }
    if (c.erased_at) j["erased_at"] = format_iso(*c.erased_at);
    j["updated_at"] = opt_time(c.updated_at);
}

void to_json(nlohmann::json& j, const CustomerEvaluation& e) {
    j = {{"value_score", e.value_score ? nlohmann::json(*e.value_score) : nlohmann::json(nullptr)},
         {"value_score_source", e.value_score_source.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.value_score_source)},
         {"value_quartile", e.value_quartile ? nlohmann::json(*e.value_quartile) : nlohmann::json(nullptr)},
         {"relationship_days", e.relationship_days},
         {"complaints", e.complaints},
         {"lifetime_value", e.lifetime_value ? nlohmann::json(*e.lifetime_value) : nlohmann::json(nullptr)},
         {"last_contact", e.last_contact_at ? nlohmann::json{{"at", format_iso(*e.last_contact_at)},
                                                             {"channel", e.last_contact_channel},
                                                             {"outcome", e.last_contact_outcome}}
                                            : nlohmann::json(nullptr)}};
}

void to_json(nlohmann::json& j, const IssueChange& c) {
    j = {{"at", format_iso(c.at)}, {"actor", c.actor}, {"field", c.field}, {"before", c.before}, {"after", c.after}};
}

void to_json(nlohmann::json& j, const Issue& i) {
    j = {{"id", i.id},
         {"customer_id", i.customer_id},
         {"title", i.title},
         {"description", i.description},
         {"status", i.status},
         {"opened_at", format_iso(i.opened_at)},
         {"resolved_at", opt_time(i.resolved_at)},
         {"priority", i.priority},
         {"owner", i.owner}};
}

void to_json(nlohmann::json& j, const Interaction& i) {
    j = {{"at", format_iso(i.at)},
         {"channel", i.channel},
         {"direction", i.direction},
         {"summary", i.summary},
         {"agent", i.agent ? nlohmann::json(i.agent->value()) : nlohmann::json(nullptr)},
         {"call_id", i.call_id ? nlohmann::json(i.call_id->value()) : nlohmann::json(nullptr)},
         {"status", i.status},
         {"disposition", i.disposition}};
}

}  // namespace ringside
