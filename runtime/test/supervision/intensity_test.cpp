// Restart intensity, escalation through nested supervisors, and backoff.

#include "fixture.hpp"

namespace troupe::supervision::test {
namespace {

using strings = std::vector<std::string>;

class intensity_test : public supervision_test {
protected:
  /// Crashes `name` and lets its restart happen, `n` times.
  void crash_and_restart(const std::string& name, int n, caf::timespan wait = 5s) {
    for (int i = 0; i < n; ++i) {
      crash(name);
      advance(wait);
    }
  }
};

TEST_F(intensity_test, three_restarts_in_the_window_are_tolerated_the_fourth_escalates) {
  auto s = spec("sup", restart_strategy::one_for_one,
                {worker_child(log_, "a"), worker_child(log_, "b")});
  s.intensity = {3, 10s};
  auto sup = start(s);
  auto reason = watch(sup);
  crash_and_restart("b", 3, 100ms);
  EXPECT_EQ(log_->starts["b"], 4);
  EXPECT_FALSE(reason->has_value());
  log_->take();
  crash("b");
  EXPECT_EQ(log_->take(), (strings{"stop b", "stop a"}));
  ASSERT_TRUE(reason->has_value());
  EXPECT_TRUE(is(**reason, errc::escalated)) << describe(**reason);
  auto& escalations = metrics_->counters("troupe_supervisor_escalations_total", "", {"supervisor"});
  EXPECT_EQ(escalations.with({"sup"}).value(), 1u);
  EXPECT_EQ(restarts_metric("sup", "b"), 3u);
}

TEST_F(intensity_test, failures_spread_wider_than_the_window_never_escalate) {
  auto s = spec("sup", restart_strategy::one_for_one, {worker_child(log_, "a")});
  s.intensity = {3, 5s};
  s.backoff.max = 1s;
  auto sup = start(s);
  auto reason = watch(sup);
  crash_and_restart("a", 10, 2s);
  EXPECT_FALSE(reason->has_value());
  EXPECT_EQ(log_->starts["a"], 11);
}

TEST_F(intensity_test, zero_restarts_allowed_escalates_on_the_first_failure) {
  auto s = spec("sup", restart_strategy::one_for_one, {worker_child(log_, "a")});
  s.intensity = {0, 5s};
  auto reason = watch(start(s));
  crash("a");
  ASSERT_TRUE(reason->has_value());
  EXPECT_TRUE(is(**reason, errc::escalated));
}

TEST_F(intensity_test, an_escalating_child_supervisor_is_restarted_by_its_parent) {
  auto inner = spec("inner", restart_strategy::one_for_one, {worker_child(log_, "w")});
  inner.intensity = {0, 5s};
  auto outer = spec("outer", restart_strategy::one_for_one, {supervisor_child(inner)});
  auto top = start(outer);
  auto reason = watch(top);
  crash("w");
  EXPECT_EQ(log_->starts["w"], 1);
  advance(10ms); // the parent restarts the whole inner subtree
  EXPECT_EQ(log_->starts["w"], 2);
  EXPECT_FALSE(reason->has_value());
  EXPECT_EQ(restarts_metric("outer", "inner"), 1u);
}

TEST_F(intensity_test, escalation_climbs_through_every_level_up_to_the_root) {
  auto leaf = spec("leaf", restart_strategy::one_for_one, {worker_child(log_, "w")});
  leaf.intensity = {0, 5s};
  auto middle = spec("middle", restart_strategy::one_for_one, {supervisor_child(leaf)});
  middle.intensity = {1, 60s};
  auto root = spec("root", restart_strategy::one_for_one,
                   {worker_child(log_, "sibling"), supervisor_child(middle)});
  root.intensity = {0, 60s};
  auto top = start(root);
  auto reason = watch(top);
  crash("w"); // leaf escalates; middle restarts it (1 of 1)
  advance(10ms);
  EXPECT_EQ(log_->starts["w"], 2);
  log_->take();
  crash("w"); // leaf escalates again; middle is over its limit, so is root
  EXPECT_EQ(log_->take(), (strings{"stop w", "stop sibling"}));
  ASSERT_TRUE(reason->has_value());
  EXPECT_TRUE(is(**reason, errc::escalated));
  EXPECT_NE(describe(**reason).find("middle"), std::string::npos) << describe(**reason);
}

class backoff_test : public intensity_test {
protected:
  caf::actor start_one(backoff_policy policy) {
    auto s = spec("sup", restart_strategy::one_for_one, {worker_child(log_, "a")});
    s.backoff = policy;
    s.intensity = {100, 1s};
    return start(s);
  }

  /// Crashes `a` and checks the restart happens after exactly `delay`.
  void expect_restart_after(caf::timespan delay) {
    auto before = log_->starts["a"];
    crash("a");
    advance(delay - 1ms);
    EXPECT_EQ(log_->starts["a"], before) << "restarted too early";
    advance(1ms);
    EXPECT_EQ(log_->starts["a"], before + 1) << "not restarted on time";
  }
};

TEST_F(backoff_test, delays_double_up_to_the_cap) {
  start_one({10ms, 50ms, 0.0, 10s});
  expect_restart_after(10ms);
  expect_restart_after(20ms);
  expect_restart_after(40ms);
  expect_restart_after(50ms);
  expect_restart_after(50ms);
}

TEST_F(backoff_test, a_quiet_period_resets_the_delay) {
  start_one({10ms, 5s, 0.0, 3s});
  expect_restart_after(10ms);
  expect_restart_after(20ms);
  advance(3s);
  expect_restart_after(10ms);
}

TEST_F(backoff_test, jitter_keeps_each_delay_within_its_band_and_varies_it) {
  start_one({100ms, 5s, 0.2, 1h});
  std::set<int64_t> seen;
  for (int i = 0; i < 5; ++i) {
    auto base = std::chrono::milliseconds(100 << i);
    auto before = log_->starts["a"];
    crash("a");
    auto low = std::chrono::duration_cast<caf::timespan>(base * 0.8) - 1ms;
    advance(low);
    EXPECT_EQ(log_->starts["a"], before) << "restart " << i << " before -20 %";
    auto waited = low;
    while (log_->starts["a"] == before && waited < base * 1.2 + 1ms) {
      advance(1ms);
      waited += 1ms;
    }
    EXPECT_EQ(log_->starts["a"], before + 1) << "restart " << i << " after +20 %";
    seen.insert((waited * 1000 / base));
  }
  EXPECT_GT(seen.size(), 1u) << "jitter never varied the delay";
}

} // namespace
} // namespace troupe::supervision::test
