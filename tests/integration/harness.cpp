#include "harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace ringside::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http_ns = boost::beast::http;
using tcp = asio::ip::tcp;

TempDir::TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("ringside-test-" + std::to_string(rd()) + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
}

TempDir::~TempDir() {
    std::error_code ec;
    if (!std::getenv("RINGSIDE_KEEP_TEMP")) std::filesystem::remove_all(path, ec);
}

unsigned short free_port() {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::size_t count(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

std::filesystem::path ringside_binary() { return std::filesystem::path(RINGSIDE_BINARY_DIR) / "src/app/ringside"; }

Process::Process(const std::vector<std::string>& argv, const std::filesystem::path& log_dir, const std::string& stdin_text) {
    static int counter = 0;
    auto tag = std::to_string(::getpid()) + "-" + std::to_string(++counter);
    out_ = log_dir / ("proc-" + tag + ".out");
    err_ = log_dir / ("proc-" + tag + ".err");
    auto in_path = log_dir / ("proc-" + tag + ".in");
    write_file(in_path, stdin_text);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        int in = ::open(in_path.c_str(), O_RDONLY);
        int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
}

Process::~Process() {
    if (running()) {
        ::kill(pid_, SIGKILL);
        wait(5s);
    }
}

void Process::signal(int sig) { ::kill(pid_, sig); }

bool Process::running() {
    if (status_) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
    }
    return true;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(10ms);
    }
    return status_;
}

std::string Process::out() const { return read_file(out_); }
std::string Process::err() const { return read_file(err_); }

RunResult run(const std::vector<std::string>& argv, const std::filesystem::path& log_dir, const std::string& stdin_text) {
    Process p(argv, log_dir, stdin_text);
    auto st = p.wait(60s);
    if (!st) throw std::runtime_error("command did not finish within 60 s: " + argv.at(0));
    return {*st, p.out(), p.err()};
}

HttpResponse http(unsigned short port, const std::string& method, const std::string& target, const std::string& body,
                  const std::string& token, const std::map<std::string, std::string>& headers) {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.expires_after(10s);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    http_ns::request<http_ns::string_body> req{http_ns::string_to_verb(method), target, 11};
    req.set(http_ns::field::host, "127.0.0.1");
    if (!token.empty()) req.set(http_ns::field::authorization, "Bearer " + token);
    if (!body.empty()) req.set(http_ns::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http_ns::write(stream, req);
    beast::flat_buffer buf;
    http_ns::response_parser<http_ns::string_body> parser;
    parser.body_limit(512 * 1024 * 1024);
    http_ns::read(stream, buf, parser);
    auto& res = parser.get();
    HttpResponse r;
    r.status = static_cast<int>(res.result_int());
    r.body = res.body();
    for (const auto& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(f.value());
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return r;
}

bool wait_healthy(unsigned short port, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        try {
            if (http(port, "GET", "/healthz").status == 200) return true;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

std::string login(unsigned short port, const std::string& user, const std::string& password) {
    auto r = http(port, "POST", "/api/login", nlohmann::json{{"username", user}, {"password", password}}.dump());
    if (r.status != 200) throw std::runtime_error("login " + user + " -> " + std::to_string(r.status) + " " + r.body);
    return r.json().at("token").get<std::string>();
}

WsClient::WsClient(unsigned short port, const std::string& token) : ws_(ioc_) {
    beast::get_lowest_layer(ws_).expires_after(10s);
    beast::get_lowest_layer(ws_).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    beast::get_lowest_layer(ws_).expires_never();
    ws_.handshake("127.0.0.1:" + std::to_string(port), "/ws?token=" + token);
}

void WsClient::send(const nlohmann::json& j) { ws_.write(asio::buffer(j.dump())); }

void WsClient::start_read() {
    ws_.async_read(buf_, [this](beast::error_code ec, std::size_t) {
        if (ec) {
            error_ = ec.message();
            return;
        }
        inbox_.push_back(nlohmann::json::parse(beast::buffers_to_string(buf_.data())));
        buf_.clear();
        start_read();
    });
}

std::optional<nlohmann::json> WsClient::next(std::chrono::milliseconds timeout) {
    // One read stays outstanding for the life of the client; waiting is running
    // the io_context until it has delivered something or the deadline passes.
    if (!reading_) {
        reading_ = true;
        start_read();
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (inbox_.empty() && error_.empty() && std::chrono::steady_clock::now() < deadline) {
        ioc_.restart();
        ioc_.run_for(std::min<std::chrono::milliseconds>(
            20ms, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()) + 1ms));
    }
    if (!inbox_.empty()) {
        auto m = std::move(inbox_.front());
        inbox_.pop_front();
        return m;
    }
    if (!error_.empty()) throw std::runtime_error("websocket read: " + error_);
    return std::nullopt;
}

std::optional<nlohmann::json> WsClient::next_of(const std::string& type, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto m = next(left);
        if (!m) return std::nullopt;
        if ((*m)["type"] == type) return m;
    }
}

void WsClient::close() {
    beast::error_code ec;
    ws_.close(beast::websocket::close_code::normal, ec);
}

int add_user(const std::filesystem::path& config, const std::filesystem::path& log_dir, const std::string& username,
             const std::string& role, const std::string& ext, const std::string& password) {
    std::vector<std::string> argv{ringside_binary().string(), "user", "add", "--username", username, "--role", role,
                                  "--password-stdin", "--config", config.string()};
    if (!ext.empty()) {
        argv.push_back("--extension");
        argv.push_back(ext);
    }
    return run(argv, log_dir, password + "\n").status;
}

std::unique_ptr<Process> serve(const std::filesystem::path& config, const std::filesystem::path& log_dir,
                               unsigned short port) {
    auto ringside = std::make_unique<Process>(
        std::vector<std::string>{ringside_binary().string(), "serve", "--config", config.string()}, log_dir);
    if (!wait_healthy(port)) throw std::runtime_error("ringside did not become healthy:\n" + ringside->err());
    return ringside;
}

void stop_serve(Process* ringside) {
    if (!ringside) return;
    if (ringside->running()) {
        ringside->signal(SIGTERM);
        ringside->wait(10s);
    }
    if (std::getenv("RINGSIDE_TEST_LOGS")) std::fprintf(stderr, "%s", ringside->err().c_str());
}

bool wait_metric(unsigned short port, const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (http(port, "GET", "/metrics").body.find(needle) != std::string::npos) return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

std::optional<nlohmann::json> wait_for_call(unsigned short port, const std::string& token,
                                            const std::function<bool(const nlohmann::json&)>& pred,
                                            std::chrono::milliseconds timeout, const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    HttpResponse r;
    while (std::chrono::steady_clock::now() < deadline) {
        r = http(port, "GET", "/api/calls?limit=1000", "", token);
        if (r.status == 200) {
            const auto doc = r.json();
            for (const auto& c : doc["calls"])
                if (pred(c)) return c;
        }
        std::this_thread::sleep_for(100ms);
    }
    // Say what was there instead, so a failing test explains itself.
    std::fprintf(stderr, "waiting for %s: condition not met; last answer %d: %.2000s\n", what.c_str(), r.status,
                 r.body.c_str());
    return std::nullopt;
}

}  // namespace ringside::test
