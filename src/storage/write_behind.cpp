#include "ringside/storage/write_behind.hpp"

#include <algorithm>
#include <optional>
#include <unordered_set>

namespace ringside {

WriteBehindStore::WriteBehindStore(Storage& inner, std::function<void(const std::string&)> on_error,
                                   std::chrono::milliseconds gather, std::size_t max_queued)
    : inner_(inner),
      on_error_(std::move(on_error)),
      gather_(gather),
      max_queued_(std::max<std::size_t>(max_queued, 1)),
      writer_([this] { run(); }) {}

namespace {

/// The batch without the upserts a later write of the same call supersedes.
/// A final write (it adds the history entry) is always kept; so is the
/// order of what is kept.
std::vector<Storage::CallWrite> coalesced(std::vector<Storage::CallWrite>&& batch) {
    std::unordered_set<std::string> later;
    later.reserve(batch.size());
    std::vector<bool> keep(batch.size(), true);
    std::size_t kept = batch.size();
    for (std::size_t i = batch.size(); i-- > 0;) {
        const auto& id = batch[i].record.id.value();
        if (!later.insert(id).second && !batch[i].final) keep[i] = false, --kept;
    }
    if (kept == batch.size()) return std::move(batch);
    std::vector<Storage::CallWrite> out;
    out.reserve(kept);
    for (std::size_t i = 0; i < batch.size(); ++i)
        if (keep[i]) out.push_back(std::move(batch[i]));
    return out;
}

}  // namespace

WriteBehindStore::~WriteBehindStore() {
    {
        std::lock_guard lk(mutex_);
        stopping_ = true;
    }
    work_cv_.notify_all();
    writer_.join();  // the writer drains the queue before it returns
}

void WriteBehindStore::enqueue(Op op) {
    bool first = false;
    {
        std::lock_guard lk(mutex_);
        first = queue_.empty();
        queue_.push_back(std::move(op));
        ++enqueued_;
        if (unavailable_ && queue_.size() > max_queued_) shed_locked();
    }
    // Only the first write of a batch wakes the writer: while it gathers,
    // applies or is about to look again, the queue is not empty, so it does
    // not sleep on it. (A wake per write cost a context switch per PBX event.)
    if (first) work_cv_.notify_one();
}

void WriteBehindStore::run() {
    using namespace std::chrono_literals;
    auto backoff = 100ms;
    std::optional<std::chrono::steady_clock::time_point> give_up;  // set once stopping while unreachable
    std::unique_lock lk(mutex_);
    for (;;) {
        work_cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        // Gather what else comes within the window (a reader waiting, or
        // stopping, ends it at once).
        if (gather_.count() > 0 && !unavailable_)
            work_cv_.wait_for(lk, gather_, [&] { return stopping_ || flush_waiters_ > 0; });
        // Take everything queued so far; apply it without holding the lock.
        std::vector<Op> batch;
        batch.swap(queue_);
        const std::size_t taken = batch.size();
        lk.unlock();
        batch = coalesced(std::move(batch));
        const std::size_t kept = batch.size();
        const auto failed = apply(batch);  // leaves what the store was unreachable for
        lk.lock();
        const std::size_t left = batch.size();
        // The writes left go back before what came meanwhile, in order; they
        // count as applied when they are.
        if (left) queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
        applied_ += taken - left;
        coalesced_ += taken - kept;
        failed_ += failed;
        const bool was = unavailable_;
        unavailable_ = left > 0;
        if (unavailable_ != was && on_error_) {
            lk.unlock();
            on_error_(unavailable_ ? "the database is unreachable: call records are kept in memory and retried"
                                   : "the database answers again: the call records kept meanwhile are stored");
            lk.lock();
        }
        done_cv_.notify_all();
        if (!unavailable_) {
            backoff = 100ms;
            continue;
        }
        ++retries_;
        if (stopping_) {
            const auto now = std::chrono::steady_clock::now();
            if (!give_up) give_up = now + 10s;
            if (now >= *give_up) {
                const auto lost = queue_.size();
                failed_ += lost;
                applied_ += lost;
                queue_.clear();
                done_cv_.notify_all();
                if (on_error_) {
                    lk.unlock();
                    on_error_(std::to_string(lost) + " call-record writes not stored: the database stayed unreachable");
                    lk.lock();
                }
                return;
            }
        }
        work_cv_.wait_for(lk, backoff, [&] { return stopping_ && !give_up; });
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5s);
    }
}

void WriteBehindStore::shed_locked() {
    // Superseded upserts first, then the oldest upserts; finals stay.
    const auto before = queue_.size();
    queue_ = coalesced(std::move(queue_));
    coalesced_ += before - queue_.size();
    applied_ += before - queue_.size();
    std::size_t excess = queue_.size() > max_queued_ ? queue_.size() - max_queued_ : 0;
    if (!excess) return;
    std::vector<Op> kept;
    kept.reserve(queue_.size() - excess);
    for (auto& op : queue_) {
        if (excess && !op.final) {
            --excess;
            ++dropped_;
            ++applied_;
            continue;
        }
        kept.push_back(std::move(op));
    }
    queue_.swap(kept);
}

std::uint64_t WriteBehindStore::apply(std::vector<Op>& batch) {
    try {
        inner_.write_calls(batch);
        batch.clear();
        return 0;
    } catch (const StorageUnavailable&) {
        return 0;  // all of it is kept
    } catch (const std::exception&) {
        // Nothing of the batch was stored: find the write that fails.
    }
    std::uint64_t failed = 0;
    std::size_t done = 0;
    for (; done < batch.size(); ++done) {
        const auto& op = batch[done];
        try {
            inner_.write_calls({op});
        } catch (const StorageUnavailable&) {
            break;  // this one and the rest are kept
        } catch (const std::exception& e) {
            ++failed;
            if (on_error_) on_error_("call " + op.record.id.value() + ": record not stored: " + e.what());
        }
    }
    batch.erase(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(done));
    return failed;
}

void WriteBehindStore::flush() {
    std::unique_lock lk(mutex_);
    const auto target = enqueued_;
    if (applied_ >= target) return;
    if (unavailable_) return;  // the read goes to the store as it is; waiting would last the outage
    ++flush_waiters_;
    work_cv_.notify_one();
    done_cv_.wait(lk, [&] { return applied_ >= target || unavailable_; });
    --flush_waiters_;
}

std::size_t WriteBehindStore::queued() const {
    std::lock_guard lk(mutex_);
    return static_cast<std::size_t>(enqueued_ - applied_);
}

std::uint64_t WriteBehindStore::coalesced_writes() const {
    std::lock_guard lk(mutex_);
    return coalesced_;
}

bool WriteBehindStore::unavailable() const {
    std::lock_guard lk(mutex_);
    return unavailable_;
}

std::uint64_t WriteBehindStore::retries() const {
    std::lock_guard lk(mutex_);
    return retries_;
}

std::uint64_t WriteBehindStore::dropped_writes() const {
    std::lock_guard lk(mutex_);
    return dropped_;
}

std::uint64_t WriteBehindStore::failed_writes() const {
    std::lock_guard lk(mutex_);
    return failed_;
}

void WriteBehindStore::upsert_call(const CallRecord& c) { enqueue(Op{c, std::nullopt, false}); }

void WriteBehindStore::finish_call(const CallRecord& c, const std::optional<Interaction>& history) {
    enqueue(Op{c, history, true});
}

std::optional<CallRecord> WriteBehindStore::find_call(const CallId& id) {
    flush();
    return inner_.find_call(id);
}

std::vector<CallRecord> WriteBehindStore::list_calls(const CallFilter& f) {
    flush();
    return inner_.list_calls(f);
}

void WriteBehindStore::for_each_call(const CallFilter& f, const std::function<bool(const CallRecord&)>& fn) {
    flush();
    inner_.for_each_call(f, fn);
}

// ---- supervisor call log and reports (issue 4)

CallPage WriteBehindStore::list_call_page(const CallFilter& f) {
    flush();
    return inner_.list_call_page(f);
}

CallFigures WriteBehindStore::call_figures(Timestamp since, Timestamp until, int service_level_seconds) {
    flush();
    return inner_.call_figures(since, until, service_level_seconds);
}

CallReport WriteBehindStore::call_report(const ReportQuery& q) {
    flush();
    return inner_.call_report(q);
}

std::vector<CallRecord> WriteBehindStore::open_calls(const PbxId& pbx) {
    flush();
    return inner_.open_calls(pbx);
}

bool WriteBehindStore::set_disposition(const CallId& id, const std::string& d, const std::string& n) {
    flush();
    return inner_.set_disposition(id, d, n);
}

CallLog::DispositionWrite WriteBehindStore::set_disposition_if(const CallId& id, const std::string& d,
                                                               const std::string& n, const std::string& previous) {
    flush();
    return inner_.set_disposition_if(id, d, n, previous);
}

}  // namespace ringside
