#include "troupe/core/rate_limiter.hpp"

#include <string>

#include <gtest/gtest.h>

namespace troupe {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

const rate_limiter::time_point t0 = rate_limiter::clock::time_point{} + 1000s;

rate_limiter limiter(size_t burst = 3, ms refill = 1000ms, size_t max_keys = 100) {
  return rate_limiter{{burst, refill, max_keys}};
}

TEST(rate_limiter, a_key_spends_its_burst_then_waits_for_one_refill) {
  auto l = limiter();
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(l.acquire("a", t0), 0ms) << i;
  EXPECT_EQ(l.acquire("a", t0), 1000ms);
  EXPECT_EQ(l.acquire("a", t0 + 400ms), 600ms);
  EXPECT_EQ(l.wait_time("a", t0 + 400ms), 600ms);
  // Refused attempts take nothing: the wait does not grow with hammering.
  EXPECT_EQ(l.acquire("a", t0 + 999ms), 1ms);
  EXPECT_EQ(l.acquire("a", t0 + 1000ms), 0ms);
  EXPECT_EQ(l.acquire("a", t0 + 1000ms), 1000ms);
}

TEST(rate_limiter, keys_are_independent) {
  auto l = limiter(1);
  EXPECT_EQ(l.acquire("a", t0), 0ms);
  EXPECT_GT(l.acquire("a", t0), 0ms);
  EXPECT_EQ(l.acquire("b", t0), 0ms);
  EXPECT_EQ(l.wait_time("c", t0), 0ms);
}

TEST(rate_limiter, refills_up_to_the_burst_only) {
  auto l = limiter(2);
  EXPECT_EQ(l.acquire("a", t0), 0ms);
  // An hour later the bucket holds 2, not 3600.
  auto later = t0 + 1h;
  EXPECT_EQ(l.acquire("a", later), 0ms);
  EXPECT_EQ(l.acquire("a", later), 0ms);
  EXPECT_GT(l.acquire("a", later), 0ms);
}

TEST(rate_limiter, a_refund_gives_an_attempt_back_and_forgets_a_full_key) {
  auto l = limiter(2);
  EXPECT_EQ(l.acquire("a", t0), 0ms);
  EXPECT_EQ(l.acquire("a", t0), 0ms);
  EXPECT_GT(l.acquire("a", t0), 0ms);
  l.refund("a", t0);
  EXPECT_EQ(l.acquire("a", t0), 0ms);
  EXPECT_EQ(l.size(), 1u);
  l.refund("a", t0);
  l.refund("a", t0);
  EXPECT_EQ(l.size(), 0u);
  l.refund("never-seen", t0);
  EXPECT_EQ(l.size(), 0u);
}

TEST(rate_limiter, memory_is_bounded_and_the_least_recent_key_goes_first) {
  auto l = limiter(1, 1000ms, 3);
  for (auto key : {"a", "b", "c"})
    EXPECT_EQ(l.acquire(key, t0), 0ms);
  EXPECT_GT(l.acquire("a", t0), 0ms); // "a" is now the most recently used
  for (int i = 0; i < 10; ++i)
    l.acquire("flood-" + std::to_string(i), t0);
  EXPECT_EQ(l.size(), 3u);
  EXPECT_EQ(l.wait_time("a", t0), 0ms); // evicted: a fresh bucket again
  auto l2 = limiter(1, 1000ms, 3);
  for (auto key : {"a", "b", "c"})
    l2.acquire(key, t0);
  l2.acquire("a", t0);
  l2.acquire("d", t0); // evicts "b", the least recently used
  EXPECT_GT(l2.wait_time("a", t0), 0ms);
  EXPECT_EQ(l2.wait_time("b", t0), 0ms);
  EXPECT_GT(l2.wait_time("c", t0), 0ms);
}

TEST(rate_limiter, time_going_backwards_earns_nothing) {
  auto l = limiter(1);
  EXPECT_EQ(l.acquire("a", t0), 0ms);
  EXPECT_GE(l.acquire("a", t0 - 10s), 1000ms);
  EXPECT_EQ(l.acquire("a", t0 + 1000ms), 0ms);
}

TEST(rate_limiter, a_failure_after_the_window_counts_from_then) {
  // What a login sees: locked out, waits the hint, then may try once more at once.
  auto l = limiter(2, 30s);
  EXPECT_EQ(l.acquire("a", t0), 0ms);
  EXPECT_EQ(l.acquire("a", t0), 0ms);
  auto wait = l.acquire("a", t0 + 5s);
  EXPECT_EQ(wait, 25s);
  EXPECT_EQ(l.acquire("a", t0 + 5s + wait), 0ms);
  EXPECT_EQ(l.acquire("a", t0 + 5s + wait), 30s);
}

TEST(rate_limiter, zero_config_values_are_clamped) {
  rate_limiter l{{0, 0ms, 0}};
  EXPECT_EQ(l.acquire("a", t0), 0ms);
  EXPECT_EQ(l.acquire("a", t0), 1ms);
  EXPECT_EQ(l.acquire("b", t0), 0ms);
  EXPECT_EQ(l.size(), 1u);
}

} // namespace
} // namespace troupe
