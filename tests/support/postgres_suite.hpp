#pragma once

#include <gtest/gtest.h>

#include "support/postgres.hpp"

namespace troupe::testing {

/// A test fixture whose suite shares one throwaway PostgreSQL server, started before its
/// first test and removed after its last (ctest runs each test in its own process, so
/// there every test gets a fresh server).
class postgres_suite : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(throwaway_postgres::available()) << "PostgreSQL is not installed";
    pg_ = new throwaway_postgres();
  }

  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }

  /// The suite's server; null if it could not start.
  inline static throwaway_postgres* pg_ = nullptr;
};

} // namespace troupe::testing
