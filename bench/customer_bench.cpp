// The customer file at scale: 1 million customers, 10 million interactions.
//   customer_bench [customers=1000000] [interactions=10000000] [dir=/tmp] [only=import|lookup]
// (only=import skips the lookups and searches, to time the import alone;
// only=lookup times the pop lookup alone and leaves the file as it was;
// only=recount hands every customer's score to Ringside and times the
// daily recount of computed scores over the whole file, then the lookup;
// any other value runs everything). A fifth argument grow-from=K seeds only
// interactions K..M into an existing file of the same customers.
// Reports, in microseconds or seconds:
//   - pop lookup (customer_context_by_phone + evaluate), p50/p99/max
//   - search: name (a word's first 3 letters, 4 letters inside a word, 2
//     letters at a word's start, two words, Persian), number, tag, segment
//   - import of 100,000 CSV rows (new customers) and its idempotent re-run
// The file is seeded once per size with batched transactions and reused
// (ringside-cust-N-M.db), since seeding dominates the run time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>

#include "ringside/core/customers.hpp"
#include "ringside/storage/customer_import.hpp"
#include "ringside/storage/sqlite_store.hpp"

using namespace ringside;
using clock_type = std::chrono::steady_clock;

namespace {

const std::vector<std::string> first_names{"Sara", "Ali", "Reza", "Maryam", "John", "Maria", "José", "Fatemeh",
                                           "مریم", "علی", "رضا", "زهرا", "محمد", "Hossein", "Elena", "Yuki"};
const std::vector<std::string> last_names{"Ahmadi", "Karimi", "Rezaei", "Hosseini", "Smith", "García", "Müller",
                                          "کریمی", "احمدی", "رضایی", "حسینی", "Tanaka", "Moradi", "Jafari",
                                          "Novak", "Kowalski", "محمدی", "Sadeghi", "Rossi", "Dubois"};

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

std::string phone_of(std::size_t k) { return "+98912" + std::to_string(1000000 + k); }

Customer customer_of(std::size_t k, Timestamp t0) {
    Customer c;
    const auto h = mix(k + 1);
    // A number suffix makes last names varied enough for realistic selectivity.
    c.name = first_names[h % first_names.size()] + " " + last_names[(h >> 8) % last_names.size()] +
             std::to_string((h >> 16) % 500);
    c.phones = {phone_of(k)};
    c.phone_labels = {"mobile"};
    c.email = "c" + std::to_string(k) + "@example.com";
    c.tier = (h >> 24) % 4 == 0 ? "gold" : "silver";
    c.tags = {(h >> 28) % 10 == 0 ? "vip" : "regular"};
    c.value_score = static_cast<int>((h >> 32) % 10) + 1;
    c.created_at = t0 - std::chrono::hours(24 * static_cast<long>((h >> 40) % 2000));
    return c;
}

struct Stats {
    double p50, p99, max;
};

Stats stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v[v.size() * 99 / 100], v.back()};
}

// CPU seconds of the whole process (all threads): on a shared, loaded
// machine this says more about the work than the wall clock does.
double cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double since_us(clock_type::time_point t) {
    return std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
}

void seed(SqliteStore& s, std::size_t n, std::size_t m, std::size_t interactions_from = 0) {
    const auto t0 = now_ms();
    const auto start = clock_type::now();
    constexpr std::size_t batch = 10000;
    for (std::size_t k = s.customer_count(); k < n; k += batch) {
        std::vector<Customer> b;
        for (std::size_t j = k; j < std::min(n, k + batch); ++j) b.push_back(customer_of(j, t0));
        s.create_customers(b);
        if (k % 100000 == 0) std::fprintf(stderr, "customers %zu (%.0f s)\n", k, since_us(start) / 1e6);
    }
    // Interactions: customer ids are 1..n in insertion order.
    static const char* channels[] = {"call", "call", "call", "email", "visit", "note"};
    constexpr std::size_t interaction_batch = 250000;
    for (std::size_t k = interactions_from; k < m; k += interaction_batch) {
        std::vector<Interaction> b;
        for (std::size_t j = k; j < std::min(m, k + interaction_batch); ++j) {
            Interaction i;
            const auto h = mix(j + 7);
            i.customer_id = static_cast<std::int64_t>(h % n) + 1;
            i.at = t0 - std::chrono::minutes(static_cast<long>(h >> 40));
            i.channel = channels[(h >> 8) % 6];
            i.direction = "inbound";
            i.summary = "contact";
            i.status = i.channel == std::string("call") ? "answered" : "";
            b.push_back(std::move(i));
        }
        // In customer order, as a real history arrives per customer: the
        // (customer_id, at) index is then written page by page, not at random
        // (10M interactions: from ~9 minutes per million on a loaded machine).
        std::sort(b.begin(), b.end(), [](const Interaction& x, const Interaction& y) {
            return x.customer_id != y.customer_id ? x.customer_id < y.customer_id : x.at < y.at;
        });
        s.add_interactions(b);
        if (k % 1000000 == 0) std::fprintf(stderr, "interactions %zu (%.0f s)\n", k, since_us(start) / 1e6);
    }
    std::fprintf(stderr, "seeded in %.0f s\n", since_us(start) / 1e6);
}

CustomerQuery name_query(const std::string& text) {
    CustomerQuery q;
    const auto f = fold_for_search(text);
    std::size_t a = 0;
    while (a < f.size()) {
        auto e = f.find(' ', a);
        if (e == std::string::npos) e = f.size();
        q.terms.push_back(f.substr(a, e - a));
        a = e + 1;
    }
    return q;
}

void report_search(SqliteStore& s, const char* what, const std::function<CustomerQuery(std::size_t)>& make,
                   std::size_t count) {
    std::vector<double> us;
    std::size_t hits = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const auto q = make(i);
        const auto t = clock_type::now();
        hits += s.search_customers(q).size();
        us.push_back(since_us(t));
    }
    const auto st = stats(us);
    std::printf("search %-34s p50 %8.0f us  p99 %8.0f us  max %8.0f us  (%.1f results avg)\n", what, st.p50, st.p99,
                st.max, static_cast<double>(hits) / static_cast<double>(count));
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::stoul(argv[1]) : 1000000;
    const std::size_t m = argc > 2 ? std::stoul(argv[2]) : 10000000;
    const std::filesystem::path dir = argc > 3 ? argv[3] : "/tmp";
    const auto file = dir / ("ringside-cust-" + std::to_string(n) + "-" + std::to_string(m) + ".db");
    const bool fresh = !std::filesystem::exists(file);
    // grow-from=K: the file already holds the customers and the first K
    // interactions (a copy of a smaller run's file): seed only the rest.
    std::size_t grow_from = 0;
    if (argc > 5 && std::string(argv[5]).rfind("grow-from=", 0) == 0) grow_from = std::stoul(argv[5] + 10);
    {
        const auto t = clock_type::now();
        SqliteStore s(file);
        std::printf("open (migrations, search backfill) %.1f s\n", since_us(t) / 1e6);
        if (fresh || grow_from > 0) seed(s, n, m, grow_from);
    }
    const std::string only = argc > 4 ? argv[4] : "all";
    if (only == "recount") {
        // As if every score had been computed and the last recount were a
        // day old: the store's next open recounts them all.
        const auto t = clock_type::now();
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        db.exec("UPDATE customers SET value_score_computed = 1 WHERE value_score_computed = 0");
        db.exec("DELETE FROM store_meta WHERE key LIKE 'value_sweep%'");
        std::printf("scores handed to Ringside in %.1f s\n", since_us(t) / 1e6);
    }
    SqliteStore s(file);
    {
        // Timed apart from the queries below: the name index fill after its
        // migration and the daily score recount run in the background.
        const auto t = clock_type::now();
        s.wait_for_upkeep();
        std::printf("background upkeep (name index fill, score recount) settled in %.1f s\n", since_us(t) / 1e6);
    }
    std::printf("customers %zu, interactions %zu, file %s (%.0f MB)\n", s.customer_count(), m, file.c_str(),
                static_cast<double>(std::filesystem::file_size(file)) / 1e6);

    const bool import_only = only == "import";
    // ---- pop lookup: one indexed read per ringing call, plus the evaluation.
    if (!import_only) {
        for (std::size_t i = 0; i < 2000; ++i) s.customer_context_by_phone(phone_of(mix(i) % n));  // warm
        std::vector<double> us;
        std::size_t found = 0;
        for (std::size_t i = 0; i < 50000; ++i) {
            const auto phone = phone_of(mix(i + 99) % n);
            const auto t = clock_type::now();
            auto ctx = s.customer_context_by_phone(phone);
            if (ctx) {
                auto e = evaluate(*ctx, now_ms());
                found += e.value_quartile ? 1 : 0;
            }
            us.push_back(since_us(t));
        }
        const auto st = stats(us);
        std::printf("pop lookup + evaluation          p50 %8.1f us  p99 %8.1f us  max %8.0f us  (%zu of 50000 scored)\n",
                    st.p50, st.p99, st.max, found);
    }

    if (only == "lookup" || only == "recount") return 0;

    // ---- search.
    if (!import_only) report_search(s, "name, one word prefix (3 letters)", [&](std::size_t i) {
        return name_query(last_names[i % last_names.size()].substr(0, 3));
    }, 200);
    if (!import_only) report_search(s, "name, inside a word (4 letters)", [&](std::size_t i) {
        // "hmad" of Ahmadi, "ari" of Karimi...: the trigram index.
        const auto f = fold_for_search(last_names[i % last_names.size()]);
        std::size_t start = 0;  // from the second character, whatever the script
        do ++start; while (start < f.size() && (static_cast<unsigned char>(f[start]) & 0xC0) == 0x80);
        std::size_t end = start;
        for (int k = 0; k < 4 && end < f.size(); ++k)
            do ++end; while (end < f.size() && (static_cast<unsigned char>(f[end]) & 0xC0) == 0x80);
        return name_query(f.substr(start, end - start));
    }, 200);
    if (!import_only) report_search(s, "name, two letters (word start)", [&](std::size_t i) {
        return name_query(last_names[i % last_names.size()].substr(0, 2));
    }, 200);
    if (!import_only) report_search(s, "name, two words (first + last)", [&](std::size_t i) {
        const auto c = customer_of(mix(i) % n, now_ms());
        return name_query(c.name.substr(0, c.name.find(' ') + 4));
    }, 200);
    if (!import_only) report_search(s, "name, Persian with Arabic letters", [&](std::size_t i) {
        static const char* q[] = {"علي كريمي", "كريمي", "زهرا محمدي", "رضايي"};
        return name_query(q[i % 4]);
    }, 200);
    if (!import_only) report_search(s, "number", [&](std::size_t i) {
        CustomerQuery q;
        q.phone = phone_of(mix(i + 5) % n);
        return q;
    }, 2000);
    if (!import_only) report_search(s, "tag vip + tier gold", [&](std::size_t) {
        CustomerQuery q;
        q.tag = "vip";
        q.tier = "gold";
        return q;
    }, 100);
    if (!import_only) report_search(s, "segment: score 9-10", [&](std::size_t) {
        CustomerQuery q;
        q.min_score = 9;
        return q;
    }, 100);
    if (!import_only) report_search(s, "score 9-10, no contact in 90 days", [&](std::size_t) {
        CustomerQuery q;
        q.min_score = 9;
        q.not_contacted_since = now_ms() - std::chrono::days(90);
        return q;
    }, 100);
    if (!import_only) report_search(s, "contacted in the last 7 days", [&](std::size_t) {
        CustomerQuery q;
        q.contacted_since = now_ms() - std::chrono::days(7);
        return q;
    }, 20);
    if (!import_only) report_search(s, "with open issues", [&](std::size_t) {
        CustomerQuery q;
        q.with_open_issues = true;
        return q;
    }, 100);

    // ---- import 100,000 new rows, then the same file again.
    {
        std::string csv = "name,phones,email,tier,tags,value_score\n";
        const std::size_t rows = 100000;
        const std::size_t base = n + 5000000;  // numbers nobody has yet (unique per run below)
        const auto run_tag = static_cast<std::size_t>(now_ms().time_since_epoch().count() / 1000 % 1000);
        for (std::size_t k = 0; k < rows; ++k) {
            const auto num = base + run_tag * rows + k;
            csv += "Imported Person" + std::to_string(k) + ",0935" + std::to_string(1000000 + num % 9000000) +
                   ",i" + std::to_string(num) + "@example.org,silver,import;bench," + std::to_string(k % 10 + 1) + "\n";
        }
        PhoneNormalizer phones("IR");
        auto t = clock_type::now();
        auto c0 = cpu_s();
        const auto parsed = parse_customer_csv(csv, phones, CustomerRules{}, "bench");
        const double parse_s = since_us(t) / 1e6, parse_cpu = cpu_s() - c0;
        t = clock_type::now();
        c0 = cpu_s();
        auto dry = run_customer_import(s, csv, phones, CustomerRules{}, true, "bench");
        const double dry_s = since_us(t) / 1e6, dry_cpu = cpu_s() - c0;
        std::printf("import %zu rows: parsing alone %.2f s (cpu %.2f s, %zu valid); dry run %.2f s (cpu %.2f s, "
                    "would import %zu)\n",
                    rows, parse_s, parse_cpu, parsed.customers.size(), dry_s, dry_cpu, dry.imported);
        t = clock_type::now();
        c0 = cpu_s();
        auto r = run_customer_import(s, csv, phones, CustomerRules{}, false, "bench");
        const double first = since_us(t) / 1e6, first_cpu = cpu_s() - c0;
        t = clock_type::now();
        c0 = cpu_s();
        auto again = run_customer_import(s, csv, phones, CustomerRules{}, false, "bench");
        const double second = since_us(t) / 1e6, second_cpu = cpu_s() - c0;
        std::printf("import %zu rows: %.2f s (cpu %.2f s; imported %zu, already present %zu, rejected %zu); "
                    "re-run %.2f s (cpu %.2f s; imported %zu)\n",
                    rows, first, first_cpu, r.imported, r.already_present, r.rejected, second, second_cpu,
                    again.imported);
    }
    return 0;
}
