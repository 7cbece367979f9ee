// Asio and Beast compiled once, here, for the whole program
// (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION are set
// by the ringside_asio target). Every other translation unit only sees the
// declarations, which keeps builds on two cores bearable.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
