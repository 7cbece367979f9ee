#pragma once
// The domain records Ringside stores and sends. Wire form: one to_json per
// struct (json.cpp); field names and values follow docs/interface.md.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "ringside/core/strong_typedef.hpp"
#include "ringside/core/time.hpp"

namespace ringside {

enum class Role { agent, supervisor, admin };
std::string_view to_string(Role r);
std::optional<Role> role_from_string(std::string_view s);
/// supervisor and admin rank above agent; admin above supervisor.
bool role_at_least(Role have, Role need);

enum class Direction { inbound, outbound, internal };
std::string_view to_string(Direction d);
std::optional<Direction> direction_from_string(std::string_view s);

/// ringing while not final; the other five are final.
enum class CallStatus { ringing, answered, missed, abandoned, busy, failed };
std::string_view to_string(CallStatus s);
std::optional<CallStatus> call_status_from_string(std::string_view s);

/// Who ended a call (issue 4): the first party to hang up on the call's last
/// conversation. caller: the external party (or the calling phone); agent:
/// an agent's phone (the record names its extension); system: the PBX
/// itself (queue timeout, max ring time, a hang-up ordered by the PBX).
enum class HangupBy { caller, agent, system };
std::string_view to_string(HangupBy h);
std::optional<HangupBy> hangup_by_from_string(std::string_view s);

struct User {
    std::int64_t id = 0;
    AgentId username;
    std::string name;                 // display name, any script
    Role role = Role::agent;
    std::optional<Extension> extension;
    bool disabled = false;
};

/// One agent phone's part in a call (a leg per extension that rang): who,
/// when it rang, was answered and left, its talk time, and who transferred
/// the call to it.
struct CallLeg {
    std::optional<AgentId> agent;     // the extension's agent when the call rang there ("" if none)
    Extension extension;
    Timestamp rang_at{};
    std::optional<Timestamp> answered_at;
    std::optional<Timestamp> ended_at;  // when this leg hung up or the call ended; unset while it lasts
    std::int64_t talk_seconds = 0;    // answered_at to ended_at; 0 when never answered
    std::optional<AgentId> transferred_by;  // username (or extension when no agent) that transferred to this leg
};

/// One call, all legs folded in. Stored from the first ring, final within a
/// second of the PBX reporting its end.
struct CallRecord {
    CallId id;
    PbxId pbx;
    Direction direction = Direction::inbound;
    std::string from;                 // E.164 of the external caller, or raw when it cannot be normalised;
                                      // "" for a withheld caller (caller_withheld)
    std::string from_raw;             // caller id number as the PBX sent it; for a withheld caller only
                                      // its masked text ("anonymous", "+31260xxxxxx"), never a real number
    std::string from_name;            // caller id name as the PBX sent it ("" if none or withheld)
    std::string to;                   // number or extension dialled
    std::optional<std::int64_t> customer_id;
    std::optional<AgentId> agent;     // username of the agent who answered (the last one)
    std::optional<Extension> extension;  // that agent's extension
    std::optional<std::string> queue;
    CallStatus status = CallStatus::ringing;
    Timestamp started_at{};
    std::optional<Timestamp> answered_at;
    std::optional<Timestamp> ended_at;
    std::int64_t wait_seconds = 0;    // start to answer, or start to end when unanswered
    std::int64_t talk_seconds = 0;    // answer to end; 0 when unanswered
    std::string disposition;          // agent's closing code ("" until set)
    std::string notes;                // agent's notes, card numbers masked
    std::vector<AgentId> rang;        // agents whose phone rang (not on the wire record)
    std::optional<int> queue_position;  // position when the caller joined the queue (1 = first)
    std::int64_t hold_seconds = 0;    // time in the queue: join to answer, or join to end when unanswered
    std::vector<CallLeg> legs;        // one per agent phone that rang, in ring order
    /// Set only on the consultation call of an attended transfer once it was
    /// merged into the caller's call: storing such a record removes it (the
    /// call lives on under this id). Not on the wire.
    std::optional<CallId> merged_into;
    /// Who hung up first; unset when the PBX did not let Ringside tell
    /// (link down at the end, a webhook without `hangup_by`, older records).
    std::optional<HangupBy> hangup_by;
    std::optional<Extension> hangup_extension;  // the agent's phone when hangup_by is agent
};

/// The external caller withheld their number (presentation restricted, or a
/// masked or anonymous caller id): `"anonymous": true` on the wire, `from`
/// empty, never matched to a customer. An inbound call's `from` is empty
/// exactly then.
inline bool caller_withheld(const CallRecord& c) { return c.direction == Direction::inbound && c.from.empty(); }

struct Customer {
    std::int64_t id = 0;
    std::string name;                 // any script
    std::string salutation;           // "Ms.", "Mr.", "خانم", ... ("" if unknown)
    std::vector<std::string> phones;  // E.164
    std::string email;
    std::string tier;                 // "gold" | "silver" | "bronze" | ""
    std::vector<std::string> tags;
    std::string company;
    std::string notes;
    std::string language;             // BCP 47 preferred language ("en", "fa"), "" if unknown
    Timestamp created_at{};

    // ---- the customer file (issue 7); all optional, "" / empty when unknown
    std::vector<std::string> phone_labels;  // parallel to phones: "mobile", "work", ... ("" if none)
    std::string birthday;             // "YYYY-MM-DD"
    std::vector<std::string> groups;  // custom groups ("wholesale", "north-region")
    std::string owner;                // username of the agent assigned to this customer
    std::string kind = "customer";    // "customer" | "lead"
    std::string source_campaign;      // for leads: the campaign they came from
    std::string preferred_channel;    // "phone" | "sms" | "email" | "visit" | ""
    std::string contact_time;         // free text, e.g. "09:00-12:00"
    std::vector<std::string> opt_outs;  // of "calls", "sms", "email", "marketing"
    std::optional<int> value_score;   // 1..10
    /// The score was computed by Ringside from the customer's history
    /// (compute_value_score) and follows it; false with a score: set by hand
    /// (a supervisor or an import), which a computed score never replaces.
    /// A store computes the score of a customer written without one.
    bool value_score_computed = false;
    std::optional<std::int64_t> lifetime_value;  // whole currency units; sum of imported orders or set
    std::optional<Timestamp> customer_since;     // relationship start; created_at when unset
    std::string status = "active";    // "active" | "removed" (never hard-deleted)
    std::optional<Timestamp> removed_at;
    std::string removed_by;           // username who removed it
    std::string removed_reason;
    std::optional<Timestamp> updated_at;
    /// Set when the customer was erased on request (privacy.hpp
    /// erased_customer): the file is anonymised for good and never restored.
    std::optional<Timestamp> erased_at;
};

/// What Ringside knows of a customer's worth and history, shown on the pop
/// and usable as filters. Computed from stored data (customer_eval.hpp).
struct CustomerEvaluation {
    std::optional<int> value_score;            // 1..10
    std::string value_score_source;            // "set" (by hand) | "computed" | "" (no score)
    std::optional<int> value_quartile;         // 1 (bottom 25%) .. 4 (top 25%) among scored customers
    std::int64_t relationship_days = 0;        // since customer_since (or created_at)
    std::int64_t complaints = 0;               // issues ever opened for this customer
    std::optional<std::int64_t> lifetime_value;
    std::optional<Timestamp> last_contact_at;  // newest interaction
    std::string last_contact_channel;
    std::string last_contact_outcome;          // disposition, else call status, else ""
};

struct Issue {
    std::int64_t id = 0;
    std::int64_t customer_id = 0;
    std::string title;
    std::string description;
    std::string status = "open";      // "open" | "resolved"
    Timestamp opened_at{};
    std::optional<Timestamp> resolved_at;
    std::string priority = "normal";  // "low" | "normal" | "high" | "urgent"
    std::string owner;                // username in charge ("" if nobody)
};

/// One change to an issue: who changed which field from what to what.
struct IssueChange {
    Timestamp at{};
    std::string actor;                // username
    std::string field;                // "status", "priority", "owner", "title", "description", "created"
    std::string before;
    std::string after;
};

struct Interaction {
    std::int64_t id = 0;
    std::int64_t customer_id = 0;
    Timestamp at{};
    std::string channel = "call";     // "call" | "email" | "visit" | "note"
    std::string direction;            // "inbound" | "outbound" | "internal" | ""
    std::string summary;              // one line; card numbers masked
    std::optional<AgentId> agent;
    std::optional<CallId> call_id;
    std::string status;               // for calls: the call status
    std::string disposition;
};

/// What a pop shows about a caller: one indexed lookup by E.164.
struct CustomerContext {
    Customer customer;
    std::vector<Issue> open_issues;              // newest first, at most 5
    std::vector<Interaction> recent_interactions;  // newest first, at most 5
    std::int64_t complaints = 0;                 // issues ever opened (for the evaluation)
    /// Active customers per value score (index 1..10; 0 unused), for the
    /// quartile segment; may be a few seconds old.
    std::array<std::int64_t, 11> score_histogram{};
};

void to_json(nlohmann::json& j, const User& u);
void to_json(nlohmann::json& j, const CallLeg& l);
void to_json(nlohmann::json& j, const CallRecord& c);
void to_json(nlohmann::json& j, const Customer& c);
void to_json(nlohmann::json& j, const Issue& i);
void to_json(nlohmann::json& j, const Interaction& i);
void to_json(nlohmann::json& j, const CustomerEvaluation& e);
void to_json(nlohmann::json& j, const IssueChange& c);

}  // namespace ringside
