// demo_smoke PORT: the newcomer's first minutes against a demo already running
// on 127.0.0.1:PORT (`scripts/demo --listen 127.0.0.1:PORT`): /healthz answers,
// a demo agent signs in, and one call.ringing reaches their WebSocket. CI runs
// it in the fresh Debian 12 root after the test suite (.ci/run); it is not a
// ctest test because it does not start the demo itself.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "harness.hpp"

int main(int argc, char** argv) {
    using namespace ringside::test;
    if (argc != 2) {
        std::fprintf(stderr, "usage: demo_smoke PORT\n");
        return 2;
    }
    const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
    try {
        // The demo may still be configuring and building when this starts.
        if (!wait_healthy(port, 600s)) {
            std::fprintf(stderr, "demo_smoke: FAIL: /healthz on 127.0.0.1:%u did not answer 200 within 600 s\n", port);
            return 1;
        }
        std::printf("demo_smoke: PASS /healthz answers 200\n");
        auto token = login(port, "alice", "agent-demo");
        std::printf("demo_smoke: PASS alice signed in\n");
        WsClient alice(port, token);
        auto ring = alice.next_of("call.ringing", 60s);
        if (!ring) {
            std::fprintf(stderr, "demo_smoke: FAIL: no call.ringing reached alice's WebSocket within 60 s\n");
            return 1;
        }
        std::printf("demo_smoke: PASS call.ringing %s for %s (customer %s)\n",
                    (*ring)["call"]["id"].get<std::string>().c_str(), (*ring)["call"]["to"].dump().c_str(),
                    (*ring)["customer"].is_object() ? (*ring)["customer"]["name"].dump().c_str() : "unknown");
        alice.close();
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "demo_smoke: FAIL: %s\n", e.what());
        return 1;
    }
}
