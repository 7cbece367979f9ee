#pragma once
// The answers every route file gives (routes.cpp, routes_admin.cpp,
// routes_customers.cpp, routes_supervisor.cpp): JSON replies, the error
// envelope, 500 on a throw (detail logged, not sent), and the JSON-object body.
#include <chrono>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "ringside/core/time.hpp"
#include "ringside/server/http_util.hpp"
#include "server_state.hpp"

namespace ringside::server::detail {

inline void reply(const ExchangePtr& ex, http::status status, const nlohmann::json& body) {
    ex->respond(json_reply(ex->req, status, body));
}

inline void reply_error(const ExchangePtr& ex, http::status status, std::string_view code, std::string_view message) {
    ex->respond(error_reply(ex->req, status, code, message));
}

inline void reply_failure(const ExchangePtr& ex, const Failure& f) {
    reply_error(ex, status_for(f.code), error_code_name(f.code), f.message);
}

inline void reply_invalid(const ExchangePtr& ex, std::string_view message) {
    reply_error(ex, http::status::bad_request, "invalid_argument", message);
}

inline void reply_internal(const ExchangePtr& ex, std::string_view where, const std::exception& e) {
    spdlog::error("http: {} failed: {}", where, e.what());
    reply_error(ex, http::status::internal_server_error, "internal", "internal server error");
}

/// A report's `since` and `until` (ISO 8601, until after since, at most 366
/// days apart) from the query, or an answered 400 naming what is wrong.
struct ReportRange {
    Timestamp since{}, until{};
};
inline std::optional<ReportRange> report_range(const ExchangePtr& ex) {
    const auto refuse = [&](std::string_view why) -> std::optional<ReportRange> {
        reply_invalid(ex, why);
        return std::nullopt;
    };
    const auto& p = ex->query;
    auto since = p.find("since");
    auto until = p.find("until");
    if (since == p.end() || until == p.end()) return refuse("'since' and 'until' are required");
    auto s = parse_iso(since->second);
    if (!s) return refuse("'since' must be an ISO 8601 time");
    auto u = parse_iso(until->second);
    if (!u) return refuse("'until' must be an ISO 8601 time");
    if (*u <= *s) return refuse("'until' must be after 'since'");
    if (*u - *s > std::chrono::hours(24 * 366)) return refuse("'since' to 'until' spans more than 366 days");
    return ReportRange{*s, *u};
}

/// Runs fn, answering 500 (detail logged, not sent) if it throws, or 503
/// when the database cannot be reached now (the client may try again). For
/// work that runs away from the session (engine strand, blocking pool).
template <class Fn>
void guarded(const ExchangePtr& ex, std::string_view where, Fn&& fn) {
    try {
        fn();
    } catch (const StorageUnavailable& e) {
        spdlog::warn("http: {}: {}", where, e.what());
        reply_error(ex, http::status::service_unavailable, "database_unavailable",
                    "the database cannot be reached; try again in a few seconds");
    } catch (const std::exception& e) {
        reply_internal(ex, where, e);
    }
}

/// The body as a JSON object, or an answered 400 "invalid_json" (415 when a
/// body comes as anything but application/json: a cross-site form or
/// text/plain fetch cannot send that type without the browser asking first).
inline std::optional<nlohmann::json> json_body(const ExchangePtr& ex) {
    if (!ex->req.body().empty() && !is_json_content_type(ex->req[http::field::content_type])) {
        reply_error(ex, http::status::unsupported_media_type, "unsupported_media_type",
                    "the request body must be sent as Content-Type: application/json");
        return std::nullopt;
    }
    auto j = nlohmann::json::parse(ex->req.body(), nullptr, false);
    if (j.is_discarded()) {
        reply_error(ex, http::status::bad_request, "invalid_json", "the request body is not valid JSON");
        return std::nullopt;
    }
    if (!j.is_object()) {
        reply_error(ex, http::status::bad_request, "invalid_json", "the request body must be a JSON object");
        return std::nullopt;
    }
    return j;
}

}  // namespace ringside::server::detail
