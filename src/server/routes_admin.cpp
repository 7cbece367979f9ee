// The administrator's endpoints (docs/interface.md "Administration") and the
// webhook door. PBX connections go to the PbxControl the app installed;
// users and the audit log go to Storage. Every change is audited; no answer
// ever carries a secret or a password hash.
#include <algorithm>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ringside/core/password.hpp"
#include "ringside/core/time.hpp"
#include "ringside/server/http_util.hpp"
#include "route_answers.hpp"
#include "server_state.hpp"

namespace ringside::server::detail {
namespace {

using json = nlohmann::json;
using http::verb;

/// The first problem with a body, naming the field.
std::optional<std::string> unknown_field(const json& j, std::initializer_list<std::string_view> allowed) {
    for (const auto& [key, value] : j.items())
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) return "unknown field '" + key + "'";
    return std::nullopt;
}

std::optional<std::string> string_field(const json& j, const char* name, std::size_t max, std::string& out,
                                        bool required) {
    auto it = j.find(name);
    if (it == j.end() || it->is_null()) {
        if (required) return std::string("field '") + name + "' is required";
        return std::nullopt;
    }
    if (!it->is_string()) return std::string("field '") + name + "' must be a string";
    out = it->get<std::string>();
    if (out.size() > max) return std::string("field '") + name + "' is longer than " + std::to_string(max) + " bytes";
    if (required && out.empty()) return std::string("field '") + name + "' must not be empty";
    return std::nullopt;
}

bool username_ok(const std::string& u) {
    return !u.empty() && u.size() <= 64 && u.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string::npos;
}

bool extension_ok(const std::string& e) {
    return !e.empty() && e.size() <= 32 &&
           e.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos;
}

json user_view(const User& u) {
    json j = u;
    j["disabled"] = u.disabled;
    return j;
}

std::optional<std::int64_t> whole_number(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

}  // namespace

bool try_webhook(State& st, const ExchangePtr& ex) {
    if (!st.pbx_control) return false;
    try {
        auto header = [&](const char* name) -> std::string_view {
            auto it = ex->req.find(name);
            return it == ex->req.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
        };
        auto answer = st.pbx_control->webhook(ex->path, header("X-Ringside-Timestamp"), header("X-Ringside-Signature"),
                                              ex->req.body());
        if (!answer) return false;
        const auto status = static_cast<http::status>(answer->status);
        if (answer->status == 200) reply(ex, status, {{"status", answer->code}});
        else reply_error(ex, status, answer->code, answer->message);
    } catch (const std::exception& e) {
        spdlog::error("http: webhook {} failed: {}", ex->path, e.what());
        reply_error(ex, http::status::internal_server_error, "internal", "internal server error");
    }
    return true;
}

void add_admin_routes(State& st) {
    auto& r = st.router;
    const auto admin = [](auto fn) { return Endpoint{Access::user, Role::admin, std::move(fn)}; };
    const auto control = [&st](const ExchangePtr& ex) -> PbxControl* {
        if (!st.pbx_control)
            reply_error(ex, http::status::service_unavailable, "unavailable", "PBX connections are not managed here");
        return st.pbx_control.get();
    };

    // GET /api/admin/pbx -> 200 {"connections":[...]} with live state; never a secret.
    r.add(verb::get, "/api/admin/pbx", admin([control](const ExchangePtr& ex) {
        if (auto* c = control(ex)) reply(ex, http::status::ok, c->list());
    }));

    // POST /api/admin/pbx {"id","type",...settings} -> 201 {"connection":view}; stored and started.
    r.add(verb::post, "/api/admin/pbx", admin([control](const ExchangePtr& ex) {
        auto* c = control(ex);
        if (!c) return;
        auto body = json_body(ex);
        if (!body) return;
        auto result = c->add(*body, ex->user->username.value());
        if (!result) return reply_failure(ex, result.failure());
        reply(ex, http::status::created, {{"connection", result.value()}});
    }));

    // PATCH /api/admin/pbx/{id} {"enabled":bool} -> 200 {"connection":view}; takes effect now.
    // With any other field of POST (not id or type), a database connection's
    // settings change and its link restarts with them; "" keeps a secret.
    r.add(verb::patch, "/api/admin/pbx/{id}", admin([control](const ExchangePtr& ex) {
        auto* c = control(ex);
        if (!c) return;
        auto body = json_body(ex);
        if (!body) return;
        if (body->empty()) return reply_invalid(ex, "nothing to change: send 'enabled' or connection settings");
        const bool only_enabled = body->size() == 1 && body->contains("enabled");
        if (!only_enabled) {
            auto result = c->update(ex->params[0], *body, ex->user->username.value());
            if (!result) return reply_failure(ex, result.failure());
            return reply(ex, http::status::ok, {{"connection", result.value()}});
        }
        auto it = body->find("enabled");
        if (!it->is_boolean()) return reply_invalid(ex, "field 'enabled' must be true or false");
        auto result = c->set_enabled(ex->params[0], it->get<bool>(), ex->user->username.value());
        if (!result) return reply_failure(ex, result.failure());
        reply(ex, http::status::ok, {{"connection", result.value()}});
    }));

    // DELETE /api/admin/pbx/{id} -> 200 {"removed":id}: a database connection
    // stops and goes; the audit log keeps what it was. Its calls stay logged.
    r.add(verb::delete_, "/api/admin/pbx/{id}", admin([control](const ExchangePtr& ex) {
        auto* c = control(ex);
        if (!c) return;
        auto result = c->remove(ex->params[0], ex->user->username.value());
        if (!result) return reply_failure(ex, result.failure());
        reply(ex, http::status::ok, result.value());
    }));

    // POST /api/admin/pbx/{id}/test -> 200 {"ok","state","message"} after one real connect and login.
    r.add(verb::post, "/api/admin/pbx/{id}/test", admin([control](const ExchangePtr& ex) {
        auto* c = control(ex);
        if (!c) return;
        c->test(ex->params[0], [ex](Result<json> result) {
            guarded(ex, "/api/admin/pbx/{id}/test", [&] {
                if (!result) return reply_failure(ex, result.failure());
                reply(ex, http::status::ok, result.value());
            });
        });
    }));

    // GET /api/admin/users -> 200 {"users":[{username,name,role,extension,disabled}]}
    r.add(verb::get, "/api/admin/users", admin([&st](const ExchangePtr& ex) {
        json users = json::array();
        for (const auto& u : st.storage.list_users()) users.push_back(user_view(u));
        reply(ex, http::status::ok, {{"users", users}});
    }));

    // POST /api/admin/users {"username","name","role","extension","password"} -> 201 {"user"}
    r.add(verb::post, "/api/admin/users", admin([&st](const ExchangePtr& ex) {
        auto body = json_body(ex);
        if (!body) return;
        if (auto bad = unknown_field(*body, {"username", "name", "role", "extension", "password"}))
            return reply_invalid(ex, *bad);
        std::string username, name, role, extension, password;
        std::optional<std::string> bad;
        if (!bad) bad = string_field(*body, "username", 64, username, true);
        if (!bad) bad = string_field(*body, "name", 200, name, false);
        if (!bad) bad = string_field(*body, "role", 20, role, true);
        if (!bad) bad = string_field(*body, "extension", 32, extension, false);
        if (!bad) bad = string_field(*body, "password", 1024, password, true);
        if (!bad && !username_ok(username)) bad = "field 'username' must be 1 to 64 of a-z 0-9 . _ -";
        if (!bad && !role_from_string(role)) bad = "field 'role' must be agent, supervisor or admin";
        if (!bad && !extension.empty() && !extension_ok(extension))
            bad = "field 'extension' must be 1 to 32 letters, digits or . _ -";
        if (!bad && password.size() < 8) bad = "field 'password' must be at least 8 characters";
        if (bad) return reply_invalid(ex, *bad);
        User u;
        u.username = AgentId(username);
        u.name = name.empty() ? username : name;
        u.role = *role_from_string(role);
        if (!extension.empty()) u.extension = Extension(extension);
        // Argon2 is slow on purpose: off the I/O threads.
        net::post(st.blocking, [&st, ex, u, password = std::move(password)] {
            guarded(ex, "/api/admin/users", [&] {
                try {
                    User created = u;
                    created.id = st.storage.create_user(u, hash_password(password));
                    st.storage.audit(ex->user->username.value(), "user.create",
                                     json{{"username", u.username.value()}, {"role", std::string(to_string(u.role))},
                                          {"extension", u.extension ? json(u.extension->value()) : json(nullptr)}}
                                         .dump(),
                                     now_ms());
                    reply(ex, http::status::created, {{"user", user_view(created)}});
                } catch (const StorageConflict&) {
                    reply_error(ex, http::status::conflict, "conflict", "username '" + u.username.value() + "' is taken");
                }
            });
        });
    }));

    // PATCH /api/admin/users/{username} {"name","role","extension","disabled"} -> 200 {"user"}
    // Disabling ends the user's sessions at once. An admin cannot disable or demote themselves.
    r.add(verb::patch, "/api/admin/users/{username}", admin([&st](const ExchangePtr& ex) {
        auto body = json_body(ex);
        if (!body) return;
        if (auto bad = unknown_field(*body, {"name", "role", "extension", "disabled"})) return reply_invalid(ex, *bad);
        UserChange ch;
        json detail = {{"username", ex->params[0]}};
        std::optional<std::string> bad;
        std::string text;
        if (body->contains("name")) {
            bad = string_field(*body, "name", 200, text, true);
            ch.name = text;
            detail["name"] = text;
        }
        if (!bad && body->contains("role")) {
            bad = string_field(*body, "role", 20, text, true);
            if (!bad && !role_from_string(text)) bad = "field 'role' must be agent, supervisor or admin";
            if (!bad) ch.role = role_from_string(text);
            detail["role"] = text;
        }
        if (!bad && body->contains("extension")) {
            const auto& e = (*body)["extension"];
            if (e.is_null() || (e.is_string() && e.get<std::string>().empty())) {
                ch.extension.emplace(std::nullopt);
                detail["extension"] = nullptr;
            } else if (!e.is_string() || !extension_ok(e.get<std::string>())) {
                bad = "field 'extension' must be 1 to 32 letters, digits or . _ - (or null to clear it)";
            } else {
                ch.extension.emplace(Extension(e.get<std::string>()));
                detail["extension"] = e;
            }
        }
        if (!bad && body->contains("disabled")) {
            const auto& d = (*body)["disabled"];
            if (!d.is_boolean()) bad = "field 'disabled' must be true or false";
            else ch.disabled = d.get<bool>();
            detail["disabled"] = d;
        }
        if (bad) return reply_invalid(ex, *bad);
        const bool self = ex->params[0] == ex->user->username.value();
        if (self && ((ch.disabled && *ch.disabled) || (ch.role && *ch.role != Role::admin)))
            return reply_error(ex, http::status::conflict, "conflict",
                               "you cannot disable or demote yourself; another admin can");
        if (!st.storage.update_user(AgentId(ex->params[0]), ch))
            return reply_error(ex, http::status::not_found, "not_found", "no such user");
        const char* action = ch.disabled ? (*ch.disabled ? "user.disable" : "user.enable") : "user.update";
        st.storage.audit(ex->user->username.value(), action, detail.dump(), now_ms());
        // Open consoles of a disabled or re-roled user close now, not at their next reconnect.
        if (ch.disabled && *ch.disabled) st.hub.disconnect(AgentId(ex->params[0]), "your account was disabled");
        else if (ch.role) st.hub.disconnect(AgentId(ex->params[0]), "your role changed: sign in again");
        auto u = st.storage.find_user(AgentId(ex->params[0]));
        if (!u) return reply_error(ex, http::status::not_found, "not_found", "no such user");
        reply(ex, http::status::ok, {{"user", user_view(*u)}});
    }));

    // POST /api/admin/users/{username}/password {"password"} -> 200 {"status":"ok"}; their sessions end.
    r.add(verb::post, "/api/admin/users/{username}/password", admin([&st](const ExchangePtr& ex) {
        auto body = json_body(ex);
        if (!body) return;
        if (auto bad = unknown_field(*body, {"password"})) return reply_invalid(ex, *bad);
        std::string password;
        auto bad = string_field(*body, "password", 1024, password, true);
        if (!bad && password.size() < 8) bad = "field 'password' must be at least 8 characters";
        if (bad) return reply_invalid(ex, *bad);
        net::post(st.blocking, [&st, ex, password = std::move(password)] {
            guarded(ex, "/api/admin/users/{username}/password", [&] {
                UserChange ch;
                ch.password_hash = hash_password(password);
                if (!st.storage.update_user(AgentId(ex->params[0]), ch))
                    return reply_error(ex, http::status::not_found, "not_found", "no such user");
                st.storage.audit(ex->user->username.value(), "user.password_reset",
                                 json{{"username", ex->params[0]}}.dump(), now_ms());
                st.hub.disconnect(AgentId(ex->params[0]), "your password was reset: sign in again");
                reply(ex, http::status::ok, {{"status", "ok"}});
            });
        });
    }));

    // GET /api/admin/audit?before=ID&limit=N -> 200 {"entries":[{id,at,actor,action,detail}],"next_before":ID|null}
    r.add(verb::get, "/api/admin/audit", admin([&st](const ExchangePtr& ex) {
        std::optional<std::int64_t> before;
        std::size_t limit = 50;
        if (auto it = ex->query.find("before"); it != ex->query.end()) {
            before = whole_number(it->second);
            if (!before) return reply_invalid(ex, "'before' must be an audit entry id");
        }
        if (auto it = ex->query.find("limit"); it != ex->query.end()) {
            auto n = whole_number(it->second);
            if (!n || *n < 1 || *n > 500) return reply_invalid(ex, "'limit' must be a whole number from 1 to 500");
            limit = static_cast<std::size_t>(*n);
        }
        auto entries = st.storage.list_audit(before, limit);
        json list = json::array();
        for (const auto& e : entries)
            list.push_back({{"id", e.id}, {"at", format_iso(e.at)}, {"actor", e.actor}, {"action", e.action},
                            {"detail", e.detail}});
        json next = entries.size() == limit && !entries.empty() ? json(entries.back().id) : json(nullptr);
        reply(ex, http::status::ok, {{"entries", list}, {"next_before", next}});
    }));
}

}  // namespace ringside::server::detail
