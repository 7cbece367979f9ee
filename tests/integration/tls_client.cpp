#include "tls_client.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace ringside::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http_ns = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string hex_digest(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &len) != 1) throw std::runtime_error("X509_digest failed");
    std::string out;
    static constexpr char hex[] = "0123456789ABCDEF";
    for (unsigned i = 0; i < len; ++i) {
        if (i) out += ':';
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

tcp::endpoint endpoint_for(unsigned short port) { return {asio::ip::make_address("127.0.0.1"), port}; }

/// A connected, handshaken TLS stream to 127.0.0.1:port, from `source` when not empty.
void connect(beast::ssl_stream<beast::tcp_stream>& s, unsigned short port, const std::string& source = "") {
    beast::get_lowest_layer(s).expires_after(10s);
    if (!source.empty()) {
        beast::get_lowest_layer(s).socket().open(asio::ip::tcp::v4());
        beast::get_lowest_layer(s).socket().bind(asio::ip::tcp::endpoint(asio::ip::make_address(source), 0));
    }
    beast::get_lowest_layer(s).connect(endpoint_for(port));
    s.set_verify_mode(ssl::verify_peer);
    s.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    s.handshake(ssl::stream_base::client);
}

}  // namespace

TestCert make_cert(const std::filesystem::path& dir, const std::string& name) {
    TestCert c{dir / (name + ".crt"), dir / (name + ".key")};
    auto r = run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-days", "2", "-subj", "/CN=ringside test " + name, "-addext",
                  "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", c.key.string(), "-out", c.cert.string()},
                 dir);
    if (r.status != 0) throw std::runtime_error("openssl req failed: " + r.err);
    return c;
}

std::string file_fingerprint(const std::filesystem::path& cert) {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(cert.c_str(), "rb"), &std::fclose);
    if (!f) throw std::runtime_error("cannot open " + cert.string());
    std::unique_ptr<X509, void (*)(X509*)> x(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), &X509_free);
    if (!x) throw std::runtime_error(cert.string() + " holds no certificate");
    return hex_digest(x.get());
}

TlsClient::TlsClient(const std::vector<std::filesystem::path>& trusted) : ctx_(ssl::context::tls_client) {
    for (const auto& t : trusted) ctx_.load_verify_file(t.string());
}

HttpResponse TlsClient::request(unsigned short port, const std::string& method, const std::string& target,
                                const std::string& body, const std::string& token,
                                const std::map<std::string, std::string>& headers) {
    asio::io_context ioc;
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx_);
    connect(stream, port, source);
    http_ns::request<http_ns::string_body> req{http_ns::string_to_verb(method), target, 11};
    req.set(http_ns::field::host, "127.0.0.1:" + std::to_string(port));
    if (!token.empty()) req.set(http_ns::field::authorization, "Bearer " + token);
    if (!body.empty()) req.set(http_ns::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http_ns::write(stream, req);
    beast::flat_buffer buf;
    http_ns::response_parser<http_ns::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
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
    beast::get_lowest_layer(stream).expires_after(2s);
    beast::error_code ec;
    stream.shutdown(ec);  // close_notify; the server's answer (or a reset) is fine either way
    return r;
}

std::string TlsClient::served_fingerprint(unsigned short port) {
    asio::io_context ioc;
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx_);
    connect(stream, port);
    std::unique_ptr<X509, void (*)(X509*)> peer(SSL_get1_peer_certificate(stream.native_handle()), &X509_free);
    if (!peer) throw std::runtime_error("the server presented no certificate");
    auto fp = hex_digest(peer.get());
    beast::get_lowest_layer(stream).expires_after(2s);
    beast::error_code ec;
    stream.shutdown(ec);
    return fp;
}

std::string TlsClient::login(unsigned short port, const std::string& user, const std::string& password) {
    auto r = request(port, "POST", "/api/login", nlohmann::json{{"username", user}, {"password", password}}.dump());
    if (r.status != 200) throw std::runtime_error("login " + user + " -> " + std::to_string(r.status) + " " + r.body);
    return r.json().at("token").get<std::string>();
}

bool TlsClient::wait_healthy(unsigned short port, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        try {
            if (request(port, "GET", "/healthz").status == 200) return true;
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

WssClient::WssClient(TlsClient& tls, unsigned short port, const std::string& token) : ws_(ioc_, tls.context()) {
    connect(ws_.next_layer(), port, tls.source);
    beast::get_lowest_layer(ws_).expires_never();
    ws_.handshake("127.0.0.1:" + std::to_string(port), "/ws?token=" + token);
}

void WssClient::send(const nlohmann::json& j) { ws_.write(asio::buffer(j.dump())); }

void WssClient::start_read() {
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

std::optional<nlohmann::json> WssClient::next(std::chrono::milliseconds timeout) {
    if (!reading_) {
        reading_ = true;
        start_read();
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (inbox_.empty() && error_.empty() && std::chrono::steady_clock::now() < deadline) {
        ioc_.restart();
        ioc_.run_for(20ms);
    }
    if (!inbox_.empty()) {
        auto m = std::move(inbox_.front());
        inbox_.pop_front();
        return m;
    }
    if (!error_.empty()) throw std::runtime_error("websocket read: " + error_);
    return std::nullopt;
}

std::optional<nlohmann::json> WssClient::next_of(const std::string& type, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto m = next(left);
        if (!m) return std::nullopt;
        if ((*m)["type"] == type) return m;
    }
}

}  // namespace ringside::test
