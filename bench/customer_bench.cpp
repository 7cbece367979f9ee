// The customer file at scale: 1 million customers, 10 million interactions.
//   customer_bench [customers=1000000] [interactions=10000000] [dir=/tmp]
// Reports, in microseconds or seconds:
//   - pop lookup (customer_context_by_phone + evaluate), p50/p99/max
//   - search: name prefix (one and two words, Latin and Persian), number, tag
//   - import of 100,000 CSV rows (new customers) and its idempotent re-run
// The file is seeded once per size with batched transactions and reused
// (ringside-cust-N-M.db), since seeding dominates the run time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

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

double since_us(clock_type::time_point t) {
    return std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
}

void seed(SqliteStore& s, std::size_t n, std::size_t m) {
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
    for (std::size_t k = 0; k < m; k += 50000) {
        std::vector<Interaction> b;
        for (std::size_t j = k; j < std::min(m, k + 50000); ++j) {
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
    {
        SqliteStore s(file);
        if (fresh) seed(s, n, m);
    }
    SqliteStore s(file);
    std::printf("customers %zu, interactions %zu, file %s (%.0f MB)\n", s.customer_count(), m, file.c_str(),
                static_cast<double>(std::filesystem::file_size(file)) / 1e6);

    // ---- pop lookup: one indexed read per ringing call, plus the evaluation.
    {
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

    // ---- search.
    report_search(s, "name, one word prefix (3 letters)", [&](std::size_t i) {
        return name_query(last_names[i % last_names.size()].substr(0, 3));
    }, 200);
    report_search(s, "name, two words (first + last)", [&](std::size_t i) {
        const auto c = customer_of(mix(i) % n, now_ms());
        return name_query(c.name.substr(0, c.name.find(' ') + 4));
    }, 200);
    report_search(s, "name, Persian with Arabic letters", [&](std::size_t i) {
        static const char* q[] = {"علي كريمي", "كريمي", "زهرا محمدي", "رضايي"};
        return name_query(q[i % 4]);
    }, 200);
    report_search(s, "number", [&](std::size_t i) {
        CustomerQuery q;
        q.phone = phone_of(mix(i + 5) % n);
        return q;
    }, 2000);
    report_search(s, "tag vip + tier gold", [&](std::size_t) {
        CustomerQuery q;
        q.tag = "vip";
        q.tier = "gold";
        return q;
    }, 100);
    report_search(s, "segment: score 9-10", [&](std::size_t) {
        CustomerQuery q;
        q.min_score = 9;
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
        auto r = run_customer_import(s, csv, phones, CustomerRules{}, false, "bench");
        const double first = since_us(t) / 1e6;
        t = clock_type::now();
        auto again = run_customer_import(s, csv, phones, CustomerRules{}, false, "bench");
        const double second = since_us(t) / 1e6;
        std::printf("import %zu rows: %.2f s (imported %zu, already present %zu, rejected %zu); re-run %.2f s "
                    "(imported %zu)\n",
                    rows, first, r.imported, r.already_present, r.rejected, second, again.imported);
    }
    return 0;
}
