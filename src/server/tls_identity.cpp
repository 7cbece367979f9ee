#include "ringside/server/tls_identity.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace ringside::server {

void SslCtxFree::operator()(ssl_ctx_st* ctx) const noexcept { SSL_CTX_free(ctx); }

namespace {

using File = TlsProblem::File;

/// A PEM file is a few kilobytes; anything this large is not one.
constexpr std::uintmax_t pem_limit = 1024 * 1024;

struct BioFree {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct X509Free {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
struct KeyFree {
    void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

/// The oldest reason OpenSSL queued, in its words; clears the queue.
std::string openssl_reason() {
    const unsigned long e = ERR_peek_error();
    std::string why;
    if (e) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        why = buf;
    }
    ERR_clear_error();
    return why.empty() ? "unknown OpenSSL error" : why;
}

/// The whole file, or a problem naming it.
std::variant<std::string, TlsProblem> read_pem(const std::filesystem::path& path, File which) {
    const auto problem = [&](std::string what) { return TlsProblem{which, path.string() + ": " + std::move(what)}; };
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return problem("is a directory, not a PEM file");
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) return TlsProblem{which, "cannot read " + path.string() + ": " + std::strerror(errno)};
    std::string text;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
        text.append(buf, n);
        if (text.size() > pem_limit) return problem("is larger than 1 MiB: not a PEM file");
    }
    if (std::ferror(f.get())) return TlsProblem{which, "cannot read " + path.string() + ": " + std::strerror(errno)};
    return text;
}

BioPtr memory_bio(const std::string& text) { return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))); }

/// Refuses instead of asking on the terminal (OpenSSL's default for an encrypted key).
int no_passphrase(char*, int, int, void*) { return -1; }

std::string describe(X509* cert) {
    std::string out = "subject ";
    if (BioPtr b{BIO_new(BIO_s_mem())}) {
        X509_NAME_print_ex(b.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
        BIO_puts(b.get(), ", expires ");
        ASN1_TIME_print(b.get(), X509_get0_notAfter(cert));
        char* data = nullptr;
        const long len = BIO_get_mem_data(b.get(), &data);
        out.append(data, static_cast<std::size_t>(len));
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1) {
        out += ", SHA-256 ";
        static constexpr char hex[] = "0123456789ABCDEF";
        for (unsigned i = 0; i < md_len; ++i) {
            if (i) out += ':';
            out += hex[md[i] >> 4];
            out += hex[md[i] & 15];
        }
    }
    return out;
}

}  // namespace

std::variant<TlsIdentity, TlsProblem> load_tls_identity(const TlsFiles& files) {
    ERR_clear_error();
    const auto cert_name = files.certificate.string();
    const auto key_name = files.private_key.string();

    auto cert_text = read_pem(files.certificate, File::certificate);
    if (auto* p = std::get_if<TlsProblem>(&cert_text)) return std::move(*p);
    auto key_text = read_pem(files.private_key, File::private_key);
    if (auto* p = std::get_if<TlsProblem>(&key_text)) return std::move(*p);
    const auto& ctext = std::get<std::string>(cert_text);
    const auto& ktext = std::get<std::string>(key_text);

    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return TlsProblem{File::certificate, "OpenSSL could not make a TLS context: " + openssl_reason()};
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);

    // The certificate: the first PEM block is the server's own, the rest its chain.
    auto cbio = memory_bio(ctext);
    X509Ptr leaf(PEM_read_bio_X509_AUX(cbio.get(), nullptr, no_passphrase, nullptr));
    if (!leaf) {
        ERR_clear_error();
        if (ctext.find("PRIVATE KEY-----") != std::string::npos)
            return TlsProblem{File::certificate,
                              cert_name + " holds a private key, not a certificate: are tls_certificate and "
                                          "tls_private_key swapped?"};
        return TlsProblem{File::certificate,
                          cert_name + " holds no PEM certificate (a \"-----BEGIN CERTIFICATE-----\" block)"};
    }
    if (SSL_CTX_use_certificate(ctx.get(), leaf.get()) != 1)
        return TlsProblem{File::certificate, cert_name + ": OpenSSL refused the certificate: " + openssl_reason()};
    while (X509* extra = PEM_read_bio_X509(cbio.get(), nullptr, no_passphrase, nullptr)) {
        if (SSL_CTX_add0_chain_cert(ctx.get(), extra) != 1) {
            X509_free(extra);
            return TlsProblem{File::certificate,
                              cert_name + ": OpenSSL refused an intermediate certificate: " + openssl_reason()};
        }
    }
    // The loop ends on "no start line" at the end of the file: not an error.
    ERR_clear_error();

    auto kbio = memory_bio(ktext);
    KeyPtr key(PEM_read_bio_PrivateKey(kbio.get(), nullptr, no_passphrase, nullptr));
    if (!key) {
        ERR_clear_error();
        if (ktext.find("ENCRYPTED") != std::string::npos)
            return TlsProblem{File::private_key,
                              key_name + " is encrypted with a passphrase; Ringside needs it unencrypted "
                                         "(openssl pkey -in KEY -out KEY.plain, readable by the service only)"};
        if (ktext.find("BEGIN CERTIFICATE") != std::string::npos)
            return TlsProblem{File::private_key,
                              key_name + " holds a certificate, not a private key: are tls_certificate and "
                                         "tls_private_key swapped?"};
        return TlsProblem{File::private_key, key_name + " holds no PEM private key (a \"-----BEGIN PRIVATE KEY-----\" block)"};
    }
    if (X509_check_private_key(leaf.get(), key.get()) != 1) {
        ERR_clear_error();
        return TlsProblem{File::private_key,
                          "the private key in " + key_name + " does not belong to the certificate in " + cert_name};
    }
    if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1)
        return TlsProblem{File::private_key, key_name + ": OpenSSL refused the private key: " + openssl_reason()};

    TlsIdentity id;
    id.summary = describe(leaf.get());
    id.expired = X509_cmp_current_time(X509_get0_notAfter(leaf.get())) < 0;
    id.context = std::move(ctx);
    return id;
}

}  // namespace ringside::server
