#pragma once
// The route table: {path pattern -> {verb -> handler}}. A path that matches
// no pattern is a 404; a path that matches with a verb it lacks is a 405 with
// the verbs it has. Patterns are literal segments and `{name}` captures of
// one non-empty segment ("/api/calls/{id}/disposition").
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>

namespace ringside::server {

namespace http_verb = boost::beast::http;

/// Splits "/a/b/" into {"a","b",""}: a trailing slash is a distinct path.
std::vector<std::string_view> split_path(std::string_view path);

template <class Handler>
class Router {
public:
    struct Match {
        const Handler* handler = nullptr;      // null: 404 (no route) or 405 (see allow)
        std::string pattern;                   // the matching pattern (metrics label), "" when none
        std::vector<std::string> params;       // captures in order
        std::string allow;                     // "GET, POST" when the path matched but not the verb
    };

    /// Adds one endpoint; a pattern may be added once per verb.
    void add(http_verb::verb v, std::string pattern, Handler h) {
        for (auto& r : routes_)
            if (r.pattern == pattern) {
                r.verbs.emplace_back(v, std::move(h));
                return;
            }
        Route r;
        r.pattern = pattern;
        for (auto s : split_path(pattern)) r.segments.emplace_back(s);
        r.verbs.emplace_back(v, std::move(h));
        routes_.push_back(std::move(r));
    }

    /// The most specific pattern matching the path wins: the one with the
    /// fewest captures ("/api/calls/dial" before "/api/calls/{id}"), the
    /// first added among equals; its verbs decide between handler and 405.
    Match match(http_verb::verb v, std::string_view path) const {
        Match m;
        const auto segs = split_path(path);
        const Route* best = nullptr;
        std::vector<std::string> best_params;
        for (const auto& r : routes_) {
            std::vector<std::string> params;
            if (!matches(r, segs, params)) continue;
            if (!best || params.size() < best_params.size()) {
                best = &r;
                best_params = std::move(params);
            }
        }
        if (!best) return m;
        m.pattern = best->pattern;
        for (const auto& [verb, h] : best->verbs) {
            if (verb == v) {
                m.handler = &h;
                m.params = std::move(best_params);
                return m;
            }
        }
        for (const auto& [verb, h] : best->verbs) {
            if (!m.allow.empty()) m.allow += ", ";
            m.allow += std::string(http_verb::to_string(verb));
        }
        return m;
    }

private:
    struct Route {
        std::string pattern;
        std::vector<std::string> segments;
        std::vector<std::pair<http_verb::verb, Handler>> verbs;
    };
    static bool matches(const Route& r, const std::vector<std::string_view>& segs, std::vector<std::string>& params) {
        if (r.segments.size() != segs.size()) return false;
        for (std::size_t i = 0; i < segs.size(); ++i) {
            const auto& p = r.segments[i];
            if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
                if (segs[i].empty()) return false;
                params.emplace_back(segs[i]);
            } else if (p != segs[i]) {
                return false;
            }
        }
        return true;
    }
    std::vector<Route> routes_;
};

}  // namespace ringside::server
