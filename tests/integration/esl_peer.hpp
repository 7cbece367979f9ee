#pragma once
// A FreeSWITCH mod_event_socket stand-in for integration tests, speaking the
// real protocol bytes over loopback (moved here from esl_test.cpp so the
// cross-adapter test drives the same peer).
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

namespace ringside::test {

using namespace std::chrono_literals;

/// A FreeSWITCH mod_event_socket stand-in that speaks the real protocol bytes
/// for one client at a time: auth/request, `auth` checked against the
/// password, `event plain` accepted, `api show channels as json` answered
/// with `listing`, `api status` answered. Events are pushed with send().
class EslServer {
    using tcp = boost::asio::ip::tcp;
public:
    explicit EslServer(std::string password) : password_(std::move(password)) {
        acceptor_.open(tcp::v4());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        acceptor_.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        thread_ = std::thread([this] { run(); });
    }
    ~EslServer() {
        stopping_ = true;
        ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
        {
            std::lock_guard lock(mutex_);
            if (socket_) ::shutdown(socket_->native_handle(), SHUT_RDWR);
        }
        thread_.join();
    }
    unsigned short port() const { return acceptor_.local_endpoint().port(); }

    /// Writes raw bytes to the connected client (events, a disconnect notice).
    void send(const std::string& bytes) {
        std::lock_guard lock(mutex_);
        if (!socket_) throw std::runtime_error("no ESL client connected");
        boost::asio::write(*socket_, boost::asio::buffer(bytes));
    }
    /// True once a client authenticated, subscribed and asked for the listing.
    bool wait_ready(std::chrono::milliseconds timeout = 15s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (ready_) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }
    std::vector<std::string> commands() {
        std::lock_guard lock(mutex_);
        return commands_;
    }
    std::atomic<int> refused{0};

private:
    void run() {
        while (!stopping_) {
            tcp::socket s(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(s, ec);
            if (ec || stopping_) return;
            {
                std::lock_guard lock(mutex_);
                socket_.emplace(std::move(s));
            }
            serve();
            std::lock_guard lock(mutex_);
            ready_ = false;
            socket_.reset();
        }
    }

    void serve() {
        send("Content-Type: auth/request\n\n");
        boost::asio::streambuf buf;
        for (;;) {
            boost::system::error_code ec;
            const auto n = boost::asio::read_until(*socket_, buf, "\n\n", ec);
            if (ec) return;
            std::string cmd(boost::asio::buffers_begin(buf.data()), boost::asio::buffers_begin(buf.data()) + static_cast<long>(n) - 2);
            buf.consume(n);
            {
                std::lock_guard lock(mutex_);
                commands_.push_back(cmd);
            }
            if (cmd.starts_with("auth ")) {
                if (cmd.substr(5) != password_) {
                    ++refused;
                    send("Content-Type: command/reply\nReply-Text: -ERR invalid\n\n");
                    return;
                }
                send("Content-Type: command/reply\nReply-Text: +OK accepted\n\n");
            } else if (cmd.starts_with("event plain ")) {
                send("Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n");
            } else if (cmd == "api show channels as json") {
                api(R"({"row_count":0})" "\n");
                ready_ = true;
            } else if (cmd == "api status") {
                api("UP 0 years, 0 days, 0 hours, 1 minute\nFreeSWITCH is ready\n");
            } else {
                send("Content-Type: command/reply\nReply-Text: -ERR command not found\n\n");
            }
        }
    }
    void api(const std::string& body) {
        send("Content-Type: api/response\nContent-Length: " + std::to_string(body.size()) + "\n\n" + body);
    }

    std::string password_;
    boost::asio::io_context ioc_;
    tcp::acceptor acceptor_{ioc_};
    std::thread thread_;
    std::mutex mutex_;
    std::optional<tcp::socket> socket_;
    std::vector<std::string> commands_;
    std::atomic<bool> ready_{false};
    std::atomic<bool> stopping_{false};
};


}  // namespace ringside::test
