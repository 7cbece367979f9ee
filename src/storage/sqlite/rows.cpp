#include "rows.hpp"

#include <nlohmann/json.hpp>

namespace ringside::sqlite {

const std::string user_columns = "id, username, name, role, extension, disabled";

User read_user(const Query& q, int base) {
    User u;
    u.id = q.i64(base + 0);
    u.username = AgentId{q.str(base + 1)};
    u.name = q.str(base + 2);
    // The CHECK constraint admits only known roles; the fallback grants the least.
    u.role = role_from_string(q.str(base + 3)).value_or(Role::agent);
    u.extension = q.opt_strong<Extension>(base + 4);
    u.disabled = q.i64(base + 5) != 0;
    return u;
}

Customer read_customer(const Query& q) {
    Customer c;
    c.id = q.i64(0);
    c.name = q.str(1);
    c.salutation = q.str(2);
    c.email = q.str(3);
    c.tier = q.str(4);
    c.tags = strings_from_json(q.str(5));
    c.company = q.str(6);
    c.notes = q.str(7);
    c.language = q.str(8);
    c.created_at = from_ms(q.i64(9));
    c.birthday = q.str(10);
    c.groups = strings_from_json(q.str(11));
    c.owner = q.str(12);
    c.kind = q.str(13);
    c.source_campaign = q.str(14);
    c.preferred_channel = q.str(15);
    c.contact_time = q.str(16);
    c.opt_outs = strings_from_json(q.str(17));
    if (auto v = q.opt_i64(18)) c.value_score = static_cast<int>(*v);
    c.lifetime_value = q.opt_i64(19);
    c.customer_since = q.opt_time(20);
    c.status = q.str(21);
    c.removed_at = q.opt_time(22);
    c.removed_by = q.str(23);
    c.removed_reason = q.str(24);
    c.updated_at = q.opt_time(25);
    c.value_score_computed = c.value_score && q.i64(26) != 0;
    c.erased_at = q.opt_time(27);
    return c;
}

std::optional<Customer> customer_row(Connection& c, std::int64_t id, bool active_only) {
    Query q(c, "SELECT " + customer_columns + " FROM customers c WHERE c.id = ?" +
                   (active_only ? " AND c.status = 'active'" : ""));
    q.bind(id);
    if (!q.step()) return std::nullopt;
    return read_customer(q);
}

const std::string issue_columns = "id, customer_id, title, description, status, opened_at, resolved_at, priority, owner";

Issue read_issue(const Query& q) {
    Issue i;
    i.id = q.i64(0);
    i.customer_id = q.i64(1);
    i.title = q.str(2);
    i.description = q.str(3);
    i.status = q.str(4);
    i.opened_at = from_ms(q.i64(5));
    i.resolved_at = q.opt_time(6);
    i.priority = q.str(7);
    i.owner = q.str(8);
    return i;
}

const std::string interaction_columns =
    "id, customer_id, at, channel, direction, summary, agent, call_id, status, disposition, notes";

Interaction read_interaction(const Query& q) {
    Interaction i;
    i.id = q.i64(0);
    i.customer_id = q.i64(1);
    i.at = from_ms(q.i64(2));
    i.channel = q.str(3);
    i.direction = q.str(4);
    i.summary = q.str(5);
    i.agent = q.opt_strong<AgentId>(6);
    i.call_id = q.opt_strong<CallId>(7);
    i.status = q.str(8);
    i.disposition = q.str(9);
    // The agent's closing notes are the most useful line of a call's history.
    if (auto notes = q.str(10); !notes.empty()) i.summary = i.summary.empty() ? notes : i.summary + " — " + notes;
    return i;
}

namespace {

std::vector<CallLeg> legs_from_json(const std::string& text) {
    std::vector<CallLeg> out;
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_array()) return out;
    auto opt_ms = [](const nlohmann::json& v) {
        return v.is_number_integer() ? std::optional<Timestamp>(from_ms(v.get<std::int64_t>())) : std::nullopt;
    };
    for (const auto& row : j) {
        if (!row.is_array() || row.size() != 7 || !row[1].is_string()) continue;
        CallLeg l;
        if (row[0].is_string()) l.agent = AgentId(row[0].get<std::string>());
        l.extension = Extension(row[1].get<std::string>());
        l.rang_at = opt_ms(row[2]).value_or(Timestamp{});
        l.answered_at = opt_ms(row[3]);
        l.ended_at = opt_ms(row[4]);
        l.talk_seconds = row[5].is_number_integer() ? row[5].get<std::int64_t>() : 0;
        if (row[6].is_string()) l.transferred_by = AgentId(row[6].get<std::string>());
        out.push_back(std::move(l));
    }
    return out;
}

}  // namespace

CallRecord read_call(const Query& q) {
    CallRecord c;
    c.id = CallId{q.str(0)};
    c.pbx = PbxId{q.str(1)};
    c.direction = direction_from_string(q.str(2)).value_or(Direction::inbound);
    c.from = q.str(3);
    c.from_raw = q.str(4);
    c.from_name = q.str(5);
    c.to = q.str(6);
    c.customer_id = q.opt_i64(7);
    c.agent = q.opt_strong<AgentId>(8);
    c.extension = q.opt_strong<Extension>(9);
    c.queue = q.opt_str(10);
    c.status = call_status_from_string(q.str(11)).value_or(CallStatus::failed);
    c.started_at = from_ms(q.i64(12));
    c.answered_at = q.opt_time(13);
    c.ended_at = q.opt_time(14);
    c.wait_seconds = q.i64(15);
    c.talk_seconds = q.i64(16);
    c.disposition = q.str(17);
    c.notes = q.str(18);
    for (auto& a : strings_from_json(q.str(19))) c.rang.emplace_back(std::move(a));
    if (auto p = q.opt_i64(20)) c.queue_position = static_cast<int>(*p);
    c.hold_seconds = q.i64(21);
    c.legs = legs_from_json(q.str(22));
    if (auto by = q.opt_str(23)) c.hangup_by = hangup_by_from_string(*by);
    c.hangup_extension = q.opt_strong<Extension>(24);
    return c;
}

}  // namespace ringside::sqlite
