#pragma once
// What the integration tests need to drive the real `ringside` binary over
// loopback: a child process, an HTTP client and a WebSocket client (Beast),
// temp directories. Every wait has a deadline so a broken build fails fast
// instead of hanging CI.
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <nlohmann/json.hpp>

namespace ringside::test {

using namespace std::chrono_literals;

/// A fresh directory under the system temp dir, removed at destruction.
struct TempDir {
    TempDir();
    ~TempDir();
    std::filesystem::path path;
};

/// A port that was free a moment ago on 127.0.0.1.
unsigned short free_port();

std::string read_file(const std::filesystem::path& p);
/// How often `needle` stands in `hay` (overlapping ones too), e.g. lines in a log.
std::size_t count(const std::string& hay, const std::string& needle);
void write_file(const std::filesystem::path& p, const std::string& text);
std::filesystem::path ringside_binary();

/// A child process with stdout and stderr captured to files.
class Process {
public:
    Process(const std::vector<std::string>& argv, const std::filesystem::path& log_dir, const std::string& stdin_text = "");
    ~Process();  // SIGKILL if still running
    Process(const Process&) = delete;
    void signal(int sig);
    /// Exit status, or nullopt if it did not exit within timeout.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    bool running();
    std::string out() const;
    std::string err() const;
    int pid() const { return pid_; }

private:
    int pid_ = -1;
    std::optional<int> status_;
    std::filesystem::path out_, err_;
};

/// Runs a command to completion; returns {exit status, stdout, stderr}.
struct RunResult {
    int status;
    std::string out;
    std::string err;
};
RunResult run(const std::vector<std::string>& argv, const std::filesystem::path& log_dir, const std::string& stdin_text = "");

struct HttpResponse {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
    nlohmann::json json() const { return nlohmann::json::parse(body); }
};

/// One request on a new connection.
HttpResponse http(unsigned short port, const std::string& method, const std::string& target,
                  const std::string& body = "", const std::string& token = "",
                  const std::map<std::string, std::string>& headers = {});

/// Polls GET /healthz until 200 or the deadline.
bool wait_healthy(unsigned short port, std::chrono::milliseconds timeout = 20s);

/// Logs in, returns the token (throws on failure).
std::string login(unsigned short port, const std::string& user, const std::string& password);

class WsClient {
public:
    /// Connects to /ws with ?token=; throws with the HTTP status if refused.
    WsClient(unsigned short port, const std::string& token);
    void send(const nlohmann::json& j);
    /// Next message, or nullopt after timeout.
    std::optional<nlohmann::json> next(std::chrono::milliseconds timeout = 5s);
    /// Skips messages until one of this type arrives (or timeout).
    std::optional<nlohmann::json> next_of(const std::string& type, std::chrono::milliseconds timeout = 10s);
    void close();

    /// True once the server closed the connection or it failed.
    bool closed() const { return !error_.empty(); }

private:
    void start_read();
    boost::asio::io_context ioc_;
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::beast::flat_buffer buf_;
    std::deque<nlohmann::json> inbox_;
    std::string error_;
    bool reading_ = false;
};

// ---- The real `ringside` binary as every site drives it (Site, and the
// ESL and SIP tests' own sites).

/// `ringside user add` against this config, the password on stdin; returns its exit status.
int add_user(const std::filesystem::path& config, const std::filesystem::path& log_dir, const std::string& username,
             const std::string& role, const std::string& ext, const std::string& password = "password-123");

/// Starts `ringside serve --config config` and waits for /healthz on port;
/// throws with ringside's stderr when it does not become healthy.
std::unique_ptr<Process> serve(const std::filesystem::path& config, const std::filesystem::path& log_dir,
                               unsigned short port);

/// SIGTERM to a `ringside serve` still running and a wait for it to exit;
/// its stderr goes to ours when RINGSIDE_TEST_LOGS is set.
void stop_serve(Process* ringside);

/// Polls GET /metrics until its body holds needle (or timeout).
bool wait_metric(unsigned short port, const std::string& needle, std::chrono::milliseconds timeout = 15s);

/// Polls GET /api/calls?limit=1000 with this token until a call satisfies
/// pred; after timeout, nullopt, and what the last answer was on stderr (naming `what`).
std::optional<nlohmann::json> wait_for_call(unsigned short port, const std::string& token,
                                            const std::function<bool(const nlohmann::json&)>& pred,
                                            std::chrono::milliseconds timeout = 10s, const std::string& what = "a call");

}  // namespace ringside::test
