#pragma once

#include <string_view>

namespace troupe::node {

/// The version baked in at build time, e.g. "0.1.0-12-gabcdef0" (CMake's TROUPE_VERSION).
std::string_view build_version();

/// The source revision baked in at build time, e.g. "abcdef0" (CMake's TROUPE_REVISION).
std::string_view build_revision();

} // namespace troupe::node
