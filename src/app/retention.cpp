#include "retention.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "ringside/core/time.hpp"

namespace ringside::app {

std::string retention_summary(const RetentionReport& r, const RetentionCutoffs& c, bool preview) {
    std::string out;
    auto part = [&](const std::optional<Timestamp>& cut, const char* verb, const char* would, std::int64_t n,
                    const char* what) {
        if (!cut) return;
        out += out.empty() ? "" : ", ";
        out += std::string(preview ? would : verb) + " " + std::to_string(n) + " " + what + " before " + format_iso(*cut);
    };
    part(c.call_notes_before, "blanked the notes of", "would blank the notes of", r.call_notes_blanked,
         "calls started");
    part(c.call_records_before, "deleted", "would delete", r.call_records_deleted, "call records started");
    part(c.audit_before, "deleted", "would delete", r.audit_entries_deleted, "audit entries written");
    return out.empty() ? "no retention rules: everything is kept" : out;
}

std::string retention_rules_text(const RetentionRules& rules) {
    auto one = [](const std::optional<int>& m, const char* what) {
        return std::string(what) + " " + (m ? std::to_string(*m) + (*m == 1 ? " month" : " months") : "for ever");
    };
    return one(rules.call_notes_months, "call notes") + ", " + one(rules.call_records_months, "call records") + ", " +
           one(rules.audit_months, "audit entries");
}

RetentionJob::RetentionJob(Storage& store, RetentionRules rules)
    : store_(store), rules_(rules), timer_(thread_.get_executor()) {}

RetentionJob::~RetentionJob() {
    stop();
    thread_.join();
}

void RetentionJob::start() {
    if (!rules_.any()) return;
    spdlog::info("retention: keeping {}; applied now and every {} hours", retention_rules_text(rules_), period.count());
    boost::asio::post(thread_, [this] { schedule(std::chrono::steady_clock::duration::zero()); });
}

void RetentionJob::stop() {
    boost::asio::post(thread_, [this] {
        stopped_ = true;
        timer_.cancel();
    });
}

void RetentionJob::schedule(std::chrono::steady_clock::duration after) {
    if (stopped_) return;
    timer_.expires_after(after);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopped_) return;
        run_once();
    });
}

void RetentionJob::run_once() {
    const auto now = now_ms();
    const auto cutoffs = retention_cutoffs(rules_, now);
    const auto began = std::chrono::steady_clock::now();
    try {
        const auto report = store_.apply_retention(cutoffs, now);
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
        spdlog::info("retention: {} ({} ms)", retention_summary(report, cutoffs, false), took.count());
        schedule(period);
    } catch (const std::exception& e) {
        spdlog::error("retention: could not apply the rules, trying again in {} hour(s): {}", retry_after.count(),
                      e.what());
        schedule(retry_after);
    }
}

}  // namespace ringside::app
