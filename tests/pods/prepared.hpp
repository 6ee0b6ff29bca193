#pragma once

#include <string>

#include "pods/manifests.hpp"

namespace troupe::testing {

/// The image scripts/image builds, and the PostgreSQL stand-in tests/pods/prepare builds.
constexpr const char* troupe_image = "localhost/troupe-node:dev";
constexpr const char* postgres_image = "localhost/troupe-test-postgres:15";

/// What tests/pods/prepare makes in a temporary folder: the dev overlay rendered with
/// throwaway secrets, and podman's settings, which the constructor puts in the environment.
struct prepared {
  prepared();
  ~prepared();
  prepared(const prepared&) = delete;
  prepared& operator=(const prepared&) = delete;

  manifests objects;
  std::string dir;
};

} // namespace troupe::testing
