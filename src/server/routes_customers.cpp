// The customer file's endpoints: customers (search, file, edit, removal),
// their timeline, issues with history, CSV import and export, and a
// customer's data on request (the whole file as JSON, erasure). Handlers only
// translate; the rules (fields, roles, diffs, folding) live in
// core/customers.hpp.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "ringside/core/customers.hpp"
#include "ringside/core/privacy.hpp"
#include "ringside/core/time.hpp"
#include "ringside/server/http_util.hpp"
#include "ringside/storage/customer_import.hpp"
#include "route_answers.hpp"
#include "server_state.hpp"

namespace ringside::server::detail {
namespace {

using json = nlohmann::json;
using http::verb;

void reply_not_found(const ExchangePtr& ex, std::string_view what) {
    reply_error(ex, http::status::not_found, "not_found", std::string("no such ") + std::string(what));
}
void reply_problem(const ExchangePtr& ex, const FieldProblem& p) {
    if (p.forbidden) return reply_error(ex, http::status::forbidden, "forbidden", p.message);
    reply_invalid(ex, p.message);
}

/// An erased file is anonymised for good: nothing may write it again or bring it back.
void reply_erased(const ExchangePtr& ex) {
    reply_error(ex, http::status::conflict, "conflict",
                "the customer was erased on request: the file is anonymised for good and cannot be changed or restored");
}

/// The one field of a removal or an erasure: {"reason": 1 to 500 bytes, not blank}.
std::optional<std::string> reason_of(const ExchangePtr& ex, const json& body) {
    auto it = body.find("reason");
    if (body.size() != 1 || it == body.end() || !it->is_string() ||
        it->get_ref<const std::string&>().find_first_not_of(" \t\r\n") == std::string::npos ||
        it->get_ref<const std::string&>().size() > 500) {
        reply_invalid(ex, "field 'reason' is required (1 to 500 bytes) and is the only field");
        return std::nullopt;
    }
    return it->get<std::string>();
}

std::optional<std::int64_t> parse_id(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

std::optional<std::string> query_param(const ExchangePtr& ex, const char* name) {
    auto it = ex->query.find(name);
    if (it == ex->query.end() || it->second.empty()) return std::nullopt;
    return it->second;
}

bool senior(const ExchangePtr& ex) { return role_at_least(ex->user->role, Role::supervisor); }
const std::string& actor(const ExchangePtr& ex) { return ex->user->username.value(); }

CustomerRules rules_of(const State& st) { return CustomerRules{st.opt.customer_tiers}; }

/// The customer if the caller may see it: removed customers only for supervisors and admins.
std::optional<Customer> visible_customer(State& st, const ExchangePtr& ex, std::int64_t id) {
    auto c = st.storage.find_customer(id);
    if (!c || (c->status != "active" && !senior(ex))) return std::nullopt;
    return c;
}

/// Search and export filters from the query string; a problem names the parameter.
Result<CustomerQuery> customer_query(State& st, const ExchangePtr& ex, bool with_limit) {
    CustomerQuery q;
    auto bad = [](std::string m) { return Failure{DomainError::invalid_argument, std::move(m)}; };
    if (auto v = query_param(ex, "q")) {
        if (v->size() > 200) return bad("'q' is longer than 200 bytes");
        // One box for everything: an address, a number in any format, or name words.
        if (v->find('@') != std::string::npos) {
            q.email = *v;
        } else if (auto n = st.phones.normalize(*v);
                   n && fold_digits(*v).find_first_not_of("0123456789+-() .") == std::string::npos) {
            q.phone = n->e164();
        } else {
            const auto folded = fold_for_search(*v);
            std::size_t start = 0;
            while (start < folded.size() && q.terms.size() < 8) {
                auto end = folded.find(' ', start);
                if (end == std::string::npos) end = folded.size();
                q.terms.push_back(folded.substr(start, std::min<std::size_t>(end - start, 64)));
                start = end + 1;
            }
            if (q.terms.empty()) return bad("'q' has no letters or digits to search for");
        }
    }
    if (auto v = query_param(ex, "phone")) {
        auto n = st.phones.normalize(*v);
        if (!n) return bad("'phone' is not a phone number");
        q.phone = n->e164();
    }
    if (auto v = query_param(ex, "email")) q.email = *v;
    if (auto v = query_param(ex, "tag")) q.tag = *v;
    if (auto v = query_param(ex, "group")) q.group = *v;
    if (auto v = query_param(ex, "tier")) q.tier = *v;
    if (auto v = query_param(ex, "owner")) q.owner = *v;
    if (auto v = query_param(ex, "kind")) {
        if (*v != "customer" && *v != "lead") return bad("'kind' must be customer or lead");
        q.kind = *v;
    }
    // A whole number from lo to hi, or a 1/0 flag; unset when absent. A bad
    // value sets `problem` (the first one is reported) and reads as unset.
    std::optional<Failure> problem;
    auto number = [&](const char* name, std::int64_t lo, std::int64_t hi) -> std::optional<std::int64_t> {
        auto v = query_param(ex, name);
        if (!v || problem) return std::nullopt;
        auto n = parse_id(*v);
        if (!n || *n < lo || *n > hi)
            problem = bad(std::string("'") + name + "' must be a whole number from " + std::to_string(lo) + " to " +
                          std::to_string(hi));
        return problem ? std::nullopt : std::optional<std::int64_t>(*n);
    };
    auto flag = [&](const char* name) -> std::optional<bool> {
        auto v = query_param(ex, name);
        if (!v || problem) return std::nullopt;
        if (*v != "0" && *v != "1" && *v != "true" && *v != "false") problem = bad(std::string("'") + name + "' must be 1 or 0");
        return problem ? std::nullopt : std::optional<bool>(*v == "1" || *v == "true");
    };
    if (auto v = number("min_score", 1, 10)) q.min_score = static_cast<int>(*v);
    if (auto v = number("max_score", 1, 10)) q.max_score = static_cast<int>(*v);
    if (problem) return *problem;
    if (auto v = query_param(ex, "segment")) {
        auto n = parse_id(*v);
        if (!n || *n < 1 || *n > 4) return bad("'segment' must be a quartile from 1 (bottom) to 4 (top)");
        // Quartiles are contiguous score ranges: find this one's.
        const auto hist = st.storage.value_score_histogram();
        int lo = 11, hi = 0;
        for (int s = 1; s <= 10; ++s)
            if (value_quartile(s, hist) == static_cast<int>(*n)) lo = std::min(lo, s), hi = std::max(hi, s);
        if (lo > hi) lo = hi = 11;  // nobody is in it: an impossible range
        q.min_score = std::max(q.min_score.value_or(1), lo);
        q.max_score = std::min(q.max_score.value_or(10), hi);
    }
    // The rest of the evaluation: lifetime value (not for agents, who never
    // see it), complaints, open issues, last contact, relationship length.
    const auto now = now_ms();
    auto days_ago = [&](std::int64_t d) { return now - std::chrono::days(d); };
    q.min_lifetime_value = number("min_lifetime_value", 0, std::int64_t{1} << 52);
    if (q.min_lifetime_value && !senior(ex))
        return Failure{DomainError::forbidden, "'min_lifetime_value' is for supervisors and admins"};
    if (auto v = number("min_complaints", 0, 100000); v && *v > 0) q.min_complaints = v;
    if (auto v = number("contacted_within_days", 0, 36500)) q.contacted_since = days_ago(*v);
    if (auto v = number("not_contacted_within_days", 0, 36500)) q.not_contacted_since = days_ago(*v);
    if (auto v = number("min_relationship_days", 0, 36500)) q.customer_before = days_ago(*v) + std::chrono::milliseconds(1);
    if (auto v = flag("open_issues")) q.with_open_issues = *v;
    if (auto v = flag("include_removed")) q.include_removed = *v;
    if (problem) return *problem;
    if (q.include_removed && !senior(ex))
        return Failure{DomainError::forbidden, "removed customers are for supervisors and admins"};
    // A search names what it looks for; a full listing is the export's job.
    if (with_limit && q.terms.empty() && !q.phone && !q.email && !q.tag && !q.group && !q.tier && !q.owner && !q.kind &&
        !q.min_score && !q.max_score && !q.min_lifetime_value && !q.min_complaints && !q.with_open_issues &&
        !q.contacted_since && !q.not_contacted_since && !q.customer_before)
        return bad("give at least one of q, phone, email, tag, group, tier, owner, kind, min_score, max_score, segment, "
                   "min_lifetime_value, min_complaints, open_issues, contacted_within_days, not_contacted_within_days, "
                   "min_relationship_days");
    if (with_limit)
        if (auto v = number("limit", 1, 500)) q.limit = static_cast<std::size_t>(*v);
    if (problem) return *problem;
    return q;
}

json file_json(State& st, const ExchangePtr& ex, const CustomerContext& ctx) {
    const auto now = now_ms();
    json j = customer_view(ctx.customer, ex->user->role);
    j["open_issues"] = ctx.open_issues;
    j["recent_interactions"] = ctx.recent_interactions;
    j["evaluation"] = evaluation_view(evaluate(ctx, now), ex->user->role);
    j["birthday_today"] = is_birthday(ctx.customer.birthday, now);
    (void)st;
    return j;
}

/// Issue fields from a body; `creating` requires a title. Problems name the field.
std::optional<std::string> apply_issue_fields(Issue& i, const json& body, bool creating) {
    static const std::vector<std::string_view> known{"title", "description", "status", "priority", "owner"};
    for (const auto& [k, v] : body.items())
        if (std::find(known.begin(), known.end(), k) == known.end()) return "unknown field '" + k + "'";
    auto text = [&](const char* k, std::string& out, std::size_t max) -> std::optional<std::string> {
        auto it = body.find(k);
        if (it == body.end()) return std::nullopt;
        if (!it->is_string()) return std::string("field '") + k + "' must be a string";
        if (it->get_ref<const std::string&>().size() > max)
            return std::string("field '") + k + "' is longer than " + std::to_string(max) + " bytes";
        out = it->get<std::string>();
        return std::nullopt;
    };
    if (creating && !body.contains("title")) return "field 'title' is required";
    struct Spec {
        const char* name;
        std::string* out;
        std::size_t max;
    };
    const Spec specs[] = {{"title", &i.title, 200}, {"description", &i.description, 10000}, {"status", &i.status, 16},
                          {"priority", &i.priority, 16}, {"owner", &i.owner, 64}};
    for (const auto& sp : specs)
        if (auto p = text(sp.name, *sp.out, sp.max)) return p;
    if (i.title.find_first_not_of(" \t") == std::string::npos) return "field 'title' must not be empty";
    if (i.status != "open" && i.status != "resolved") return "field 'status' must be open or resolved";
    if (!is_valid_issue_priority(i.priority)) return "field 'priority' must be low, normal, high or urgent";
    if (!i.owner.empty() && i.owner.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") != std::string::npos)
        return "field 'owner' is not a username";
    return std::nullopt;
}

json issue_json(const Issue& i, const std::vector<IssueChange>& history) {
    json j = i;
    j["history"] = history;
    return j;
}

/// GET /api/customers/{id}/export's body: everything stored about the person.
json export_json(const CustomerData& d, Timestamp at) {
    json customer = d.customer;  // every field: only supervisors and admins export
    customer["erased"] = d.customer.erased_at.has_value();
    json issues = json::array();
    for (const auto& i : d.issues) issues.push_back(issue_json(i.issue, i.history));
    json interactions = json::array();
    for (std::size_t k = 0; k < d.interactions.size(); ++k) {
        json j = d.interactions[k];
        j["notes"] = k < d.interaction_notes.size() ? d.interaction_notes[k] : std::string();
        interactions.push_back(std::move(j));
    }
    json audit = json::array();
    for (const auto& e : d.audit)
        audit.push_back({{"id", e.id}, {"at", format_iso(e.at)}, {"actor", e.actor}, {"action", e.action},
                         {"detail", e.detail}});
    return {{"exported_at", format_iso(at)}, {"customer", std::move(customer)},   {"issues", std::move(issues)},
            {"interactions", std::move(interactions)}, {"calls", d.calls}, {"audit", std::move(audit)}};
}

std::string join_list(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ";") + s;
    return out;
}

const char* const customers_csv_header =
    "id,name,salutation,phones,email,tier,tags,groups,company,notes,language,birthday,owner,kind,source_campaign,"
    "preferred_channel,contact_time,opt_outs,value_score,lifetime_value,customer_since,status,created_at,"
    "value_score_source\r\n";

std::string customer_csv_row(const Customer& c) {
    std::string phones;
    for (std::size_t i = 0; i < c.phones.size(); ++i) {
        const auto& label = i < c.phone_labels.size() ? c.phone_labels[i] : std::string();
        phones += (phones.empty() ? "" : ";") + (label.empty() ? c.phones[i] : label + ":" + c.phones[i]);
    }
    const std::vector<std::string> f{std::to_string(c.id), c.name, c.salutation, phones, c.email, c.tier,
                                     join_list(c.tags), join_list(c.groups), c.company, mask_card_numbers(c.notes),
                                     c.language, c.birthday, c.owner, c.kind, c.source_campaign, c.preferred_channel,
                                     c.contact_time, join_list(c.opt_outs),
                                     c.value_score ? std::to_string(*c.value_score) : "",
                                     c.lifetime_value ? std::to_string(*c.lifetime_value) : "",
                                     format_iso(c.customer_since.value_or(c.created_at)), c.status,
                                     format_iso(c.created_at),
                                     !c.value_score ? "" : c.value_score_computed ? "computed" : "set"};
    std::string row;
    for (std::size_t i = 0; i < f.size(); ++i) row += (i ? "," : "") + csv_field(f[i]);
    return row + "\r\n";
}

const char* const issues_csv_header = "id,customer_id,title,description,status,priority,owner,opened_at,resolved_at\r\n";

std::string issue_csv_row(const Issue& i) {
    const std::vector<std::string> f{std::to_string(i.id), std::to_string(i.customer_id), mask_card_numbers(i.title),
                                     mask_card_numbers(i.description), i.status, i.priority, i.owner,
                                     format_iso(i.opened_at), i.resolved_at ? format_iso(*i.resolved_at) : ""};
    std::string row;
    for (std::size_t k = 0; k < f.size(); ++k) row += (k ? "," : "") + csv_field(f[k]);
    return row + "\r\n";
}

/// Streams rows produced by `each` (which calls emit per row) in 32 KiB chunks.
template <class Each>
void stream_csv(const ExchangePtr& ex, const char* filename, std::string header, Each each) {
    StreamHead head{http::status::ok, ex->req.version()};
    head.set(http::field::content_type, "text/csv; charset=utf-8");
    head.set(http::field::content_disposition, std::string("attachment; filename=\"") + filename + "\"");
    head.set(http::field::cache_control, "no-store");
    ex->stream(std::move(head), [header = std::move(header), each = std::move(each)](ChunkSink& sink) {
        constexpr std::size_t chunk_bytes = 32 * 1024;
        std::string buf = header;
        bool ok = true;
        each([&](std::string row) {
            buf += row;
            if (buf.size() < chunk_bytes) return true;
            ok = sink.write(std::move(buf));
            buf.clear();
            return ok;
        });
        if (!ok) throw std::runtime_error("client went away during the export");
        sink.write(std::move(buf));
    });
}

json report_json(const ImportReport& r) {
    json rows = json::array();
    for (const auto& row : r.rows) {
        json j = {{"row", row.row}, {"status", row.status}, {"reason", row.reason}};
        if (row.customer_id) j["customer_id"] = *row.customer_id;
        rows.push_back(std::move(j));
    }
    return {{"dry_run", r.dry_run}, {"imported", r.imported}, {"already_present", r.already_present},
            {"rejected", r.rejected}, {"rows", rows}};
}

}  // namespace

void add_customer_routes(State& st) {
    auto& r = st.router;
    const auto user = [](Role role, auto fn) { return Endpoint{Access::user, role, std::move(fn)}; };
    // A CSV file: the one kind of body allowed to be large (ServerOptions::import_body_bytes).
    const auto import_file = [&st](auto fn) {
        return Endpoint{Access::user, Role::supervisor, std::move(fn), st.opt.import_body_bytes};
    };

    // GET /api/customers?q&phone&email&tag&group&tier&owner&kind&min_score&max_score&segment&include_removed&limit
    //   -> 200 {"customers":[customer]}. q is a name (words, any script, prefixes), a number or an email.
    r.add(verb::get, "/api/customers", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto q = customer_query(st, ex, true);
        if (!q) return reply_error(ex, status_for(q.failure().code), error_code_name(q.failure().code), q.failure().message);
        json list = json::array();
        for (const auto& c : st.storage.search_customers(q.value())) list.push_back(customer_view(c, ex->user->role));
        reply(ex, http::status::ok, {{"customers", std::move(list)}});
    }));

    // GET /api/customers.csv (same filters, no limit) -> text/csv, streamed. Supervisor and admin; audited.
    r.add(verb::get, "/api/customers.csv", user(Role::supervisor, [&st](const ExchangePtr& ex) {
        auto q = customer_query(st, ex, false);
        if (!q) return reply_error(ex, status_for(q.failure().code), error_code_name(q.failure().code), q.failure().message);
        st.storage.audit(actor(ex), "customers.export", std::string(ex->req.target()).substr(0, 500), now_ms());
        stream_csv(ex, "customers.csv", customers_csv_header, [&st, query = q.value()](auto emit) {
            st.storage.for_each_customer(query, [&](const Customer& c) { return emit(customer_csv_row(c)); });
        });
    }));

    // GET /api/issues.csv -> text/csv of every issue, streamed. Supervisor and admin; audited.
    r.add(verb::get, "/api/issues.csv", user(Role::supervisor, [&st](const ExchangePtr& ex) {
        st.storage.audit(actor(ex), "issues.export", "", now_ms());
        stream_csv(ex, "issues.csv", issues_csv_header, [&st](auto emit) {
            st.storage.for_each_issue([&](const Issue& i) { return emit(issue_csv_row(i)); });
        });
    }));

    // GET /api/customers/audit?customer_id=ID&before=ID&limit=N -> 200
    //   {"entries":[{id,at,actor,action,detail}],"next_before":ID|null}. Supervisor and admin, read-only:
    //   the audit entries about customers (customer.*, customers.*, issues.export), newest first.
    r.add(verb::get, "/api/customers/audit", user(Role::supervisor, [&st](const ExchangePtr& ex) {
        std::optional<std::int64_t> customer, before;
        std::size_t limit = 50;
        if (auto v = query_param(ex, "customer_id")) {
            customer = parse_id(*v);
            if (!customer) return reply_invalid(ex, "'customer_id' must be a customer id");
        }
        if (auto v = query_param(ex, "before")) {
            before = parse_id(*v);
            if (!before) return reply_invalid(ex, "'before' must be an audit entry id");
        }
        if (auto v = query_param(ex, "limit")) {
            const auto n = parse_id(*v);
            if (!n || *n < 1 || *n > 500) return reply_invalid(ex, "'limit' must be a whole number from 1 to 500");
            limit = static_cast<std::size_t>(*n);
        }
        const auto entries = st.storage.list_customer_audit(customer, before, limit);
        json list = json::array();
        for (const auto& e : entries)
            list.push_back({{"id", e.id}, {"at", format_iso(e.at)}, {"actor", e.actor}, {"action", e.action},
                            {"detail", e.detail}});
        json next = entries.size() == limit ? json(entries.back().id) : json(nullptr);
        reply(ex, http::status::ok, {{"entries", std::move(list)}, {"next_before", std::move(next)}});
    }));

    // POST /api/customers/import[?dry_run=1] (body: the CSV, up to 1 MiB) -> 200 report. Supervisor and admin.
    r.add(verb::post, "/api/customers/import", import_file([&st](const ExchangePtr& ex) {
        const auto dry = query_param(ex, "dry_run");
        if (dry && *dry != "0" && *dry != "1" && *dry != "true" && *dry != "false")
            return reply_invalid(ex, "'dry_run' must be 1 or 0");
        const bool dry_run = dry && (*dry == "1" || *dry == "true");
        net::post(st.blocking, [&st, ex, dry_run] {
            try {
                auto report = run_customer_import(st.storage, ex->req.body(), st.phones, rules_of(st), dry_run, actor(ex));
                if (report.fatal) return reply_invalid(ex, *report.fatal);
                if (!dry_run)
                    st.storage.audit(actor(ex), "customers.import",
                                     json{{"imported", report.imported}, {"already_present", report.already_present},
                                          {"rejected", report.rejected}}
                                         .dump(),
                                     now_ms());
                reply(ex, http::status::ok, report_json(report));
            } catch (const std::exception& e) {
                spdlog::error("http: customer import failed: {}", e.what());
                reply_error(ex, http::status::internal_server_error, "internal", "internal server error");
            }
        });
    }));

    // POST /api/orders/import[?dry_run=1] (body: orders CSV, up to 1 MiB) -> 200 report. Supervisor and admin.
    // Each customer's lifetime_value becomes the sum of their orders; re-runs change nothing.
    r.add(verb::post, "/api/orders/import", import_file([&st](const ExchangePtr& ex) {
        const auto dry = query_param(ex, "dry_run");
        if (dry && *dry != "0" && *dry != "1" && *dry != "true" && *dry != "false")
            return reply_invalid(ex, "'dry_run' must be 1 or 0");
        const bool dry_run = dry && (*dry == "1" || *dry == "true");
        net::post(st.blocking, [&st, ex, dry_run] {
            try {
                auto report = run_orders_import(st.storage, ex->req.body(), st.phones, dry_run, actor(ex));
                if (report.fatal) return reply_invalid(ex, *report.fatal);
                reply(ex, http::status::ok, report_json(report));
            } catch (const std::exception& e) {
                spdlog::error("http: orders import failed: {}", e.what());
                reply_error(ex, http::status::internal_server_error, "internal", "internal server error");
            }
        });
    }));

    // POST /api/customers {customer fields} -> 201 {"id"}
    r.add(verb::post, "/api/customers", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto body = json_body(ex);
        if (!body) return;
        Customer c;
        if (auto p = apply_customer_fields(c, *body, rules_of(st), st.phones, ex->user->role, actor(ex), true))
            return reply_problem(ex, *p);
        c.created_at = now_ms();
        const auto changes = customer_diff(Customer{}, c);
        const auto id = st.storage.create_customer_audited(c, actor(ex), json{{"changes", changes}}.dump(), c.created_at);
        reply(ex, http::status::created, {{"id", id}});
    }));

    // GET /api/customers/{id} -> 200 customer with open_issues, recent_interactions, evaluation, birthday_today
    r.add(verb::get, "/api/customers/{id}", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "a customer id is a whole number");
        if (auto ctx = st.storage.customer_context(*id)) return reply(ex, http::status::ok, file_json(st, ex, *ctx));
        // Removed customers: their file, without the lists, for supervisors.
        auto c = visible_customer(st, ex, *id);
        if (!c) return reply_not_found(ex, "customer");
        CustomerContext ctx;
        ctx.customer = std::move(*c);
        reply(ex, http::status::ok, file_json(st, ex, ctx));
    }));

    // PATCH /api/customers/{id} {fields to change} -> 200 customer. Audited with before/after of each changed field.
    r.add(verb::patch, "/api/customers/{id}", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "a customer id is a whole number");
        auto body = json_body(ex);
        if (!body) return;
        auto before = visible_customer(st, ex, *id);
        if (!before) return reply_not_found(ex, "customer");
        if (before->erased_at) return reply_erased(ex);
        Customer after = *before;
        if (auto p = apply_customer_fields(after, *body, rules_of(st), st.phones, ex->user->role, actor(ex), false))
            return reply_problem(ex, *p);
        auto changes = customer_diff(*before, after);
        if (!changes.empty() &&
            !st.storage.update_customer(after, actor(ex), "customer.update", json{{"id", *id}, {"changes", changes}}.dump(),
                                        now_ms())) {
            // Erased since it was read: the store refused to write the file back.
            auto now_stored = st.storage.find_customer(*id);
            if (now_stored && now_stored->erased_at) return reply_erased(ex);
            return reply_not_found(ex, "customer");
        }
        auto stored = st.storage.find_customer(*id);
        if (!stored) return reply_not_found(ex, "customer");
        reply(ex, http::status::ok, customer_view(*stored, ex->user->role));
    }));

    // DELETE /api/customers/{id} {"reason"} -> 200 customer with status "removed". Supervisor and admin.
    // Nothing is deleted: the file stays, marked removed with who, when and why.
    r.add(verb::delete_, "/api/customers/{id}", user(Role::supervisor, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "a customer id is a whole number");
        auto body = json_body(ex);
        if (!body) return;
        auto reason = reason_of(ex, *body);
        if (!reason) return;
        auto before = st.storage.find_customer(*id);
        if (!before) return reply_not_found(ex, "customer");
        if (before->erased_at) return reply_erased(ex);
        if (before->status == "removed")
            return reply_error(ex, http::status::conflict, "conflict", "the customer is already removed");
        Customer after = *before;
        const auto now = now_ms();
        after.status = "removed";
        after.removed_at = now;
        after.removed_by = actor(ex);
        after.removed_reason = mask_card_numbers(*reason);
        st.storage.update_customer(after, actor(ex), "customer.remove",
                                   json{{"id", *id}, {"changes", customer_diff(*before, after)}}.dump(), now);
        reply(ex, http::status::ok, customer_view(*st.storage.find_customer(*id), ex->user->role));
    }));

    // POST /api/customers/{id}/restore -> 200 customer, active again. Supervisor and admin; audited.
    r.add(verb::post, "/api/customers/{id}/restore", user(Role::supervisor, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "a customer id is a whole number");
        auto before = st.storage.find_customer(*id);
        if (!before) return reply_not_found(ex, "customer");
        if (before->erased_at) return reply_erased(ex);
        if (before->status == "active") return reply_error(ex, http::status::conflict, "conflict", "the customer is active");
        Customer after = *before;
        after.status = "active";
        after.removed_at.reset();
        after.removed_by.clear();
        after.removed_reason.clear();
        st.storage.update_customer(after, actor(ex), "customer.restore",
                                   json{{"id", *id}, {"changes", customer_diff(*before, after)}}.dump(), now_ms());
        reply(ex, http::status::ok, customer_view(*st.storage.find_customer(*id), ex->user->role));
    }));

    // GET /api/customers/{id}/export -> 200 everything stored about the customer, as a JSON attachment:
    //   {"exported_at","customer" (every field, "erased"),"issues":[issue with "history"],
    //    "interactions":[... with "notes"],"calls":[call record],"audit":[{id,at,actor,action,detail}]}.
    // Supervisor and admin, erased customers too; audited (customer.export). Read on the blocking pool.
    r.add(verb::get, "/api/customers/{id}/export", user(Role::supervisor, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "a customer id is a whole number");
        net::post(st.blocking, [&st, ex, id = *id] {
            guarded(ex, "customer export", [&] {
                auto data = st.storage.customer_data(id);
                if (!data) return reply_not_found(ex, "customer");
                const auto now = now_ms();
                st.storage.audit(actor(ex), "customer.export", json{{"id", id}}.dump(), now);
                auto rep = json_reply(ex->req, http::status::ok, export_json(*data, now));
                rep.set(http::field::content_disposition,
                        "attachment; filename=\"customer-" + std::to_string(id) + ".json\"");
                ex->respond(std::move(rep));
            });
        });
    }));

    // POST /api/customers/{id}/erase {"reason"} -> 200 {"customer","erased":{"calls","interactions","issues",
    //   "audit_entries","held_pops"}}. Supervisor and admin. Anonymises the person for good (Storage::erase_customer):
    //   the file keeps its figures, its records their times and durations; audited (customer.erase) with
    //   the reason. Erasing again scrubs whatever was added since (counts 0 otherwise).
    r.add(verb::post, "/api/customers/{id}/erase", user(Role::supervisor, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "a customer id is a whole number");
        auto body = json_body(ex);
        if (!body) return;
        auto reason = reason_of(ex, *body);
        if (!reason) return;
        net::post(st.blocking, [&st, ex, id = *id, reason = std::move(*reason)] {
            guarded(ex, "customer erase", [&] {
                auto report = st.storage.erase_customer(id, actor(ex), reason, now_ms());
                if (!report) return reply_not_found(ex, "customer");
                // Nor may a console's resume replay their pops.
                const auto forgotten = st.hub.forget_customer(id);
                spdlog::info("customer {} erased on request by {}: {} calls, {} history entries, {} issues anonymised, "
                             "{} held pops dropped",
                             id, actor(ex), report->calls, report->interactions, report->issues, forgotten);
                auto stored = st.storage.find_customer(id);
                if (!stored) return reply_not_found(ex, "customer");
                reply(ex, http::status::ok,
                      {{"customer", customer_view(*stored, ex->user->role)},
                       {"erased",
                        {{"calls", report->calls},
                         {"interactions", report->interactions},
                         {"issues", report->issues},
                         {"audit_entries", report->audit_entries},
                         {"held_pops", forgotten}}}});
            });
        });
    }));

    // GET /api/customers/{id}/timeline?before=ISO&limit=N -> 200 {"interactions":[...]} newest first (limit 1-200, default 50)
    r.add(verb::get, "/api/customers/{id}/timeline", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "a customer id is a whole number");
        std::optional<Timestamp> before;
        if (auto v = query_param(ex, "before")) {
            before = parse_iso(*v);
            if (!before) return reply_invalid(ex, "'before' must be an ISO 8601 time");
        }
        std::size_t limit = 50;
        if (auto v = query_param(ex, "limit")) {
            auto n = parse_id(*v);
            if (!n || *n < 1 || *n > 200) return reply_invalid(ex, "'limit' must be a whole number from 1 to 200");
            limit = static_cast<std::size_t>(*n);
        }
        if (!visible_customer(st, ex, *id)) return reply_not_found(ex, "customer");
        reply(ex, http::status::ok, {{"interactions", st.storage.customer_timeline(*id, before, limit)}});
    }));

    // POST /api/customers/{id}/interactions {"channel","direction","summary","at"} -> 201 {"id"}
    // A visit, email, SMS, note or a call logged by hand; calls through the PBX are logged on their own.
    r.add(verb::post, "/api/customers/{id}/interactions", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "a customer id is a whole number");
        auto body = json_body(ex);
        if (!body) return;
        for (const auto& [k, v] : body->items())
            if (k != "channel" && k != "direction" && k != "summary" && k != "at")
                return reply_invalid(ex, "unknown field '" + k + "'");
        Interaction i;
        i.customer_id = *id;
        auto str = [&](const char* k) -> std::optional<std::string> {
            auto it = body->find(k);
            if (it == body->end() || it->is_null()) return std::string();
            if (!it->is_string()) return std::nullopt;
            return it->get<std::string>();
        };
        auto channel = str("channel"), direction = str("direction"), summary = str("summary"), at = str("at");
        if (!channel || !is_valid_interaction_channel(*channel))
            return reply_invalid(ex, "field 'channel' must be visit, email, sms, note or call");
        if (!direction || (!direction->empty() && *direction != "inbound" && *direction != "outbound"))
            return reply_invalid(ex, "field 'direction' must be inbound, outbound or empty");
        if (!summary || summary->find_first_not_of(" \t\r\n") == std::string::npos || summary->size() > 4000)
            return reply_invalid(ex, "field 'summary' is required (1 to 4000 bytes)");
        i.at = now_ms();
        if (at && !at->empty()) {
            auto t = parse_iso(*at);
            if (!t) return reply_invalid(ex, "field 'at' must be an ISO 8601 time");
            i.at = *t;
        }
        if (!at) return reply_invalid(ex, "field 'at' must be an ISO 8601 time");
        i.channel = *channel;
        i.direction = *direction;
        i.summary = mask_card_numbers(*summary);
        i.agent = ex->user->username;
        auto customer = visible_customer(st, ex, *id);
        if (!customer) return reply_not_found(ex, "customer");
        if (customer->erased_at) return reply_erased(ex);
        const auto new_id = st.storage.add_interaction(i);
        reply(ex, http::status::created, {{"id", new_id}});
    }));

    // GET /api/customers/{id}/issues -> 200 {"issues":[issue]} every issue, newest first
    r.add(verb::get, "/api/customers/{id}/issues", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "a customer id is a whole number");
        if (!visible_customer(st, ex, *id)) return reply_not_found(ex, "customer");
        reply(ex, http::status::ok, {{"issues", st.storage.customer_issues(*id)}});
    }));

    // POST /api/customers/{id}/issues {"title","description","priority","owner"} -> 201 {"id","status":"open"}
    r.add(verb::post, "/api/customers/{id}/issues", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto customer = parse_id(ex->params[0]);
        if (!customer) return reply_invalid(ex, "a customer id is a whole number");
        auto body = json_body(ex);
        if (!body) return;
        if (body->contains("status")) return reply_invalid(ex, "unknown field 'status' (a new issue is open)");
        Issue i;
        if (auto p = apply_issue_fields(i, *body, true)) return reply_invalid(ex, *p);
        if (!st.storage.customer_context(*customer)) return reply_not_found(ex, "customer");
        i.customer_id = *customer;
        i.status = "open";
        i.opened_at = now_ms();
        i.id = st.storage.create_issue(i);
        st.storage.update_issue(i, {IssueChange{i.opened_at, actor(ex), "created", "", mask_card_numbers(i.title)}});
        reply(ex, http::status::created, {{"id", i.id}, {"status", "open"}});
    }));

    // GET /api/issues/{id} -> 200 issue with "history" (oldest first)
    r.add(verb::get, "/api/issues/{id}", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "an issue id is a whole number");
        auto issue = st.storage.find_issue(*id);
        // An agent never sees a removed customer, nor its issues.
        if (!issue || !visible_customer(st, ex, issue->customer_id)) return reply_not_found(ex, "issue");
        reply(ex, http::status::ok, issue_json(*issue, st.storage.issue_history(*id)));
    }));

    // PATCH /api/issues/{id} {"status","priority","owner","title","description"} -> 200 issue with "history".
    r.add(verb::patch, "/api/issues/{id}", user(Role::agent, [&st](const ExchangePtr& ex) {
        auto id = parse_id(ex->params[0]);
        if (!id) return reply_invalid(ex, "an issue id is a whole number");
        auto body = json_body(ex);
        if (!body) return;
        auto before = st.storage.find_issue(*id);
        if (!before) return reply_not_found(ex, "issue");
        auto owner = visible_customer(st, ex, before->customer_id);
        if (!owner) return reply_not_found(ex, "issue");
        if (owner->erased_at) return reply_erased(ex);
        Issue after = *before;
        if (auto p = apply_issue_fields(after, *body, false)) return reply_invalid(ex, *p);
        const auto now = now_ms();
        if (after.status == "resolved" && before->status != "resolved") after.resolved_at = now;
        if (after.status == "open") after.resolved_at.reset();
        std::vector<IssueChange> changes;
        auto diff = [&](const char* field, const std::string& a, const std::string& b) {
            if (a != b) changes.push_back({now, actor(ex), field, a, b});
        };
        diff("title", before->title, after.title);
        diff("description", before->description, after.description);
        diff("status", before->status, after.status);
        diff("priority", before->priority, after.priority);
        diff("owner", before->owner, after.owner);
        if (!changes.empty() && !st.storage.update_issue(after, changes)) return reply_not_found(ex, "issue");
        auto stored = st.storage.find_issue(*id);
        if (!stored) return reply_not_found(ex, "issue");
        reply(ex, http::status::ok, issue_json(*stored, st.storage.issue_history(*id)));
    }));
}

}  // namespace ringside::server::detail
