#pragma once
// Pure HTTP helpers the sessions and routes share, testable without sockets.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/status.hpp>

#include "ringside/core/errors.hpp"
#include "ringside/core/model.hpp"

namespace ringside::server {

/// The one place a domain failure becomes an HTTP status.
boost::beast::http::status status_for(DomainError e) noexcept;
/// Machine code of the error body ("invalid_argument", "not_found", ...).
std::string_view error_code_name(DomainError e) noexcept;
/// {"error": code, "message": message} as text.
std::string error_body(std::string_view code, std::string_view message);

/// Percent-decodes; '+' becomes ' ' when form is true (query strings).
/// nullopt on a malformed escape or a decoded NUL.
std::optional<std::string> url_decode(std::string_view s, bool form);

/// Splits a target into path and query ("/a?b=1" -> "/a", "b=1").
std::pair<std::string_view, std::string_view> split_target(std::string_view target);
/// "a=1&b=x%20y" -> {a:1, b:"x y"}; the first of repeated keys wins; nullopt on a malformed escape.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

/// RFC 4180 field: quoted when it holds a comma, quote, CR or LF (quotes
/// doubled). A field starting with = + - @ TAB or CR gets a leading
/// apostrophe so spreadsheets do not run it as a formula.
std::string csv_field(std::string_view v);
/// Header row of the calls export, CRLF-terminated.
std::string calls_csv_header();
/// One call as a CSV row, CRLF-terminated, in the header's column order.
std::string calls_csv_row(const CallRecord& c);

/// Content-Type for a file name by extension; application/octet-stream when unknown.
std::string_view mime_type(std::string_view filename) noexcept;

/// The file under `root` that a decoded URL path names ("/" -> index.html),
/// or nullopt when the path tries to leave root (.., backslash, NUL, hidden
/// dot segments) or is not a plain relative path.
std::optional<std::filesystem::path> static_file_path(const std::filesystem::path& root, std::string_view url_path);

/// ASCII case-insensitive equality (header names, schemes, media types).
bool iequals(std::string_view a, std::string_view b) noexcept;
/// `s` without leading and trailing spaces and tabs (HTTP's optional white space).
std::string_view trim(std::string_view s) noexcept;

/// An origin as browsers send it ("HTTPS://Host:443") in a comparable form:
/// lower case, the scheme's default port dropped ("https://host").
/// nullopt for anything but http(s)://host[:port] ("null", a path, userinfo).
std::optional<std::string> normalize_origin(std::string_view origin);

/// Whether a browser's Origin may act with the session cookie: it is the
/// service's own origin (`scheme` "http" or "https" plus the request's Host
/// header) or one of `allowed` (each as written in [server] allowed_origins).
bool origin_allowed(std::string_view origin, std::string_view scheme, std::string_view host,
                    const std::vector<std::string>& allowed);

/// True when a Content-Type header names application/json (any parameters,
/// any case).
bool is_json_content_type(std::string_view content_type) noexcept;

}  // namespace ringside::server
