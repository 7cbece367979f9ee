#pragma once
// Who is calling and whom they dialled, from an INVITE's headers.
//
// Caller (first that is present and readable wins):
//   P-Asserted-Identity (RFC 3325; a tel: entry is preferred over sip: for the
//   number), then Remote-Party-ID (draft-ietf-sip-privacy; party=calling), then From.
// Privacy: "Privacy: id" (RFC 3325), "Privacy: user"/"header" (RFC 3323),
// Remote-Party-ID ";privacy=full|name|uri", or a From of
// anonymous@anonymous.invalid makes the caller anonymous: no name, no number
// but the From's own masked text when it has one ("anonymous"; never an
// asserted identity), so no customer lookup. A From user that is a withheld
// form ("restricted", "+31260xxxxxx", ringside/core/phone.hpp) makes the
// caller anonymous too.
// Diversion: the number the caller first dialled, before forwards: the last
// Diversion entry (RFC 5806, most recent first), else the first History-Info
// entry (RFC 7044, index 1), else "".
#include <optional>
#include <string>
#include <vector>

#include "ringside/sip/message.hpp"

namespace ringside::sip {

struct CallerIdentity {
    std::string number;      // user part of the chosen URI, %-decoded; when anonymous only the From's
                             // masked text ("anonymous") or ""
    std::string name;        // display name; "" when anonymous or none
    bool anonymous = false;
};
CallerIdentity caller_identity(const Message& invite);

struct DiversionInfo {
    std::string original_called;  // "" when the call was not diverted
    std::string reason;           // Diversion ;reason= or History-Info cause, "" when none
    /// Every user that sent the call on: each Diversion entry, each
    /// History-Info entry but the last (the current target).
    std::vector<std::string> diverted_by = {};
};
DiversionInfo diversion(const Message& invite);

/// The extension being rung: the Request-URI user, else the To user.
std::string called_user(const Message& invite);

/// An INVITE's Replaces header (RFC 3891): the dialog this INVITE takes the
/// place of. `Replaces: 98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff`.
/// from_tag is that dialog's tag on the side of whoever sent its INVITE (for
/// the recipient, the remote tag), to_tag the recipient's own.
struct ReplacesInfo {
    std::string call_id;
    std::string to_tag;
    std::string from_tag;
    bool early_only = false;
};
/// nullopt when there is no Replaces header, or it lacks a Call-ID or either tag.
std::optional<ReplacesInfo> replaces(const Message& invite);

/// The user part of the Referred-By URI (RFC 3892): in an INVITE sent because
/// of a REFER, who referred (transferred) the caller. "" when absent or unreadable.
std::string referred_by(const Message& invite);

}  // namespace ringside::sip
