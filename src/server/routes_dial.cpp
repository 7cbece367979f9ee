// POST /api/calls/dial: click-to-dial from the console or an integration.
// The route checks who may dial from which phone and hands the call to the
// Dialer (the app's PBX links); the call that follows is tracked like any
// outbound call. The outcome reaches the agent over the WebSocket.
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "route_answers.hpp"
#include "server_state.hpp"

namespace ringside::server::detail {
namespace {

using json = nlohmann::json;
using http::verb;

/// A string field of at most max_len bytes; "" when absent or null. Sets
/// `error` (naming the field) when it is there but not a string or too long.
std::string text_field(const json& body, const char* name, std::size_t max_len, std::string& error) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return {};
    if (!it->is_string()) {
        if (error.empty()) error = std::string("field '") + name + "' must be a string";
        return {};
    }
    auto v = it->get<std::string>();
    if (v.size() > max_len && error.empty())
        error = std::string("field '") + name + "' is longer than " + std::to_string(max_len) + " bytes";
    return v;
}

}  // namespace

void add_dial_routes(State& st) {
    // POST /api/calls/dial {"number", "customer_id"?, "extension"?, "pbx"?}
    //   -> 202 {"status":"dialing","number","extension","pbx"}
    // Rings the caller's own phone, then calls `number` from it. Agents dial
    // from their own extension only; supervisors and admins may name one.
    // 400 names the bad field; 403 for an agent naming another extension;
    // 404 for an unknown customer_id; 503 when no PBX link can dial now.
    // The outcome follows on the WebSocket as `dial.result`.
    st.router.add(verb::post, "/api/calls/dial", Endpoint{Access::user, Role::agent, [&st](const ExchangePtr& ex) {
        auto parsed = json_body(ex);
        if (!parsed) return;
        const json& body = *parsed;
        for (const auto& [key, value] : body.items())
            if (key != "number" && key != "customer_id" && key != "extension" && key != "pbx")
                return reply_error(ex, http::status::bad_request, "invalid_argument", "unknown field '" + key + "'");
        std::string error;
        const auto number = text_field(body, "number", 64, error);
        const auto ext_field = text_field(body, "extension", 32, error);
        const auto pbx_field = text_field(body, "pbx", 64, error);
        if (error.empty() && number.empty()) error = "field 'number' is required";
        std::optional<std::int64_t> customer_id;
        if (auto it = body.find("customer_id"); error.empty() && it != body.end() && !it->is_null()) {
            if (!it->is_number_integer() || it->get<std::int64_t>() <= 0) error = "field 'customer_id' must be a positive whole number";
            else customer_id = it->get<std::int64_t>();
        }
        if (!error.empty()) return reply_error(ex, http::status::bad_request, "invalid_argument", error);
        auto e164 = st.phones.normalize(number);
        if (!e164) return reply_error(ex, http::status::bad_request, "invalid_argument", "field 'number' is not a phone number");

        const User& me = *ex->user;
        std::optional<Extension> ext = me.extension;
        if (!ext_field.empty()) {
            if (ext_field.find_first_not_of("0123456789*#+abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.") !=
                std::string::npos)
                return reply_error(ex, http::status::bad_request, "invalid_argument", "field 'extension' is not an extension");
            if (me.role == Role::agent && (!me.extension || me.extension->value() != ext_field))
                return reply_error(ex, http::status::forbidden, "forbidden", "agents dial from their own extension only");
            ext = Extension(ext_field);
        }
        if (!ext)
            return reply_error(ex, http::status::bad_request, "invalid_argument",
                        "field 'extension' is required: your user has no extension");
        if (customer_id && !st.storage.customer_context(*customer_id))
            return reply_error(ex, http::status::not_found, "not_found", "no such customer");

        Dialer* dialer = st.dialer.load();
        if (!dialer) return reply_error(ex, http::status::service_unavailable, "pbx_unavailable", "no PBX link can dial");
        DialRequest req{PbxId(pbx_field), *ext, e164->e164(), me.username};
        // The outcome comes on the PBX link's thread. The hub numbers a user's
        // messages in the order send() is called and a session drops a seq
        // lower than one it already has: only the engine strand sends, so
        // this goes through it like every other message.
        const auto started = dialer->dial(req, [&st, req, customer_id](const DialOutcome& o) {
            json msg = {{"type", "dial.result"}, {"ok", o.ok},        {"reason", o.reason},
                        {"number", req.number},  {"extension", req.extension.value()}};
            msg["customer_id"] = customer_id ? json(*customer_id) : json(nullptr);
            net::post(st.engine, [&st, to = req.agent, msg = std::move(msg)]() mutable { st.hub.send(to, std::move(msg)); });
        });
        switch (started) {
        case DialStart::accepted: break;
        case DialStart::no_pbx:
            return reply_error(ex, http::status::bad_request, "invalid_argument", "field 'pbx' names no PBX that can dial");
        case DialStart::link_down:
            return reply_error(ex, http::status::service_unavailable, "pbx_unavailable", "the PBX link is down; try again shortly");
        case DialStart::invalid:
            return reply_error(ex, http::status::bad_request, "invalid_argument", "the PBX cannot dial this request");
        }
        st.storage.audit(me.username.value(), "call.dial", ext->value(), now_ms());
        spdlog::info("dial: {} from extension {}", me.username.value(), ext->value());
        ex->respond(json_reply(ex->req, http::status::accepted,
                               {{"status", "dialing"},
                                {"number", req.number},
                                {"extension", ext->value()},
                                {"pbx", pbx_field.empty() ? json(nullptr) : json(pbx_field)}}));
    }});
}

}  // namespace ringside::server::detail
