// Call-record write cost: N calls, each written start -> ring -> answer ->
// finish through SqliteStore::write_calls in batches of 20 (as the
// write-behind queue gathers them), on a fresh file. Half the callers are
// known customers, so half the finishes also store an interaction.
// call_write_bench [calls=20000] [dir=temp folder]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "ringside/storage/sqlite_store.hpp"

using namespace ringside;

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
    const std::filesystem::path dir = argc > 2 ? argv[2] : std::filesystem::temp_directory_path();
    const auto file = dir / "ringside-call-write-bench.db";
    for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + ext);
    SqliteStore s(file);
    std::vector<std::int64_t> customers;
    const auto t0 = now_ms();
    for (int k = 0; k < 200; ++k) {
        Customer c;
        c.name = "Customer " + std::to_string(k);
        c.phones = {"+98912" + std::to_string(1000000 + k)};
        c.created_at = t0;
        customers.push_back(s.create_customer(c));
    }

    constexpr std::size_t group = 20;
    double total_us = 0;
    for (std::size_t first = 0; first < n; first += group) {
        const std::size_t count = std::min(group, n - first);
        std::vector<CallRecord> calls(count);
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t k = first + i;
            auto& r = calls[i];
            r.id = CallId{"bench-" + std::to_string(k)};
            r.pbx = PbxId{"pbx1"};
            r.from = "+98912" + std::to_string(1000000 + k % 400);
            r.from_raw = r.from;
            r.to = "100";
            if (k % 2 == 0) r.customer_id = customers[k % customers.size()];
            r.queue = "sales";
            r.queue_position = 1;
            r.started_at = t0 + std::chrono::milliseconds(k * 10);
        }
        const auto start = std::chrono::steady_clock::now();
        for (int phase = 0; phase < 4; ++phase) {
            std::vector<Storage::CallWrite> batch;
            for (auto& r : calls) {
                const AgentId agent{"agent" + std::to_string(std::hash<std::string>{}(r.id.value()) % 50)};
                if (phase == 1) r.rang.push_back(agent);
                if (phase == 2) {
                    r.status = CallStatus::answered;
                    r.agent = agent;
                    r.extension = Extension{"2" + agent.value().substr(5)};
                    r.answered_at = r.started_at + std::chrono::seconds(3);
                    r.wait_seconds = 3;
                    r.hold_seconds = 3;
                }
                Storage::CallWrite w;
                if (phase == 3) {
                    r.ended_at = r.started_at + std::chrono::seconds(63);
                    r.talk_seconds = 60;
                    r.hangup_by = HangupBy::caller;
                    CallLeg l;
                    l.agent = r.agent;
                    l.extension = *r.extension;
                    l.rang_at = r.started_at;
                    l.answered_at = r.answered_at;
                    l.ended_at = r.ended_at;
                    l.talk_seconds = 60;
                    r.legs = {l};
                    w.final = true;
                    if (r.customer_id) {
                        Interaction h;
                        h.customer_id = *r.customer_id;
                        h.at = r.started_at;
                        h.summary = "Inbound call";
                        h.agent = r.agent;
                        w.history = h;
                    }
                }
                w.record = r;
                batch.push_back(std::move(w));
            }
            s.write_calls(batch);
        }
        total_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf("calls: %zu, 4 writes each in batches of %zu: %.1f us per call\n", n, group, total_us / n);
    auto last = s.find_call(CallId{"bench-" + std::to_string(n - 1)});
    if (!last || last->status != CallStatus::answered || last->rang.size() != 1 || last->legs.size() != 1) {
        std::fprintf(stderr, "the last call was not stored as written\n");
        return 1;
    }
    return 0;
}
