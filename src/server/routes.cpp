// Every HTTP endpoint of docs/interface.md: one table, the endpoint written above
// each handler. Handlers translate between the wire and the core; the
// decisions (who may set a disposition, card masking, ...) live in the core.
#include <algorithm>
#include <initializer_list>

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

/// Reads typed fields from a JSON object; the first problem wins and names the field.
class Fields {
public:
    Fields(const json& j, std::initializer_list<std::string_view> allowed) : j_(j) {
        for (const auto& [key, value] : j.items()) {
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                problem("unknown field '" + key + "'");
                break;
            }
        }
    }

    std::string text(const char* name, bool required, std::size_t max_len) {
        auto it = j_.find(name);
        if (it == j_.end() || it->is_null()) {
            if (required) problem(std::string("field '") + name + "' is required");
            return {};
        }
        if (!it->is_string()) {
            problem(std::string("field '") + name + "' must be a string");
            return {};
        }
        auto s = it->get<std::string>();
        if (required && s.empty()) problem(std::string("field '") + name + "' must not be empty");
        if (s.size() > max_len)
            problem(std::string("field '") + name + "' is longer than " + std::to_string(max_len) + " bytes");
        return s;
    }

    std::vector<std::string> texts(const char* name, std::size_t max_items, std::size_t max_len) {
        std::vector<std::string> out;
        auto it = j_.find(name);
        if (it == j_.end() || it->is_null()) return out;
        if (!it->is_array()) {
            problem(std::string("field '") + name + "' must be an array of strings");
            return out;
        }
        if (it->size() > max_items) {
            problem(std::string("field '") + name + "' has more than " + std::to_string(max_items) + " items");
            return out;
        }
        for (std::size_t i = 0; i < it->size(); ++i) {
            const auto& v = (*it)[i];
            const auto label = std::string(name) + "[" + std::to_string(i) + "]";
            if (!v.is_string()) {
                problem("field '" + label + "' must be a string");
                return out;
            }
            if (v.get_ref<const std::string&>().size() > max_len) {
                problem("field '" + label + "' is longer than " + std::to_string(max_len) + " bytes");
                return out;
            }
            out.push_back(v.get<std::string>());
        }
        return out;
    }

    void problem(std::string message) {
        if (!error_) error_ = std::move(message);
    }
    const std::optional<std::string>& error() const { return error_; }

private:
    const json& j_;
    std::optional<std::string> error_;
};

std::optional<std::int64_t> parse_id(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

/// GET /api/calls and /api/calls.csv filters. An agent only ever sees calls they answered.
Result<CallFilter> call_filter(const State& st, const ExchangePtr& ex, bool with_limit) {
    CallFilter f;
    const auto& q = ex->query;
    if (auto it = q.find("since"); it != q.end()) {
        f.since = parse_iso(it->second);
        if (!f.since) return Failure{DomainError::invalid_argument, "'since' must be an ISO 8601 time"};
    }
    if (auto it = q.find("until"); it != q.end()) {
        f.until = parse_iso(it->second);
        if (!f.until) return Failure{DomainError::invalid_argument, "'until' must be an ISO 8601 time"};
    }
    if (auto it = q.find("agent"); it != q.end() && !it->second.empty()) f.agent = AgentId(it->second);
    if (auto it = q.find("status"); it != q.end()) {
        f.status = call_status_from_string(it->second);
        if (!f.status)
            return Failure{DomainError::invalid_argument,
                           "'status' must be one of ringing, answered, missed, abandoned, busy, failed"};
    }
    // "phone": the caller or the dialled number in any format a person types
    // ("0912 123 4567", "+98 912...", Persian digits), normalised as the
    // engine normalises the numbers it stores. What is not a possible number
    // (an internal extension such as "1001") is matched as its digits.
    if (auto it = q.find("phone"); it != q.end() && !it->second.empty()) {
        if (it->second.size() > 64) return Failure{DomainError::invalid_argument, "'phone' is longer than 64 bytes"};
        if (auto n = st.phones.normalize(it->second)) {
            f.phone = n->e164();
        } else {
            std::string digits;
            for (char ch : fold_digits(it->second))
                if (ch >= '0' && ch <= '9') digits.push_back(ch);
                else if (ch != ' ' && ch != '-' && ch != '.' && ch != '(' && ch != ')')
                    return Failure{DomainError::invalid_argument, "'phone' must be a phone number or an extension"};
            if (digits.empty())
                return Failure{DomainError::invalid_argument, "'phone' must be a phone number or an extension"};
            f.phone = std::move(digits);
        }
    }
    if (auto it = q.find("customer_id"); it != q.end()) {
        f.customer_id = parse_id(it->second);
        if (!f.customer_id) return Failure{DomainError::invalid_argument, "'customer_id' must be a customer id"};
    }
    if (with_limit) {
        if (auto it = q.find("limit"); it != q.end()) {
            auto n = parse_id(it->second);
            if (!n || *n < 1 || *n > 1000)
                return Failure{DomainError::invalid_argument, "'limit' must be a whole number from 1 to 1000"};
            f.limit = static_cast<std::size_t>(*n);
        }
    }
    if (auto bad = parse_call_log_params(q, f)) return Failure{DomainError::invalid_argument, *bad};
    if (ex->user->role == Role::agent) f.agent = ex->user->username;
    return f;
}

json filter_json(const CallFilter& f) {
    json j = json::object();
    if (f.since) j["since"] = format_iso(*f.since);
    if (f.until) j["until"] = format_iso(*f.until);
    if (f.agent) j["agent"] = f.agent->value();
    if (f.status) j["status"] = to_string(*f.status);
    if (f.customer_id) j["customer_id"] = *f.customer_id;
    if (f.phone) j["phone"] = *f.phone;
    if (f.direction) j["direction"] = to_string(*f.direction);
    if (f.queue) j["queue"] = *f.queue;
    if (f.text) j["q"] = *f.text;
    return j;
}

// ---------------------------------------------------------------- endpoints

/// The places one sign-in holds in the throttles (State::throttle_*), taken
/// before its password is checked and held while it is, so that concurrent
/// guesses count at once. Destroyed unfinished (the check never ran or
/// threw), it gives them back uncounted.
class LoginAttempt {
public:
    using Outcome = LoginThrottle::Outcome;

    LoginAttempt(State& st, std::string username, const net::ip::address& from)
        : st_(st), username_(std::move(username)), address_(from.to_string()),
          desk_key_(username_ + "\n" + address_), addr_key_(address_), user_key_(username_) {}
    LoginAttempt(const LoginAttempt&) = delete;
    LoginAttempt& operator=(const LoginAttempt&) = delete;
    ~LoginAttempt() { release(Outcome::abandoned, Outcome::abandoned); }

    /// Takes every place (returns 0) or none (returns the seconds to wait).
    std::chrono::seconds take() {
        if (auto wait = st_.throttle_desk.try_begin(desk_key_); wait.count() > 0) return wait;
        desk_ = true;
        if (auto wait = st_.throttle_addr.try_begin(addr_key_); wait.count() > 0) return give_back(wait);
        addr_ = true;
        // Guesses from elsewhere must not lock the owner out at their own desk.
        if (!st_.known_desks.known(username_, address_)) {
            if (auto wait = st_.throttle_user.try_begin(user_key_); wait.count() > 0) return give_back(wait);
            user_ = true;
        }
        return std::chrono::seconds(0);
    }

    void finish(bool ok) {
        // One user's success says nothing of the others behind the same address.
        release(ok ? Outcome::succeeded : Outcome::failed, ok ? Outcome::abandoned : Outcome::failed);
        if (ok) st_.known_desks.remember(username_, address_);
    }

private:
    std::chrono::seconds give_back(std::chrono::seconds wait) {
        release(Outcome::abandoned, Outcome::abandoned);
        return wait;
    }

    void release(Outcome own, Outcome address) {
        if (desk_) st_.throttle_desk.finish(desk_key_, own);
        if (addr_) st_.throttle_addr.finish(addr_key_, address);
        if (user_) st_.throttle_user.finish(user_key_, own);
        desk_ = addr_ = user_ = false;
    }

    State& st_;
    std::string username_, address_;
    std::string desk_key_, addr_key_, user_key_;
    bool desk_ = false, addr_ = false, user_ = false;
};

/// A sign-in of a name that is no local user's, against the company
/// directory (ServerOptions::directory): handed from the hashing pool to the
/// directory pool, whose threads may wait on the network. `creds`: the
/// stored row of that name, if any (a directory user signed in before).
void directory_login(State& st, const ExchangePtr& ex, std::shared_ptr<LoginAttempt> attempt, std::string username,
                     std::string password, std::optional<StoredCredentials> creds) {
    if (creds && creds->user.disabled) {  // disabled by an admin here: the directory is not asked
        attempt->finish(false);
        st.metrics.login_failed();
        return reply_error(ex, http::status::unauthorized, "invalid_credentials", "wrong username or password");
    }
    if (st.directory_queued.fetch_add(1) >= st.opt.login_queue_limit) {
        st.directory_queued.fetch_sub(1);
        auto rep = error_reply(ex->req, http::status::service_unavailable, "busy",
                               "too many sign-ins are being checked right now; try again in a second");
        rep.set(http::field::retry_after, "1");
        return ex->respond(std::move(rep));  // the attempt is given back uncounted
    }
    net::post(st.directory_pool, [&st, ex, attempt = std::move(attempt), username = std::move(username),
                                  password = std::move(password)] {
        struct Dequeued {
            State& st;
            ~Dequeued() { st.directory_queued.fetch_sub(1); }
        } dequeued{st};
        guarded(ex, "/api/login", [&] {
            using V = DirectoryAnswer::Verdict;
            const auto a = st.opt.directory->sign_in(username, password);
            if (a.verdict == V::unavailable) {
                spdlog::warn("ldap: the sign-in of {} could not be checked: {}", username, a.detail);
                auto rep = error_reply(ex->req, http::status::service_unavailable, "directory_unavailable",
                                       "the company directory cannot be reached; try again shortly");
                rep.set(http::field::retry_after, "5");
                return ex->respond(std::move(rep));  // not the user's fault: the attempt is given back
            }
            if (a.verdict != V::ok) {
                attempt->finish(false);
                st.metrics.login_failed();
                if (a.verdict == V::no_role) {
                    spdlog::info("ldap: {} signed in but may not use Ringside: {}", username, a.detail);
                    return reply_error(ex, http::status::forbidden, "no_role",
                                       "this directory account is in none of the groups that may use Ringside");
                }
                spdlog::debug("ldap: sign-in of {} refused: {}", username, a.detail);
                return reply_error(ex, http::status::unauthorized, "invalid_credentials", "wrong username or password");
            }
            User u;
            u.username = AgentId(username);
            u.name = a.name.empty() ? username : a.name;
            u.role = a.role;
            // The row keeps the extension an admin gave it and an admin's disable.
            auto stored = st.storage.upsert_directory_user(u, a.dn);
            if (!stored || stored->disabled) {
                attempt->finish(false);
                st.metrics.login_failed();
                return reply_error(ex, http::status::unauthorized, "invalid_credentials", "wrong username or password");
            }
            attempt->finish(true);
            const auto token = generate_token();
            const auto token_hash = sha256_hex(token);
            const auto now = now_ms();
            st.storage.create_session(token_hash, stored->username,
                                      now + std::chrono::duration_cast<std::chrono::milliseconds>(st.opt.session_ttl));
            directory_signed_in(st, token_hash, a.dn);
            st.storage.audit(username, "login", json{{"via", "directory"}, {"role", to_string(stored->role)}}.dump(), now);
            auto rep = json_reply(ex->req, http::status::ok, {{"token", token}, {"user", *stored}});
            rep.set(http::field::set_cookie, session_cookie(token, st.opt.session_ttl, st.opt.cookie_secure));
            ex->respond(std::move(rep));
        });
    });
}

void add_routes(State& st) {
    auto& r = st.router;
    const auto open = [](auto fn) { return Endpoint{Access::open, Role::agent, std::move(fn)}; };
    const auto user = [](Role role, auto fn) { return Endpoint{Access::user, role, std::move(fn)}; };

    // GET /healthz -> 200 {"status":"ok"}
    r.add(verb::get, "/healthz", open([](const ExchangePtr& ex) { reply(ex, http::status::ok, {{"status", "ok"}}); }));

    // GET /metrics: Prometheus text; anyone on loopback (when trusted), else admin only.
    r.add(verb::get, "/metrics", open([&st](const ExchangePtr& ex) {
        // A DNS-rebinding page reaches loopback too, but under its own host name:
        // only localhost, 127.0.0.1, [::1] and the listen host count as local.
        const bool local = ex->loopback && host_is_one_of(ex->req[http::field::host], st.metrics_hosts);
        if (!(st.opt.metrics_trust_loopback && local)) {
            auto u = authenticate(st, ex->req, false, nullptr);
            if (!u) return reply_error(ex, http::status::unauthorized, "unauthenticated", "sign in as an admin to read metrics");
            if (u->role != Role::admin) return reply_error(ex, http::status::forbidden, "forbidden", "metrics are for admins");
        }
        // The engine's counters are atomics: read here, never queued behind PBX events.
        guarded(ex, "/metrics", [&] {
            auto text = st.metrics.render(st.hub.stats(), st.calls.stats(), st.extra_metrics ? st.extra_metrics() : std::string());
            ex->respond(make_reply(ex->req, http::status::ok, std::move(text), "text/plain; version=0.0.4; charset=utf-8"));
        });
    }));

    // POST /api/login {"username","password"} -> 200 {"token","user"} + session cookie; 401; 429 when throttled.
    r.add(verb::post, "/api/login", open([&st](const ExchangePtr& ex) {
        auto body = json_body(ex);
        if (!body) return;
        Fields f(*body, {"username", "password"});
        auto username = f.text("username", true, 128);
        auto password = f.text("password", false, 1024);
        if (!body->contains("password")) f.problem("field 'password' is required");
        if (f.error()) return reply_invalid(ex, *f.error());
        // Usernames are lower case (local ones by rule, the directory's
        // case-insensitive): one user is one throttle key whatever the case typed.
        std::transform(username.begin(), username.end(), username.begin(),
                       [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
        auto attempt = std::make_shared<LoginAttempt>(st, username, ex->remote);
        if (const auto wait = attempt->take(); wait.count() > 0) {
            st.metrics.login_failed();
            auto rep = error_reply(ex->req, http::status::too_many_requests, "rate_limited",
                                   "too many failed sign-ins; try again in " + std::to_string(wait.count()) + " seconds");
            rep.set(http::field::retry_after, std::to_string(wait.count()));
            return ex->respond(std::move(rep));
        }
        // Argon2 takes tens of milliseconds and much memory: off the I/O
        // threads, in its own pool, and never an unbounded queue of it.
        if (st.hashing_queued.fetch_add(1) >= st.opt.login_queue_limit) {
            st.hashing_queued.fetch_sub(1);
            auto rep = error_reply(ex->req, http::status::service_unavailable, "busy",
                                   "too many sign-ins are being checked right now; try again in a second");
            rep.set(http::field::retry_after, "1");
            return ex->respond(std::move(rep));
        }
        net::post(st.hashing, [&st, ex, attempt, username = std::move(username), password = std::move(password)] {
            struct Dequeued {
                State& st;
                ~Dequeued() { st.hashing_queued.fetch_sub(1); }
            } dequeued{st};
            guarded(ex, "/api/login", [&] {
                // No password is wrong for everyone, and never reaches the
                // directory (where an empty one is an anonymous bind that succeeds).
                if (password.empty()) {
                    attempt->finish(false);
                    st.metrics.login_failed();
                    return reply_error(ex, http::status::unauthorized, "invalid_credentials",
                                       "wrong username or password");
                }
                auto creds = st.storage.find_credentials(AgentId(username));
                // A local user (with a password) signs in here, always; any
                // other name is the company directory's, when there is one.
                if (st.opt.directory && !(creds && !creds->directory_dn))
                    return directory_login(st, ex, attempt, username, std::move(password), std::move(creds));
                // Unknown users are checked against a dummy hash: same work, same answer.
                const bool password_ok = verify_password(password, creds ? creds->password_hash : st.dummy_hash());
                if (!creds || !password_ok || creds->user.disabled) {
                    attempt->finish(false);
                    st.metrics.login_failed();
                    return reply_error(ex, http::status::unauthorized, "invalid_credentials",
                                       "wrong username or password");
                }
                attempt->finish(true);
                const auto token = generate_token();
                const auto now = now_ms();
                st.storage.create_session(sha256_hex(token), creds->user.username,
                                          now + std::chrono::duration_cast<std::chrono::milliseconds>(st.opt.session_ttl));
                st.storage.audit(creds->user.username.value(), "login", json{{"address", ex->remote.to_string()}}.dump(), now);
                auto rep = json_reply(ex->req, http::status::ok, {{"token", token}, {"user", creds->user}});
                rep.set(http::field::set_cookie, session_cookie(token, st.opt.session_ttl, st.opt.cookie_secure));
                ex->respond(std::move(rep));
            });
        });
    }));

    // POST /api/logout -> 200 {"status":"ok"}; the session is deleted and the cookie cleared.
    r.add(verb::post, "/api/logout", user(Role::agent, [&st](const ExchangePtr& ex) {
        st.storage.delete_session(ex->token_hash);
        // The session's open sockets must stop receiving pops now.
        st.end_session(ex->token_hash, "signed out");
        auto rep = json_reply(ex->req, http::status::ok, {{"status", "ok"}});
        rep.set(http::field::set_cookie, expired_session_cookie(st.opt.cookie_secure));
        ex->respond(std::move(rep));
    }));

    // GET /api/me -> 200 {"user":{username,name,role,extension}}
    r.add(verb::get, "/api/me", user(Role::agent, [](const ExchangePtr& ex) {
        reply(ex, http::status::ok, {{"user", *ex->user}});
    }));

    // GET /api/pops/seq -> 200 {"seq":N}: the signed-in user's latest pop seq in this server process.
    // A new console tab takes it as its resume point, so a pop sent while its
    // first socket is down is replayed and nothing older pops again.
    r.add(verb::get, "/api/pops/seq", user(Role::agent, [&st](const ExchangePtr& ex) {
        reply(ex, http::status::ok, {{"seq", st.hub.latest_seq(ex->user->username)}});
    }));

    // GET /api/calls?since&until&agent&status&phone&customer_id&direction&queue&q&sort&order&after&limit
    //   -> 200 {"calls":[...],"next_cursor":"..."|null}, newest first unless sorted otherwise;
    //   `after=<next_cursor>` gives the next page (keyset paging).
    r.add(verb::get, "/api/calls", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto f = call_filter(st, ex, true);
        if (!f) return reply_failure(ex, f.failure());
        auto page = st.storage.list_call_page(f.value());
        reply(ex, http::status::ok,
              {{"calls", page.calls}, {"next_cursor", page.next ? json(encode_cursor(*page.next)) : json(nullptr)}});
    }));

    // GET /api/calls.csv (same filters, no limit) -> text/csv, chunked, header row. Supervisor and admin.
    r.add(verb::get, "/api/calls.csv", user(Role::supervisor, [&st](const ExchangePtr& ex) {
        auto f = call_filter(st, ex, false);
        if (!f) return reply_failure(ex, f.failure());
        st.storage.audit(ex->user->username.value(), "calls.export", filter_json(f.value()).dump(), now_ms());
        StreamHead head{http::status::ok, ex->req.version()};
        head.set(http::field::content_type, "text/csv; charset=utf-8");
        head.set(http::field::content_disposition, "attachment; filename=\"calls.csv\"");
        head.set(http::field::cache_control, "no-store");
        ex->stream(std::move(head), [&st, filter = f.value()](ChunkSink& sink) {
            constexpr std::size_t chunk_bytes = 32 * 1024;
            std::string buf = calls_csv_header();
            bool ok = true;
            st.storage.for_each_call(filter, [&](const CallRecord& c) {
                buf += calls_csv_row(c);
                if (buf.size() < chunk_bytes) return true;
                ok = sink.write(std::move(buf));
                buf.clear();
                return ok;
            });
            if (!ok) throw std::runtime_error("client went away during the export");
            sink.write(std::move(buf));
        });
    }));

    // POST /api/calls/{id}/disposition {"disposition","notes","previous"?} -> 200 {"call":record}.
    // The agent on the call or a supervisor; CallService decides, on the engine strand.
    // "previous" (the disposition the client last saw, "" for none) makes a
    // save from a second device that missed the first one a 409, not an overwrite.
    r.add(verb::post, "/api/calls/{id}/disposition", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto body = json_body(ex);
        if (!body) return;
        Fields f(*body, {"disposition", "notes", "previous"});
        auto disposition = f.text("disposition", true, 100);
        auto notes = f.text("notes", false, 4000);
        std::optional<std::string> previous;
        if (body->contains("previous")) previous = f.text("previous", false, 100);
        if (f.error()) return reply_invalid(ex, *f.error());
        net::post(st.engine, [&st, ex, id = CallId(ex->params[0]), disposition = std::move(disposition),
                              notes = std::move(notes), previous = std::move(previous)] {
            guarded(ex, "/api/calls/{id}/disposition", [&] {
                auto result = st.calls.set_disposition(*ex->user, id, disposition, notes, previous);
                if (!result) return reply_failure(ex, result.failure());
                reply(ex, http::status::ok, {{"call", result.value()}});
            });
        });
    }));

    // Customers, issues, interactions, import and export: routes_customers.cpp.
    add_customer_routes(st);

    // GET /ws without an upgrade: only the WebSocket handshake is served here.
    r.add(verb::get, "/ws", user(Role::agent, [](const ExchangePtr& ex) {
        reply_error(ex, http::status::upgrade_required, "upgrade_required", "/ws speaks WebSocket only");
    }));
}

}  // namespace

void build_routes(State& st) {
    add_routes(st);
    add_agent_state_routes(st);  // before the wallboard, which reads the states
    add_supervisor_routes(st);
    add_dial_routes(st);
    add_admin_routes(st);
}

}  // namespace ringside::server::detail
