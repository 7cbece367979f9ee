#pragma once
// The webhook event format (docs/interface.md "Webhook PBXs"): one JSON
// object per POST naming one thing that happened to one call. Sans-I/O:
// parse_event() validates a body and never throws.
//
//   {"id":"evt-1","type":"call.ringing","call_id":"c-42",
//    "at":"2026-11-23T14:00:00.123Z","from":"09121234567","from_name":"",
//    "to":"02100000000","extensions":["1001","1002"]}
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ringside/core/model.hpp"
#include "ringside/core/time.hpp"

namespace ringside::webhook {

enum class EventType { ringing, answered, transferred, ended };
/// "call.ringing", "call.answered", "call.transferred", "call.ended"
const char* to_string(EventType t) noexcept;

/// How an ended call ended, in the PBX-neutral words of the format.
enum class EndCause { normal, busy, no_answer, cancelled, rejected, failed };
const char* to_string(EndCause c) noexcept;
/// The Q.850 cause a Hangup carries for it (normal 16, busy 17, no_answer 19,
/// cancelled 16, rejected 21, failed 41).
int q850(EndCause c) noexcept;

struct Limits {
    std::size_t max_body = 64 * 1024;   // bytes of one POST body
    std::size_t max_text = 256;         // bytes of any string field
    std::size_t max_extensions = 32;    // entries of "extensions"
};

/// One validated event. Which fields are set depends on type (see the doc).
struct Event {
    std::string id;                     // unique per event; a retry repeats it
    EventType type = EventType::ringing;
    std::string call_id;                // [A-Za-z0-9._:@-]{1,64}, the same on every event of one call
    std::optional<Timestamp> at;        // when the PBX says it happened
    std::string from;                   // ringing: the caller's number as the PBX has it
    std::string from_name;              // ringing: caller id name, "" if none
    bool anonymous = false;             // ringing, optional: the caller withheld their number (shown as
                                        // withheld and never matched, whatever `from` says)
    std::string to;                     // ringing: the number dialled, "" if not given
    std::vector<std::string> extensions;  // ringing: the phones ringing now (at least one)
    std::string extension;              // answered: who answered; transferred: who transferred
    std::string target;                 // transferred: the extension the call goes to
    EndCause cause = EndCause::normal;  // ended
    /// ended, optional: who hung up first ("caller", "agent", "system"); with
    /// "agent", `extension` may name the phone (else the one that answered).
    std::optional<HangupBy> hangup_by;
};

/// Why a body is not a valid event: `field` names the JSON field ("" for
/// the body as a whole), `message` says what is wrong in plain words.
struct ParseError {
    std::string field;
    std::string message;
};

/// Parses and validates one body. Never throws, whatever the bytes.
std::variant<Event, ParseError> parse_event(std::string_view body, const Limits& limits = {});

}  // namespace ringside::webhook
