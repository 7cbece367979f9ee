#include "live_board.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "pop_messages.hpp"

namespace ringside::detail {

LiveBoard::Row& LiveBoard::enter(const CallId& id) {
    auto [it, fresh] = rows_.try_emplace(id);
    Row& row = it->second;
    if (!fresh) by_order_.erase(row.order);  // entered again: moves to the end
    row.id = id;
    row.order = next_order_++;
    by_order_[row.order] = &row;
    touch(row);
    return row;
}

void LiveBoard::touch(Row& row) {
    row.entry.reset();
    changed_.insert(row.id);
    published_stale_.store(true, std::memory_order_relaxed);
}

void LiveBoard::leave(const CallId& id) {
    auto it = rows_.find(id);
    if (it == rows_.end()) return;
    by_order_.erase(it->second.order);
    rows_.erase(it);
    changed_.insert(id);
    published_stale_.store(true, std::memory_order_relaxed);
}

const std::shared_ptr<const nlohmann::json>& LiveBoard::entry(const Row& row) const {
    if (!row.entry) row.entry = std::make_shared<const nlohmann::json>(build_(row.id));
    return row.entry;
}

nlohmann::json LiveBoard::snapshot() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [order, row] : by_order_) out.push_back(*entry(*row));
    return out;
}

/// Publishes the board for other threads: pointers to the entries, each
/// built once per change of its call (O(calls) pointer copies).
void LiveBoard::publish() {
    auto list = std::make_shared<BoardList>();
    list->reserve(by_order_.size());
    for (const auto& [order, row] : by_order_) list->push_back(entry(*row));
    std::shared_ptr<const BoardList> p = std::move(list);
    std::lock_guard lk(published_mutex_);
    published_ = std::move(p);
}

std::int64_t LiveBoard::steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void LiveBoard::flush(bool watched) {
    const bool wanted = watched || published_wanted_until_.load(std::memory_order_relaxed) > steady_ms();
    if (wanted && published_stale_.exchange(false, std::memory_order_relaxed)) publish();
    if (!watched) {
        changed_.clear();
        resync_ = false;
        return;
    }
    if (resync_) {
        resync_ = false;
        changed_.clear();
        sink_.broadcast(PopSink::Audience::supervisors, board_calls_message(snapshot()));
        return;
    }
    // One message for the whole flush, however many calls changed: a
    // supervisor's socket gets four a second at any call rate (one per
    // change filled its 256-message queue at 700 calls/s). Oldest first,
    // as the snapshot lists them (the set has no order).
    if (changed_.empty()) return;
    std::vector<const Row*> changed;
    changed.reserve(changed_.size());
    nlohmann::json removed = nlohmann::json::array();
    for (const auto& id : changed_) {
        if (auto it = rows_.find(id); it != rows_.end()) changed.push_back(&it->second);
        else removed.push_back(id.value());
    }
    changed_.clear();
    std::sort(changed.begin(), changed.end(), [](const Row* x, const Row* y) { return x->order < y->order; });
    nlohmann::json calls = nlohmann::json::array();
    for (const Row* row : changed) calls.push_back(*entry(*row));
    sink_.broadcast(PopSink::Audience::supervisors, board_changes_message(std::move(calls), std::move(removed)));
}

CallService::PublishedBoard LiveBoard::published() const {
    // Keep it published for a while: a reader asks again (the wallboard's tick, a polling script).
    published_wanted_until_.store(steady_ms() + 30'000, std::memory_order_relaxed);
    CallService::PublishedBoard b;
    b.current = !published_stale_.load(std::memory_order_relaxed);
    std::lock_guard lk(published_mutex_);
    b.calls = published_;
    return b;
}

}  // namespace ringside::detail
