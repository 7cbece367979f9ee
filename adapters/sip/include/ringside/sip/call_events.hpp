#pragma once
// Turns what the SIP side learns about a call (an extension rings, answers,
// stops ringing, the call ends) into the neutral channel events the call
// tracker understands (ringside/core/pbx_event.hpp), so pops and call records
// look the same as for AMI and ESL. Sans-I/O.
//
// A call is keyed by a string the mode chooses (the INVITE's Call-ID, or the
// dialog's call-id); it becomes the Linkedid, so the CallId is
// "<pbx>-<key>" with characters outside [A-Za-z0-9._-] replaced. Its caller
// is a non-device root channel; each extension rung is a device channel
// "SIP/<ext>-<n>" dialled by the root (ChannelCreated + DialBegin), so the
// tracker rings, answers and ends it exactly as it does an Asterisk leg.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ringside/core/model.hpp"
#include "ringside/core/pbx_event.hpp"

namespace ringside::sip {

/// "<Call-ID>" -> a Linkedid usable in a call id and a URL path segment.
std::string call_key(std::string_view call_id);

class CallEvents {
public:
    explicit CallEvents(PbxId pbx) : pbx_(std::move(pbx)) {}

    /// `ext` starts ringing for call `key`. The first ring of a call also
    /// creates it with the caller and what was dialled (the original called
    /// number after diversions, else ext). caller_withheld: the caller is
    /// anonymous (caller_num then holds at most the masked text, such as
    /// "anonymous", never a real number). A second ring of the same
    /// extension is ignored.
    void ringing(const std::string& key, const std::string& ext, const std::string& caller_num,
                 const std::string& caller_name, const std::string& dialed, Timestamp at, std::vector<pbx::Event>& out,
                 bool caller_withheld = false);
    /// A call's ring that follows a transfer (REFER, RFC 3515): the INVITE
    /// (or dialog) the transferee sent names who referred it and, for an
    /// attended or blonde transfer, the dialog it replaces (RFC 3891).
    struct Referral {
        std::string transferer;    // Referred-By user (RFC 3892): the extension that transferred; "" unknown
        std::string replaced_key;  // call key of the replaced dialog, when it still rings `ext`; "" none
    };
    /// `ext` starts ringing for call `key` because of a transfer. When the
    /// transferer's extension answered a call from the same caller that is
    /// still going on (mode watch: the transferee's first call), the ring
    /// goes on that call instead: one call, whatever its new Call-ID.
    /// With a replaced_key whose leg of `ext` still rings (a blonde
    /// transfer: the consultation call): an attended pbx::Transfer joins the
    /// consultation call to this one, and that leg is handed over as it is,
    /// still ringing, so the end of the consultation's own fork (its CANCEL)
    /// withdraws nothing. Otherwise a transfer (blind) is noted and `ext`
    /// rings as ringing() does. Returns the key the ring was put on.
    std::string transferred_ringing(const std::string& key, const std::string& ext, const Referral& via,
                                    const std::string& caller_num, const std::string& caller_name,
                                    const std::string& dialed, Timestamp at, std::vector<pbx::Event>& out,
                                    bool caller_withheld = false);
    /// `ext` answered (its phone, or the agent's phone beside a parallel-ring fork).
    void answered(const std::string& key, const std::string& ext, Timestamp at, std::vector<pbx::Event>& out);
    /// `ext`'s part ended: ringing stopped (cancelled, rejected) or its talk
    /// ended. cause is Q.850 (16 normal, 17 busy, 19 no answer, 21 rejected).
    /// The call ends with its last extension.
    /// order_known false: the end was not seen as it happened (a branch
    /// told "answered elsewhere"), so it says nothing of who hung up.
    void ended(const std::string& key, const std::string& ext, int cause, Timestamp at, std::vector<pbx::Event>& out,
               bool order_known = true);
    /// Hang-up side (issue 4), before ended(): who asked for `ext`'s part to
    /// end. agent: the phone of `ext` sent the BYE; caller: the caller's side
    /// (CANCEL, BYE); system: the PBX side (max ring). The caller's and the
    /// PBX's word count only for the call's last extension (a fork rings on).
    void hangup_request(const std::string& key, const std::string& ext, HangupBy by, Timestamp at,
                        std::vector<pbx::Event>& out);

    /// `ext`'s ring was sent on to `to` (SIP 302 or a proxy's forward: the
    /// INVITE for `to` names `ext` in Diversion / History-Info): its ring
    /// stops as forwarded; it can no longer be the one who answers.
    void forwarded(const std::string& key, const std::string& ext, const std::string& to, Timestamp at,
                   std::vector<pbx::Event>& out);

    bool has(const std::string& key, const std::string& ext) const;
    std::size_t active_calls() const noexcept { return calls_.size(); }
    /// Ends every call (the link is going away): Hangup for each leg and root.
    void end_all(Timestamp at, std::vector<pbx::Event>& out);

private:
    struct Leg {
        std::string uniqueid;
        bool answered = false;
        bool forwarded = false;
    };
    struct Call {
        std::string root;  // root channel's uniqueid
        pbx::ChannelInfo root_info;       // the root channel as first reported
        std::map<std::string, Leg> legs;  // ext -> leg
        bool answered = false;            // one of its extensions answered
    };
    /// The call `key`, created (its root channel reported) when new.
    Call& open_call(const std::string& key, const std::string& ext, const std::string& caller_num,
                    const std::string& caller_name, const std::string& dialed, Timestamp at,
                    std::vector<pbx::Event>& out, bool caller_withheld);
    pbx::Event make(Timestamp at, pbx::Payload p) const { return pbx::Event{pbx_, at, std::move(p)}; }

    PbxId pbx_;
    std::map<std::string, Call> calls_;
    std::uint64_t seq_ = 0;
};

}  // namespace ringside::sip
