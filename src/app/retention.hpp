#pragma once
// [retention] applied: the daily job of `ringside serve`, and the words the
// job's log line and `ringside retention` share.
#include <chrono>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "ringside/core/privacy.hpp"
#include "ringside/storage/store.hpp"

namespace ringside::app {

/// "blanked the notes of 3 calls started before 2024-12-03T10:00:00.000Z, ..."
/// for each kind the cutoffs name; "would blank ..." when `preview`.
std::string retention_summary(const RetentionReport& r, const RetentionCutoffs& c, bool preview);

/// "call notes 24 months, call records for ever, audit entries 84 months".
std::string retention_rules_text(const RetentionRules& rules);

/// Applies the rules at start() and then every 24 hours, on a thread of its
/// own: the store works in short batches there, so neither the call engine's
/// strand nor an I/O thread ever waits for a run, and pops go on meanwhile.
/// Each run is logged with its counts (a failure too, retried an hour later)
/// and audited by the store ("retention.apply").
class RetentionJob {
public:
    static constexpr std::chrono::hours period{24};
    static constexpr std::chrono::hours retry_after{1};

    RetentionJob(Storage& store, RetentionRules rules);
    /// Stops and waits for a run in progress to end.
    ~RetentionJob();
    RetentionJob(const RetentionJob&) = delete;
    RetentionJob& operator=(const RetentionJob&) = delete;

    /// Any thread. Nothing happens when the rules keep everything.
    void start();
    /// Any thread; idempotent. No run starts after it.
    void stop();

private:
    void schedule(std::chrono::steady_clock::duration after);  // on the job's thread
    void run_once();                                            // on the job's thread

    Storage& store_;
    const RetentionRules rules_;
    boost::asio::thread_pool thread_{1};
    boost::asio::steady_timer timer_;
    bool stopped_ = false;  // the job's thread only
};

}  // namespace ringside::app
