# Every dependency comes from Debian's packages; nothing is vendored.
find_package(Threads REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL REQUIRED)

# CAF 0.17 ships no CMake config. Both libraries are needed even when only
# caf_io is used directly (linking caf_io alone fails with "DSO missing").
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
add_library(caf::core UNKNOWN IMPORTED)
set_target_properties(caf::core PROPERTIES
  IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
  INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(caf::io UNKNOWN IMPORTED)
set_target_properties(caf::io PROPERTIES
  IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
  INTERFACE_LINK_LIBRARIES caf::core)
# Mutual TLS between nodes (libcaf-openssl, pulled in by libcaf-dev). Load io::middleman
# before openssl::manager: the other order aborts.
find_library(CAF_OPENSSL_LIBRARY caf_openssl REQUIRED)
add_library(caf::openssl UNKNOWN IMPORTED)
set_target_properties(caf::openssl PROPERTIES
  IMPORTED_LOCATION "${CAF_OPENSSL_LIBRARY}"
  INTERFACE_LINK_LIBRARIES "caf::io;OpenSSL::SSL;OpenSSL::Crypto")

if(TROUPE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(TROUPE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# libpqxx 6 ships only a pkg-config file; libpq comes in through it.
find_package(PkgConfig REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
# The store also speaks libpq directly, for pipeline mode (libpq 14 and later).
pkg_check_modules(PQ REQUIRED IMPORTED_TARGET libpq>=14)
