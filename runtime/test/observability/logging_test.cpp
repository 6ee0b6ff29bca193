#include <gtest/gtest.h>

#include "troupe/observability/logging.hpp"

namespace troupe::observability {
namespace {

TEST(logging, formats_parse_by_name) {
  EXPECT_EQ(parse_log_format("text"), log_format::text);
  EXPECT_EQ(parse_log_format("json"), log_format::json);
  EXPECT_FALSE(parse_log_format("xml"));
}

TEST(logging, levels_are_checked_by_name) {
  for (auto name : {"trace", "debug", "info", "warn", "error", "critical", "off"})
    EXPECT_TRUE(is_log_level(name)) << name;
  EXPECT_FALSE(is_log_level("verbose"));
  EXPECT_FALSE(is_log_level(""));
}

} // namespace
} // namespace troupe::observability
