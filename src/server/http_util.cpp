#include "ringside/server/http_util.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <boost/asio/ip/address.hpp>

#include <nlohmann/json.hpp>

#include "ringside/core/csv.hpp"
#include "ringside/server/router.hpp"

namespace ringside::server {

namespace http = boost::beast::http;

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    while (true) {
        const auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

http::status status_for(DomainError e) noexcept {
    switch (e) {
        case DomainError::invalid_argument: return http::status::bad_request;
        case DomainError::unauthenticated: return http::status::unauthorized;
        case DomainError::forbidden: return http::status::forbidden;
        case DomainError::not_found: return http::status::not_found;
        case DomainError::conflict: return http::status::conflict;
        case DomainError::rate_limited: return http::status::too_many_requests;
    }
    return http::status::internal_server_error;
}

std::string_view error_code_name(DomainError e) noexcept {
    switch (e) {
        case DomainError::invalid_argument: return "invalid_argument";
        case DomainError::unauthenticated: return "unauthenticated";
        case DomainError::forbidden: return "forbidden";
        case DomainError::not_found: return "not_found";
        case DomainError::conflict: return "conflict";
        case DomainError::rate_limited: return "rate_limited";
    }
    return "internal";
}

std::string error_body(std::string_view code, std::string_view message) {
    return nlohmann::json{{"error", code}, {"message", message}}.dump(-1, ' ', false,
                                                                      nlohmann::json::error_handler_t::replace);
}

namespace {
int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

std::optional<std::string> url_decode(std::string_view s, bool form) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            const int hi = hex_value(s[i + 1]);
            const int lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            const char d = static_cast<char>(hi * 16 + lo);
            if (d == '\0') return std::nullopt;
            out.push_back(d);
            i += 2;
        } else if (c == '+' && form) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return {target, {}};
    return {target.substr(0, q), target.substr(q + 1)};
}

std::optional<std::map<std::string, std::string>> parse_query(std::string_view query) {
    std::map<std::string, std::string> out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        auto key = url_decode(pair.substr(0, eq), true);
        auto value = url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
        if (!key || !value) return std::nullopt;
        out.try_emplace(std::move(*key), std::move(*value));
    }
    return out;
}

std::string csv_field(std::string_view v) {
    // The shared escaper defuses = + - @ (keeping E.164 numbers); a leading
    // TAB or CR is a formula prefix too for some spreadsheets.
    if (!v.empty() && (v.front() == '\t' || v.front() == '\r')) return csv::escape("'" + std::string(v));
    return csv::escape(v);
}

namespace {
constexpr std::array<std::string_view, 21> call_columns{
    "id",         "pbx",    "direction", "from",        "from_raw",    "to",       "customer_id",
    "agent",      "extension", "queue",  "status",      "started_at",  "answered_at", "ended_at",
    "wait_seconds", "talk_seconds", "disposition", "notes", "from_name",
    // issue 4, added at the end so existing column positions hold
    "hangup_by", "hangup_extension"};
}  // namespace

std::string calls_csv_header() {
    std::string s;
    for (std::size_t i = 0; i < call_columns.size(); ++i) {
        if (i) s.push_back(',');
        s.append(call_columns[i]);
    }
    s.append("\r\n");
    return s;
}

std::string calls_csv_row(const CallRecord& c) {
    const auto opt_time = [](const std::optional<Timestamp>& t) { return t ? format_iso(*t) : std::string(); };
    const std::array<std::string, call_columns.size()> v{
        c.id.value(),
        c.pbx.value(),
        std::string(to_string(c.direction)),
        c.from,
        c.from_raw,
        c.to,
        c.customer_id ? std::to_string(*c.customer_id) : std::string(),
        c.agent ? c.agent->value() : std::string(),
        c.extension ? c.extension->value() : std::string(),
        c.queue.value_or(std::string()),
        std::string(to_string(c.status)),
        format_iso(c.started_at),
        opt_time(c.answered_at),
        opt_time(c.ended_at),
        std::to_string(c.wait_seconds),
        std::to_string(c.talk_seconds),
        c.disposition,
        c.notes,
        c.from_name,
        c.hangup_by ? std::string(to_string(*c.hangup_by)) : std::string(),
        c.hangup_extension ? c.hangup_extension->value() : std::string()};
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) s.push_back(',');
        s.append(csv_field(v[i]));
    }
    s.append("\r\n");
    return s;
}

std::string_view mime_type(std::string_view f) noexcept {
    const auto dot = f.rfind('.');
    if (dot == std::string_view::npos) return "application/octet-stream";
    const auto ext = f.substr(dot + 1);
    if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
    if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
    if (ext == "css") return "text/css; charset=utf-8";
    if (ext == "json") return "application/json";
    if (ext == "svg") return "image/svg+xml";
    if (ext == "png") return "image/png";
    if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
    if (ext == "ico") return "image/x-icon";
    if (ext == "woff2") return "font/woff2";
    if (ext == "txt") return "text/plain; charset=utf-8";
    if (ext == "webmanifest") return "application/manifest+json";
    return "application/octet-stream";
}

std::optional<std::filesystem::path> static_file_path(const std::filesystem::path& root, std::string_view url_path) {
    if (url_path.empty() || url_path.front() != '/') return std::nullopt;
    std::filesystem::path rel;
    const auto segs = split_path(url_path);
    for (std::size_t i = 0; i < segs.size(); ++i) {
        const auto seg = segs[i];
        if (seg.empty()) {
            // "/" and "/dir/" name the index; an empty segment elsewhere ("a//b") is refused.
            if (i + 1 != segs.size()) return std::nullopt;
            rel /= "index.html";
            break;
        }
        // No "..", no hidden files, no separators or NULs smuggled in by decoding.
        if (seg.front() == '.' || seg.find_first_of("\\/:") != std::string_view::npos ||
            seg.find('\0') != std::string_view::npos)
            return std::nullopt;
        rel /= std::string(seg);
    }
    return root / rel;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

namespace {
std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}
}  // namespace

std::optional<std::string> normalize_origin(std::string_view origin) {
    const auto o = lower(origin);
    std::string scheme;
    if (o.starts_with("http://")) scheme = "http";
    else if (o.starts_with("https://")) scheme = "https";
    else return std::nullopt;
    std::string authority = o.substr(scheme.size() + 3);
    if (authority.empty() || authority.find_first_of("/?#@ \t") != std::string::npos) return std::nullopt;
    const std::string default_port = scheme == "http" ? ":80" : ":443";
    if (authority.ends_with(default_port)) authority.resize(authority.size() - default_port.size());
    if (authority.empty() || authority.back() == ':') return std::nullopt;
    return scheme + "://" + authority;
}

bool origin_allowed(std::string_view origin, std::string_view scheme, std::string_view host,
                    const std::vector<std::string>& allowed) {
    const auto o = normalize_origin(origin);
    if (!o) return false;
    if (!host.empty() && normalize_origin(std::string(scheme) + "://" + std::string(host)) == o) return true;
    return std::any_of(allowed.begin(), allowed.end(), [&](const std::string& a) { return normalize_origin(a) == o; });
}

bool is_json_content_type(std::string_view content_type) noexcept {
    return iequals(trim(content_type.substr(0, content_type.find(';'))), "application/json");
}

}  // namespace ringside::server
