#pragma once
// What the TLS tests need besides the plain harness: throwaway certificates
// made with the openssl command line at test time (never a key in the tree),
// and HTTPS and WSS clients (Beast over OpenSSL) that verify the server's
// certificate against exactly the ones the test made.
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace ringside::test {

struct TestCert {
    std::filesystem::path cert;   // PEM certificate, self-signed, for 127.0.0.1 and localhost
    std::filesystem::path key;    // its unencrypted PEM private key
};

/// `openssl req -x509` into dir/<name>.crt and dir/<name>.key (EC P-256,
/// valid two days); throws with openssl's stderr when it fails.
TestCert make_cert(const std::filesystem::path& dir, const std::string& name);

/// SHA-256 of a PEM certificate file, hex pairs in capitals joined by ':'.
std::string file_fingerprint(const std::filesystem::path& cert);

/// A client that trusts these certificates only and checks that the
/// server's is for 127.0.0.1. Each call is a new TCP connection and TLS
/// handshake; any failure throws (the handshake's error when the server
/// presents a certificate not trusted).
class TlsClient {
public:
    explicit TlsClient(const std::vector<std::filesystem::path>& trusted);

    HttpResponse request(unsigned short port, const std::string& method, const std::string& target,
                         const std::string& body = "", const std::string& token = "",
                         const std::map<std::string, std::string>& headers = {});
    /// The SHA-256 fingerprint of the certificate a new connection is served.
    std::string served_fingerprint(unsigned short port);
    /// POST /api/login; the token (throws on failure).
    std::string login(unsigned short port, const std::string& user, const std::string& password);
    /// Polls GET /healthz until 200 or the deadline.
    bool wait_healthy(unsigned short port, std::chrono::milliseconds timeout = 20s);

    boost::asio::ssl::context& context() { return ctx_; }

    /// The local address new connections come from ("127.0.0.5"); empty: any.
    std::string source;

private:
    boost::asio::ssl::context ctx_;
};

/// /ws over TLS (wss://), authenticated by ?token=; the same reading
/// discipline as WsClient.
class WssClient {
public:
    WssClient(TlsClient& tls, unsigned short port, const std::string& token);
    void send(const nlohmann::json& j);
    std::optional<nlohmann::json> next(std::chrono::milliseconds timeout = 5s);
    std::optional<nlohmann::json> next_of(const std::string& type, std::chrono::milliseconds timeout = 10s);
    bool closed() const { return !error_.empty(); }

private:
    void start_read();
    boost::asio::io_context ioc_;
    boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>> ws_;
    boost::beast::flat_buffer buf_;
    std::deque<nlohmann::json> inbox_;
    std::string error_;
    bool reading_ = false;
};

}  // namespace ringside::test
