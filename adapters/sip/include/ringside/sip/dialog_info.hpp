#pragma once
// Reads an RFC 4235 application/dialog-info+xml document (the body of a
// NOTIFY for Event: dialog) into plain data. Uses expat; refuses DOCTYPE
// (no entity expansion, so no "billion laughs"), documents over max_bytes,
// more than max_dialogs dialogs, and nesting deeper than 16. Namespace
// prefixes on element names are ignored ("d:dialog" is "dialog").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringside::sip {

struct DialogState {
    std::string id;            // dialog id (required)
    std::string call_id;       // call-id attribute; "" when absent
    std::string direction;     // "initiator" | "recipient" | ""
    std::string state;         // trying | proceeding | early | confirmed | terminated
    std::string event;         // on terminated: cancelled | rejected | replaced | local-bye | remote-bye | error | timeout
    int code = 0;              // <state code="486">
    std::string remote_uri;    // <remote><identity>sip:+98912...@pbx</identity>
    std::string remote_display;  // <identity display="...">
    /// <replaces call-id="..." local-tag="..." remote-tag="..."/>: the dialog
    /// this one replaces (its INVITE carried Replaces, RFC 3891); "" when none.
    std::string replaces_call_id = {};
    /// <referred-by>sip:1001@pbx</referred-by>: its INVITE carried
    /// Referred-By (RFC 3892): who transferred the caller here; "" when none.
    std::string referred_by = {};
};

struct DialogInfo {
    std::uint64_t version = 0;
    bool full = false;         // state="full": lists every dialog; absent ones have ended
    std::string entity;        // "sip:1001@pbx.example.com"
    std::vector<DialogState> dialogs;
};

struct DialogInfoLimits {
    std::size_t max_bytes = 64 * 1024;
    std::size_t max_dialogs = 64;
};

/// nullopt with *error set when the document is not well-formed dialog-info.
std::optional<DialogInfo> parse_dialog_info(std::string_view xml, std::string* error = nullptr,
                                            const DialogInfoLimits& limits = {});

}  // namespace ringside::sip
