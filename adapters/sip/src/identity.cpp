#include "ringside/sip/identity.hpp"

#include "ringside/core/ascii.hpp"
#include "ringside/core/phone.hpp"
#include "ringside/sip/grammar.hpp"

namespace ringside::sip {

namespace {

bool contains_token(std::string_view list, std::string_view token) {
    for (auto piece : split_list(list)) {
        // Privacy uses ';' between values (RFC 3323); accept ',' too.
        std::size_t start = 0;
        while (start <= piece.size()) {
            auto end = piece.find(';', start);
            auto v = piece.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
            while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
            if (iequals(v, token)) return true;
            if (end == std::string_view::npos) break;
            start = end + 1;
        }
    }
    return false;
}

bool anonymous_uri(std::string_view uri) {
    return is_withheld_number(uri_user(uri)) || iequals(uri_host(uri), "anonymous.invalid");
}

/// An anonymous caller: the From's masked text is kept (for `from_raw`),
/// a real number in it is not.
CallerIdentity anonymous_caller(const Message& m) {
    CallerIdentity id;
    id.anonymous = true;
    if (auto from = parse_name_addr(m.get("from"))) {
        auto user = uri_user(from->uri);
        if (!user.empty() && is_withheld_number(user)) id.number = std::move(user);
    }
    return id;
}

}  // namespace

CallerIdentity caller_identity(const Message& m) {
    CallerIdentity id;
    auto privacy = m.get("privacy");
    if (contains_token(privacy, "id") || contains_token(privacy, "user") || contains_token(privacy, "header"))
        return anonymous_caller(m);
    for (const auto& h : m.headers) {
        if (h.key != "p-asserted-identity") continue;
        auto list = parse_name_addr_list(h.value);
        if (!list || list->empty()) continue;
        const NameAddr* pick = &list->front();
        for (const auto& na : *list)
            if (na.uri.size() > 4 && iequals(std::string_view(na.uri).substr(0, 4), "tel:")) pick = &na;
        id.number = uri_user(pick->uri);
        id.name = pick->display;
        if (id.name.empty())
            for (const auto& na : *list)
                if (!na.display.empty()) id.name = na.display;
        if (!id.number.empty()) return id;
    }
    for (const auto& h : m.headers) {
        if (h.key != "remote-party-id") continue;
        auto list = parse_name_addr_list(h.value);
        if (!list) continue;
        for (const auto& na : *list) {
            auto party = na.param("party");
            if (party && !iequals(*party, "calling")) continue;
            auto priv = na.param("privacy");
            if (priv && !iequals(*priv, "off") && !priv->empty()) return anonymous_caller(m);
            id.number = uri_user(na.uri);
            id.name = na.display;
            if (!id.number.empty()) return id;
        }
    }
    if (auto from = parse_name_addr(m.get("from"))) {
        if (anonymous_uri(from->uri)) return anonymous_caller(m);
        id.number = uri_user(from->uri);
        id.name = from->display;
        if (iequals(id.name, "anonymous")) id.name.clear();
    }
    return id;
}

DiversionInfo diversion(const Message& m) {
    DiversionInfo d;
    std::vector<NameAddr> entries;
    for (const auto& h : m.headers) {
        if (h.key != "diversion") continue;
        if (auto list = parse_name_addr_list(h.value))
            for (auto& na : *list) entries.push_back(std::move(na));
    }
    if (!entries.empty()) {
        for (const auto& na : entries) d.diverted_by.push_back(uri_user(na.uri));
        d.original_called = uri_user(entries.back().uri);
        d.reason = entries.front().param("reason").value_or("");
        return d;
    }
    for (const auto& h : m.headers) {
        if (h.key != "history-info") continue;
        if (auto list = parse_name_addr_list(h.value))
            for (auto& na : *list) entries.push_back(std::move(na));
    }
    if (entries.size() >= 2) {  // one entry: not diverted
        for (std::size_t i = 0; i + 1 < entries.size(); ++i) d.diverted_by.push_back(uri_user(entries[i].uri));
        // The entry with index "1" is the original target; fall back to the first.
        const NameAddr* first = &entries.front();
        for (const auto& na : entries)
            if (na.param("index").value_or("") == "1") first = &na;
        d.original_called = uri_user(first->uri);
        auto cause_at = entries.back().uri.find("cause=");
        if (cause_at != std::string::npos) {
            auto c = std::string_view(entries.back().uri).substr(cause_at + 6);
            d.reason = std::string(c.substr(0, c.find_first_of(";&>")));
        }
    }
    return d;
}

std::string called_user(const Message& m) {
    auto user = uri_user(m.uri);
    if (!user.empty()) return user;
    if (auto to = parse_name_addr(m.get("to"))) return uri_user(to->uri);
    return {};
}

std::optional<ReplacesInfo> replaces(const Message& m) {
    const auto* h = m.find("replaces");
    if (!h) return std::nullopt;
    auto trim = [](std::string_view v) {
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        return v;
    };
    std::string_view v = h->value;
    ReplacesInfo r;
    auto semi = v.find(';');
    r.call_id = std::string(trim(v.substr(0, semi)));
    while (semi != std::string_view::npos) {
        v.remove_prefix(semi + 1);
        semi = v.find(';');
        auto param = trim(v.substr(0, semi));
        auto eq = param.find('=');
        auto key = trim(param.substr(0, eq));
        auto value = eq == std::string_view::npos ? std::string_view{} : trim(param.substr(eq + 1));
        if (iequals(key, "to-tag")) r.to_tag = std::string(value);
        else if (iequals(key, "from-tag")) r.from_tag = std::string(value);
        else if (iequals(key, "early-only")) r.early_only = true;
    }
    if (r.call_id.empty() || r.to_tag.empty() || r.from_tag.empty() || r.call_id.size() > 256) return std::nullopt;
    return r;
}

std::string referred_by(const Message& m) {
    auto na = parse_name_addr(m.get("referred-by"));
    if (!na) return {};
    auto user = uri_user(na->uri);
    return user.size() > 64 ? std::string() : user;
}

}  // namespace ringside::sip
