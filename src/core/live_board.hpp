#pragma once
// Internal to ringside_core: the supervisors' live board, one of
// CallService's jobs on its own. The engine says which calls entered,
// changed and left; the board keeps their order, builds each call's entry
// once per change (through the engine's `build`), and at each flush sends
// what changed, or a snapshot after a resync, and publishes the list for
// readers on other threads.
//
// Not thread-safe but for published(): the engine's strand calls the rest.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "ringside/core/call_service.hpp"
#include "ringside/core/model.hpp"
#include "ringside/core/ports/pop_sink.hpp"

namespace ringside::detail {

class LiveBoard {
public:
    using BoardList = CallService::BoardList;
    /// The wallboard entry (live_call_json) of a call on the board, in its state now.
    using Build = std::function<nlohmann::json(const CallId&)>;

    /// One call on the board. The engine keeps a pointer to it (stable until leave()).
    struct Row {
        CallId id;
        std::uint64_t order = 0;  // start order, for a stable list
        /// The entry as of its last change (null: changed since, built
        /// again when next needed). Shared with the published list.
        mutable std::shared_ptr<const nlohmann::json> entry;
    };

    LiveBoard(PopSink& sink, Build build) : sink_(sink), build_(std::move(build)) {}

    /// A new call, last in the order.
    Row& enter(const CallId& id);
    /// The call's entry changed. O(1).
    void touch(Row& row);
    /// The call left the board (ended, or merged into another). O(1) amortised.
    void leave(const CallId& id);
    /// The PBX's view replaced ours: the next flush sends a full snapshot.
    void resynced() { resync_ = true; }

    /// Every call's entry, oldest first. O(calls): for a snapshot, never per event.
    nlohmann::json snapshot() const;
    /// See CallService::flush_board.
    void flush(bool watched);
    /// See CallService::published_live_calls. Thread-safe.
    CallService::PublishedBoard published() const;

private:
    const std::shared_ptr<const nlohmann::json>& entry(const Row& row) const;
    void publish();
    static std::int64_t steady_ms();

    PopSink& sink_;
    Build build_;
    std::unordered_map<CallId, Row> rows_;
    /// The rows in start order (the wallboard's order), so a snapshot needs no sort.
    std::map<std::uint64_t, const Row*> by_order_;
    std::uint64_t next_order_ = 0;
    /// Calls whose entry changed since the last flush (O(1) per change; the
    /// board is built only at the flush, and only when watched).
    std::unordered_set<CallId> changed_;
    bool resync_ = false;

    /// The list as of the latest publish, for other threads.
    mutable std::mutex published_mutex_;
    std::shared_ptr<const BoardList> published_ = std::make_shared<const BoardList>();
    /// Calls changed since the published list was built.
    std::atomic<bool> published_stale_{false};
    /// Until when (steady ms) a reader wants the list kept published.
    mutable std::atomic<std::int64_t> published_wanted_until_{0};
};

}  // namespace ringside::detail
