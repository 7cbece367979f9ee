#include "ringside/server/pop_hub.hpp"

#include <algorithm>
#include <functional>
#include <string_view>
#include <unordered_set>

namespace ringside::server {
namespace {

/// What a held message is about: its call ({"call":{"id"}}) and the customer
/// it names (a pop's "customer":{"id"}, a record's "call":{"customer_id"}).
struct About {
    std::uint64_t call = 0;
    std::int64_t customer = 0;
    std::string ringing_call;            // set for a call.ringing: its call id
    std::optional<Timestamp> rang_at;    // a call.ringing's "rang_at"
};

About about(const nlohmann::json& m) {
    About a;
    auto call = m.find("call");
    if (call != m.end() && call->is_object()) {
        if (auto id = call->find("id"); id != call->end() && id->is_string()) {
            a.call = std::hash<std::string_view>{}(id->get_ref<const std::string&>()) | 1;  // never 0
            if (auto t = m.find("type"); t != m.end() && t->is_string() && t->get_ref<const std::string&>() == "call.ringing")
                a.ringing_call = id->get_ref<const std::string&>();
        }
        if (auto c = call->find("customer_id"); c != call->end() && c->is_number_integer()) a.customer = c->get<std::int64_t>();
    }
    if (auto cu = m.find("customer"); cu != m.end() && cu->is_object())
        if (auto id = cu->find("id"); id != cu->end() && id->is_number_integer()) a.customer = id->get<std::int64_t>();
    if (!a.ringing_call.empty())
        if (auto r = m.find("rang_at"); r != m.end() && r->is_string()) a.rang_at = parse_iso(r->get_ref<const std::string&>());
    return a;
}

}  // namespace

PopHub::PopHub(PopHubOptions options) : options_(std::move(options)) {
    if (!options_.clock) options_.clock = [] { return std::chrono::steady_clock::now(); };
    if (options_.max_held_per_user == 0) options_.max_held_per_user = 1;
}

PopHub::~PopHub() = default;

void PopHub::prune_locked(UserState& u, std::chrono::steady_clock::time_point now) const {
    while (u.held.size() > options_.max_held_per_user) u.held.pop_front();
    while (!u.held.empty() && now - u.held.front().at > options_.retention) u.held.pop_front();
}

std::vector<std::shared_ptr<PopSubscriber>> PopHub::open_subscribers_locked(UserState& u) {
    std::vector<std::shared_ptr<PopSubscriber>> open;
    open.reserve(u.subs.size());
    std::erase_if(u.subs, [&](const Sub& s) {
        auto p = s.ptr.lock();
        if (!p) return true;  // its session is gone: forget it
        open.push_back(std::move(p));
        return false;
    });
    return open;
}

PopHub::UserState& PopHub::user_locked(const AgentId& user) {
    auto [it, inserted] = users_.try_emplace(user);
    if (inserted) it->second.next_seq = options_.first_seq;
    return it->second;
}

void PopHub::send(const AgentId& to, nlohmann::json message) { send_to(&to, 1, std::move(message), true); }

void PopHub::send_each(const std::vector<AgentId>& to, nlohmann::json message) {
    send_to(to.data(), to.size(), std::move(message), true);
}

void PopHub::send_state(const AgentId& to, nlohmann::json message) { send_to(&to, 1, std::move(message), false); }

void PopHub::send_to(const AgentId* to, std::size_t count, nlohmann::json message, bool hold) {
    if (count == 0 || !message.is_object()) return;  // only an object can be numbered
    const auto now = options_.clock();
    const auto sent_at = now_ms();
    // Serialised once, without "seq": each user's text is {"seq":N, then the
    // body (the object's members and its "}"). Caller names come from the PBX
    // and may not be valid UTF-8: replace, never throw.
    message.erase("seq");
    std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    body.erase(0, 1);
    const bool members = !message.empty();
    About a;
    if (hold) a = about(message);
    struct Target {
        std::uint64_t seq;
        std::shared_ptr<const std::string> text;
        std::vector<std::shared_ptr<PopSubscriber>> subs;
    };
    std::vector<Target> targets;
    targets.reserve(count);
    {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < count; ++i) {
            auto& u = user_locked(to[i]);
            Target t{u.next_seq++, nullptr, {}};
            const std::string head = "{\"seq\":" + std::to_string(t.seq) + (members ? "," : "");
            std::string text;
            text.reserve(head.size() + body.size());
            text.append(head).append(body);
            t.text = std::make_shared<const std::string>(std::move(text));
            if (hold) {
                u.held.push_back(Held{t.seq, now, t.text, a.call, a.customer, a.ringing_call, a.rang_at.value_or(sent_at), false});
                prune_locked(u, now);
            }
            t.subs = open_subscribers_locked(u);
            targets.push_back(std::move(t));
        }
        // Users who stopped receiving keep their old messages until the next
        // sweep; one sweep a minute bounds memory by the retention window.
        if (now - last_sweep_ > std::chrono::minutes(1)) {
            last_sweep_ = now;
            for (auto& [name, state] : users_) prune_locked(state, now);
        }
    }
    messages_.fetch_add(count, std::memory_order_relaxed);
    // Outside the lock: deliver() only posts to the session's strand.
    std::size_t n = 0;
    for (auto& t : targets) {
        for (auto& sub : t.subs) sub->deliver(t.seq, t.text);
        n += t.subs.size();
    }
    deliveries_.fetch_add(n, std::memory_order_relaxed);
}

void PopHub::broadcast(Audience to, nlohmann::json message) {
    if (to != Audience::supervisors) return;
    // "{...}" without its "{": each member's text is {"seq":N, then this.
    std::shared_ptr<const std::string> body;
    struct Target {
        std::uint64_t seq;
        std::vector<std::shared_ptr<PopSubscriber>> subs;
    };
    std::vector<Target> targets;
    {
        std::lock_guard lock(mutex_);
        if (supervisors_.empty()) return;
        if (!message.is_object()) return;
        message.erase("seq");
        if (message.empty()) return;  // {"seq":N,} would not parse
        std::string text = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        text.erase(0, 1);
        body = std::make_shared<const std::string>(std::move(text));
        targets.reserve(supervisors_.size());
        for (const auto& [user, n] : supervisors_) {
            auto& u = user_locked(user);
            Target t{u.next_seq++, {}};
            // Each member gets its own seq, but broadcasts (board.*) are state, not
            // a backlog: they are not held for resume, so they never push a pop out
            // of the resume history; a reconnecting supervisor gets a snapshot.
            t.subs = open_subscribers_locked(u);
            targets.push_back(std::move(t));
        }
    }
    // Outside the lock: deliver_shared() only posts to the session's strand.
    std::size_t n = 0;
    for (auto& t : targets) {
        std::string head = "{\"seq\":" + std::to_string(t.seq) + ",";
        for (auto& s : t.subs) s->deliver_shared(t.seq, head, body);
        n += t.subs.size();
    }
    messages_.fetch_add(targets.size(), std::memory_order_relaxed);
    deliveries_.fetch_add(n, std::memory_order_relaxed);
}

void PopHub::join(Audience a, const AgentId& user) {
    std::lock_guard lock(mutex_);
    if (a == Audience::supervisors) ++supervisors_[user];
}

void PopHub::leave(Audience a, const AgentId& user) {
    std::lock_guard lock(mutex_);
    if (a != Audience::supervisors) return;
    auto it = supervisors_.find(user);
    if (it != supervisors_.end() && --it->second <= 0) supervisors_.erase(it);
}

std::size_t PopHub::audience_size(Audience a) const {
    std::lock_guard lock(mutex_);
    return a == Audience::supervisors ? supervisors_.size() : 0;
}

std::uint64_t PopHub::subscribe(const AgentId& user, const PopSubscriber* id, std::weak_ptr<PopSubscriber> s) {
    std::lock_guard lock(mutex_);
    auto& u = user_locked(user);
    u.subs.push_back(Sub{id, std::move(s)});
    return u.next_seq - 1;
}

void PopHub::unsubscribe(const AgentId& user, const PopSubscriber* id) {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user);
    if (it == users_.end()) return;
    std::erase_if(it->second.subs, [&](const Sub& s) { return s.id == id; });
}

std::size_t PopHub::forget_customer(std::int64_t customer_id) {
    if (customer_id == 0) return 0;
    std::lock_guard lock(mutex_);
    // The calls whose messages named the customer, then every message of those calls.
    std::unordered_set<std::uint64_t> calls;
    for (const auto& [name, u] : users_)
        for (const auto& h : u.held)
            if (h.customer == customer_id && h.call) calls.insert(h.call);
    std::size_t dropped = 0;
    for (auto& [name, u] : users_)
        dropped += std::erase_if(u.held, [&](const Held& h) { return h.customer == customer_id || calls.contains(h.call); });
    return dropped;
}

std::vector<HeldMessage> PopHub::replay(const AgentId& user, std::uint64_t after) {
    resumes_.fetch_add(1, std::memory_order_relaxed);
    const auto now = options_.clock();
    std::vector<HeldMessage> out;
    std::lock_guard lock(mutex_);
    auto it = users_.find(user);
    if (it == users_.end()) return out;
    auto& u = it->second;
    prune_locked(u, now);
    if (after >= u.next_seq) after = 0;
    // held is in seq order: binary search for the first seq > after.
    auto first = std::upper_bound(u.held.begin(), u.held.end(), after,
                                  [](std::uint64_t a, const Held& h) { return a < h.seq; });
    out.reserve(static_cast<std::size_t>(u.held.end() - first));
    for (; first != u.held.end(); ++first) out.push_back(HeldMessage{first->seq, first->text});
    return out;
}

std::optional<std::chrono::milliseconds> PopHub::acknowledge_shown(const AgentId& user, std::uint64_t seq,
                                                                   std::string_view call_id, Timestamp now) {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user);
    if (it == users_.end()) return std::nullopt;
    auto& held = it->second.held;
    auto h = std::lower_bound(held.begin(), held.end(), seq, [](const Held& m, std::uint64_t s) { return m.seq < s; });
    if (h == held.end() || h->seq != seq || h->ringing_call.empty() || h->ringing_call != call_id || h->shown)
        return std::nullopt;
    h->shown = true;
    return std::max(std::chrono::milliseconds{0}, now - h->rang_at);
}

std::uint64_t PopHub::latest_seq(const AgentId& user) const {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user);
    return it == users_.end() ? options_.first_seq - 1 : it->second.next_seq - 1;
}

std::size_t PopHub::subscriber_count(const AgentId& user) const {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user);
    if (it == users_.end()) return 0;
    return static_cast<std::size_t>(
        std::count_if(it->second.subs.begin(), it->second.subs.end(), [](const Sub& s) { return !s.ptr.expired(); }));
}

std::size_t PopHub::disconnect(const AgentId& user, const char* reason) {
    std::vector<std::shared_ptr<PopSubscriber>> open;
    {
        std::lock_guard lock(mutex_);
        auto& u = user_locked(user);
        u.disconnected_at = ++disconnects_;
        u.disconnect_reason = reason;
        for (const auto& s : u.subs)
            if (auto p = s.ptr.lock()) open.push_back(std::move(p));
    }
    for (auto& p : open) p->end(reason);
    return open.size();
}

const char* PopHub::disconnected_since(const AgentId& user, std::uint64_t mark) const {
    std::lock_guard lock(mutex_);
    auto it = users_.find(user);
    if (it == users_.end() || it->second.disconnected_at <= mark) return nullptr;
    return it->second.disconnect_reason;
}

PopHubStats PopHub::stats() const {
    PopHubStats s;
    s.messages = messages_.load(std::memory_order_relaxed);
    s.deliveries = deliveries_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.resumes = resumes_.load(std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    for (const auto& [name, u] : users_)
        for (const auto& sub : u.subs)
            if (!sub.ptr.expired()) ++s.sessions;
    return s;
}

}  // namespace ringside::server
