#include "troupe/core/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace troupe::test {
namespace {

using namespace std::chrono_literals;
using state = circuit_breaker::state;

class circuit_breaker_test : public ::testing::Test {
protected:
  /// A breaker with a small threshold and two trial calls, to tell "one" from "all".
  static circuit_breaker::config small(uint32_t trials = 1) {
    circuit_breaker::config cfg;
    cfg.failure_threshold = 3;
    cfg.open_duration = 5s;
    cfg.half_open_trials = trials;
    return cfg;
  }

  /// Lets `n` calls through at `now_` and reports each as failed.
  void fail(circuit_breaker& b, int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(b.allow(now_)) << "call " << i;
      b.on_failure(now_);
    }
  }

  // Far from the clock's epoch, so "now minus something" stays meaningful.
  circuit_breaker::time_point now_ = circuit_breaker::time_point{} + 1h;
};

TEST_F(circuit_breaker_test, defaults_are_five_failures_five_seconds_one_trial) {
  circuit_breaker::config cfg;
  EXPECT_EQ(cfg.failure_threshold, 5u);
  EXPECT_EQ(cfg.open_duration, 5s);
  EXPECT_EQ(cfg.half_open_trials, 1u);
  circuit_breaker b;
  EXPECT_EQ(b.current(now_), state::closed);
  fail(b, 4);
  EXPECT_EQ(b.current(now_), state::closed);
  fail(b, 1);
  EXPECT_EQ(b.current(now_), state::open);
}

TEST_F(circuit_breaker_test, opens_after_the_threshold_of_consecutive_failures) {
  circuit_breaker b{small()};
  fail(b, 2);
  EXPECT_EQ(b.current(now_), state::closed);
  EXPECT_EQ(b.failures(), 2u);
  fail(b, 1);
  EXPECT_EQ(b.current(now_), state::open);
}

TEST_F(circuit_breaker_test, a_success_restarts_the_count) {
  circuit_breaker b{small()};
  fail(b, 2);
  ASSERT_TRUE(b.allow(now_));
  b.on_success();
  EXPECT_EQ(b.failures(), 0u);
  fail(b, 2);
  EXPECT_EQ(b.current(now_), state::closed);
  fail(b, 1);
  EXPECT_EQ(b.current(now_), state::open);
}

TEST_F(circuit_breaker_test, fails_fast_for_the_whole_open_period) {
  circuit_breaker b{small()};
  fail(b, 3);
  EXPECT_FALSE(b.allow(now_));
  EXPECT_FALSE(b.allow(now_ + 4999ms));
  EXPECT_EQ(b.current(now_ + 4999ms), state::open);
}

TEST_F(circuit_breaker_test, late_answers_while_open_change_nothing) {
  circuit_breaker b{small()};
  fail(b, 3);
  // Outcomes of calls let through before the breaker opened.
  b.on_success();
  b.on_failure(now_ + 4s);
  EXPECT_EQ(b.current(now_ + 1s), state::open);
  EXPECT_EQ(b.current(now_ + 5s), state::half_open);
}

TEST_F(circuit_breaker_test, half_open_lets_exactly_the_trial_calls_through) {
  circuit_breaker b{small(2)};
  fail(b, 3);
  auto later = now_ + 5s;
  EXPECT_EQ(b.current(later), state::half_open);
  EXPECT_TRUE(b.allow(later));
  EXPECT_TRUE(b.allow(later));
  EXPECT_FALSE(b.allow(later));
  EXPECT_FALSE(b.allow(later + 1min));
  EXPECT_EQ(b.current(later), state::half_open);
}

TEST_F(circuit_breaker_test, a_trial_success_closes_it) {
  circuit_breaker b{small()};
  fail(b, 3);
  auto later = now_ + 5s;
  ASSERT_TRUE(b.allow(later));
  b.on_success();
  EXPECT_EQ(b.current(later), state::closed);
  EXPECT_EQ(b.failures(), 0u);
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(b.allow(later));
  // The count starts from zero again.
  now_ = later;
  fail(b, 2);
  EXPECT_EQ(b.current(later), state::closed);
}

TEST_F(circuit_breaker_test, a_trial_failure_reopens_it_for_a_full_period) {
  circuit_breaker b{small()};
  fail(b, 3);
  auto trial_start = now_ + 5s;
  ASSERT_TRUE(b.allow(trial_start));
  // The trial took a while to fail; the new period counts from its failure.
  auto trial_end = trial_start + 2s;
  b.on_failure(trial_end);
  EXPECT_EQ(b.current(trial_end), state::open);
  EXPECT_FALSE(b.allow(trial_end + 4999ms));
  EXPECT_EQ(b.current(trial_end + 5s), state::half_open);
  EXPECT_TRUE(b.allow(trial_end + 5s));
}

TEST_F(circuit_breaker_test, retry_after_is_the_rest_of_the_period_in_whole_seconds) {
  circuit_breaker b{small()};
  EXPECT_EQ(b.retry_after(now_), 1s);
  fail(b, 3);
  EXPECT_EQ(b.retry_after(now_), 5s);
  EXPECT_EQ(b.retry_after(now_ + 1ms), 5s);
  EXPECT_EQ(b.retry_after(now_ + 1s), 4s);
  EXPECT_EQ(b.retry_after(now_ + 2500ms), 3s);
  EXPECT_EQ(b.retry_after(now_ + 4001ms), 1s);
  EXPECT_EQ(b.retry_after(now_ + 4999ms), 1s);
  // A caller turned away while a trial is pending waits the minimum.
  ASSERT_TRUE(b.allow(now_ + 5s));
  EXPECT_FALSE(b.allow(now_ + 5s));
  EXPECT_EQ(b.retry_after(now_ + 5s), 1s);
}

TEST_F(circuit_breaker_test, zero_threshold_and_trials_count_as_one) {
  circuit_breaker b{{0, 5s, 0}};
  fail(b, 1);
  EXPECT_EQ(b.current(now_), state::open);
  EXPECT_TRUE(b.allow(now_ + 5s));
  EXPECT_FALSE(b.allow(now_ + 5s));
}

TEST_F(circuit_breaker_test, a_published_signal_is_open_exactly_while_the_breaker_is) {
  circuit_breaker b{{3, 5s, 1}};
  breaker_signal signal;
  EXPECT_FALSE(signal.open_at(now_)) << "a signal nobody published is closed";
  fail(b, 2);
  signal.publish(b, now_);
  EXPECT_FALSE(signal.open_at(now_));
  fail(b, 1);
  signal.publish(b, now_);
  ASSERT_TRUE(signal.open_at(now_));
  EXPECT_EQ(*signal.open_at(now_), b.retry_after(now_));
  EXPECT_EQ(*signal.open_at(now_ + 1s), b.retry_after(now_ + 1s));
  // Half-open once the period passed: new work may go ahead, as the breaker would let a trial.
  EXPECT_FALSE(signal.open_at(now_ + 5s));
  ASSERT_TRUE(b.allow(now_ + 5s));
  b.on_success();
  signal.publish(b, now_ + 5s);
  EXPECT_FALSE(signal.open_at(now_ + 5s));
}

TEST_F(circuit_breaker_test, states_have_stable_names) {
  EXPECT_EQ(to_string(state::closed), "closed");
  EXPECT_EQ(to_string(state::open), "open");
  EXPECT_EQ(to_string(state::half_open), "half_open");
}

} // namespace
} // namespace troupe::test
