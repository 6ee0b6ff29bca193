#include <gtest/gtest.h>

#include "slo_guard.hpp"

namespace troupe::chaos_harness {
namespace {

using namespace std::chrono_literals;

TEST(slo_guard, stops_after_the_window_of_unexplained_errors) {
  slo_guard guard{0.2, 3000ms};
  slo_guard::time_point t{};
  EXPECT_FALSE(guard.observe(t, 0.5, false));
  EXPECT_FALSE(guard.observe(t + 3000ms, 0.5, false));
  auto why = guard.observe(t + 3001ms, 0.5, false);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("0.20"), std::string::npos) << *why;
}

TEST(slo_guard, errors_a_fault_explains_do_not_count) {
  slo_guard guard{0.2, 1000ms};
  slo_guard::time_point t{};
  for (int i = 0; i < 100; ++i)
    EXPECT_FALSE(guard.observe(t + i * 100ms, 0.9, true));
}

TEST(slo_guard, a_dip_below_the_limit_starts_the_window_again) {
  slo_guard guard{0.2, 1000ms};
  slo_guard::time_point t{};
  EXPECT_FALSE(guard.observe(t, 0.5, false));
  EXPECT_FALSE(guard.observe(t + 900ms, 0.5, false));
  EXPECT_FALSE(guard.observe(t + 950ms, 0.1, false));
  EXPECT_FALSE(guard.observe(t + 1500ms, 0.5, false));
  EXPECT_FALSE(guard.observe(t + 2400ms, 0.5, false));
  EXPECT_TRUE(guard.observe(t + 2600ms, 0.5, false));
}

} // namespace
} // namespace troupe::chaos_harness
