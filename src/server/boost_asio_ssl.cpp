// Asio's OpenSSL layer (ssl::context, ssl::stream's engine) compiled once,
// like boost_asio.cpp, for what serves or tests HTTPS and WSS.
#include <boost/asio/ssl/impl/src.hpp>
