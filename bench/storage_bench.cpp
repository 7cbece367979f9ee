// Latency of the screen-pop lookup (customer_context_by_phone) on a large
// store, alone and with concurrent readers plus a writer logging calls.
//   storage_bench [customers=1000000] [dir=/tmp]
// Prints p50/p99/max in microseconds. The file is built once per size and
// reused (ringside-bench-N.db), since filling it dominates the run time.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ringside/storage/sqlite_store.hpp"

using namespace ringside;
using clock_type = std::chrono::steady_clock;

namespace {

std::string phone_of(std::size_t k) { return "+98912" + std::to_string(1000000 + k); }

void fill(SqliteStore& s, std::size_t n) {
    const auto t0 = now_ms();
    for (std::size_t k = s.customer_count(); k < n; ++k) {
        Customer c;
        c.name = "Customer " + std::to_string(k);
        c.tier = "silver";
        c.tags = {"bench"};
        c.phones = {phone_of(k)};
        c.created_at = t0;
        const auto id = s.create_customer(c);
        if (k % 3 == 0) s.create_issue(Issue{0, id, "Refund not received", "", "open", t0, std::nullopt, "normal", ""});
        for (std::size_t j = 0; j < k % 8; ++j) {
            Interaction i;
            i.customer_id = id;
            i.at = t0 - std::chrono::hours(j);
            i.summary = "contact";
            s.add_interaction(i);
        }
        if (k % 100000 == 0) std::fprintf(stderr, "filled %zu\n", k);
    }
}

struct Stats {
    double p50, p99, max;
};

Stats stats(std::vector<double> us) {
    std::sort(us.begin(), us.end());
    return {us[us.size() / 2], us[us.size() * 99 / 100], us.back()};
}

std::vector<double> lookups(SqliteStore& s, std::size_t n, std::size_t count, unsigned seed) {
    std::vector<double> us;
    us.reserve(count);
    std::uint64_t x = seed * 2654435761u + 1;
    for (std::size_t i = 0; i < count; ++i) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        // One lookup in ten is an unknown caller, as in the demo.
        const std::string phone = i % 10 == 0 ? "+98939" + std::to_string(1000000 + x % n) : phone_of(x % n);
        const auto a = clock_type::now();
        auto ctx = s.customer_context_by_phone(phone);
        const auto b = clock_type::now();
        if (i % 10 != 0 && !ctx) std::abort();
        us.push_back(std::chrono::duration<double, std::micro>(b - a).count());
    }
    return us;
}

void print(const char* what, const Stats& st) {
    std::printf("%-44s p50 %7.1f us  p99 %7.1f us  max %8.1f us\n", what, st.p50, st.p99, st.max);
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
    const std::filesystem::path dir = argc > 2 ? argv[2] : std::filesystem::temp_directory_path();
    SqliteStore s(dir / ("ringside-bench-" + std::to_string(n) + ".db"));
    fill(s, n);
    std::printf("customers: %zu\n", s.customer_count());

    lookups(s, n, 20000, 7);  // warm the page cache and the statement caches
    print("lookup, one thread", stats(lookups(s, n, 100000, 1)));

    std::atomic<bool> stop{false};
    std::atomic<long> writes{0};
    std::thread writer([&] {
        const auto t0 = now_ms();
        for (long k = 0; !stop; ++k) {
            CallRecord c;
            c.id = CallId{"bench-" + std::to_string(t0.time_since_epoch().count()) + "." + std::to_string(k)};
            c.pbx = PbxId{"bench"};
            c.from = phone_of(static_cast<std::size_t>(k) % n);
            c.started_at = t0;
            c.status = CallStatus::missed;
            s.finish_call(c, std::nullopt);
            ++writes;
        }
    });
    std::vector<std::vector<double>> per(4);
    std::vector<std::thread> readers;
    const auto a = clock_type::now();
    for (unsigned r = 0; r < per.size(); ++r)
        readers.emplace_back([&, r] { per[r] = lookups(s, n, 50000, r + 11); });
    for (auto& t : readers) t.join();
    const double secs = std::chrono::duration<double>(clock_type::now() - a).count();
    stop = true;
    writer.join();
    std::vector<double> all;
    for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
    print("lookup, 4 readers + 1 writer", stats(all));
    std::printf("%.0f lookups/s across 4 readers, %.0f call writes/s meanwhile\n", all.size() / secs,
                writes / secs);
}
