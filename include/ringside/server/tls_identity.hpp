#pragma once
// The server's TLS identity read from PEM files: the certificate chain and
// its private key in an OpenSSL SSL_CTX ready to accept connections. No
// sockets and no Asio: `ringside check-config` uses it to check the files,
// the server to serve them (and to re-read them on SIGHUP).
#include <filesystem>
#include <memory>
#include <string>
#include <variant>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace ringside::server {

struct TlsFiles {
    /// PEM: the server's certificate first, then any intermediates (a "fullchain.pem").
    std::filesystem::path certificate;
    /// PEM: that certificate's private key, unencrypted (PKCS#8, RSA or EC).
    std::filesystem::path private_key;
};

/// Why the files cannot be served.
struct TlsProblem {
    enum class File { certificate, private_key };
    File file;             // the one at fault (a mismatch blames the key)
    std::string message;   // a sentence that names the file, e.g. "cannot read /etc/x.pem: Permission denied"
};

struct SslCtxFree {
    void operator()(ssl_ctx_st* ctx) const noexcept;
};
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, SslCtxFree>;

struct TlsIdentity {
    /// TLS 1.2 and 1.3 only, server cipher order, no renegotiation, buffers
    /// released while a connection is idle (many open WebSockets).
    SslCtxPtr context;
    /// For the log: "subject CN=ringside.example, expires 2027-03-01 12:00:00 UTC, SHA-256 AB:CD:..".
    std::string summary;
    /// The certificate's notAfter has passed (served anyway; worth a warning).
    bool expired = false;
};

/// Reads both files and checks that the key belongs to the certificate.
/// Never throws; never prompts for a passphrase.
std::variant<TlsIdentity, TlsProblem> load_tls_identity(const TlsFiles& files);

}  // namespace ringside::server
