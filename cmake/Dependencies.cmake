# Every dependency comes from Debian 12 packages (see README: scripts/install-deps).
find_package(Boost 1.74 REQUIRED)                # Asio, Beast (header-only parts)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(spdlog REQUIRED)
find_package(SQLiteCpp REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(doctest REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
# Debian's OpenSSL (libssl-dev): HTTPS and WSS under Beast's ssl_stream.
find_package(OpenSSL 3 REQUIRED)

# libphonenumber ships no CMake config on Debian: wrap it in an imported target.
find_library(PHONENUMBER_LIB phonenumber REQUIRED)
find_path(PHONENUMBER_INCLUDE phonenumbers/phonenumberutil.h REQUIRED)
add_library(ringside_phonenumber INTERFACE)
target_link_libraries(ringside_phonenumber INTERFACE ${PHONENUMBER_LIB})
target_include_directories(ringside_phonenumber SYSTEM INTERFACE ${PHONENUMBER_INCLUDE})

# Asio and Beast are compiled once, in src/server/boost_asio.cpp (see there).
add_library(ringside_asio INTERFACE)
target_link_libraries(ringside_asio INTERFACE Boost::boost Threads::Threads)
target_compile_definitions(ringside_asio INTERFACE
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)

# ICU (already pulled in by libphonenumber): folding names for search (core/customers.cpp).
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
