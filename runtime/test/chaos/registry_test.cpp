// The fault registry on its own: what matches, probabilities drawn from a seeded generator,
// expiry on a clock the test moves, bounds, and the metrics that follow every change.

#include "troupe/chaos/registry.hpp"

#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "troupe/chaos/faults.hpp"
#include "troupe/core/error.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::chaos {
namespace {

using namespace std::chrono_literals;
using action = message_effect::action;

class registry_test : public ::testing::Test {
protected:
  registry_test() {
    registry_config cfg;
    cfg.now = [this] { return now_; };
    cfg.random = [this] { return std::uniform_real_distribution<double>{0.0, 1.0}(rng_); };
    cfg.metrics = metrics_;
    cfg.max_faults = 3;
    faults_ = std::make_shared<registry>(cfg);
  }

  fault_spec spec(fault_type type, std::chrono::milliseconds duration = 1s) {
    fault_spec s;
    s.type = type;
    s.duration = duration;
    if (type == fault_type::delay || type == fault_type::store_slow ||
        type == fault_type::dependency_slow)
      s.delay = 50ms;
    return s;
  }

  int64_t active_gauge() {
    return metrics_->gauges("troupe_chaos_faults_active", "").with({}).value();
  }

  uint64_t injected(const std::string& type) {
    return metrics_->counters("troupe_chaos_faults_injected_total", "", {"type"})
        .with({type})
        .value();
  }

  std::chrono::steady_clock::time_point now_{std::chrono::hours{1}};
  std::mt19937_64 rng_{42};
  std::shared_ptr<observability::registry> metrics_ = std::make_shared<observability::registry>();
  std::shared_ptr<registry> faults_;
};

TEST_F(registry_test, an_empty_registry_affects_nothing) {
  EXPECT_TRUE(faults_->empty());
  EXPECT_EQ(faults_->on_message("n1", "user", "k", "fetch").what, action::pass);
  EXPECT_FALSE(faults_->on_store().fail);
  EXPECT_EQ(faults_->on_dependency("gateway").fault_id, 0u);
}

TEST_F(registry_test, message_faults_match_node_kind_key_and_message) {
  auto s = spec(fault_type::drop);
  s.match = {"n2", "user", "u1", "fetch"};
  ASSERT_TRUE(faults_->add(s));
  EXPECT_EQ(faults_->on_message("n2", "user", "u1", "fetch").what, action::drop);
  EXPECT_EQ(faults_->on_message("n1", "user", "u1", "fetch").what, action::pass);
  EXPECT_EQ(faults_->on_message("n2", "cart", "u1", "fetch").what, action::pass);
  EXPECT_EQ(faults_->on_message("n2", "user", "u2", "fetch").what, action::pass);
  EXPECT_EQ(faults_->on_message("n2", "user", "u1", "update").what, action::pass);
  EXPECT_FALSE(faults_->on_store().fail) << "a message fault leaves the store alone";
  EXPECT_EQ(faults_->list().front().hits, 1u);
}

TEST_F(registry_test, empty_match_fields_match_anything_and_the_oldest_fault_decides) {
  auto delay = spec(fault_type::delay);
  delay.match.kind = "user";
  ASSERT_TRUE(faults_->add(delay));
  ASSERT_TRUE(faults_->add(spec(fault_type::duplicate)));
  auto user = faults_->on_message("n1", "user", "any", "fetch");
  EXPECT_EQ(user.what, action::delay);
  EXPECT_EQ(user.delay, 50ms);
  EXPECT_EQ(faults_->on_message("n1", "cart", "any", "put").what, action::duplicate);
}

TEST_F(registry_test, probability_hits_about_its_share_with_a_seeded_generator) {
  auto s = spec(fault_type::store_fail);
  s.probability = 0.25;
  ASSERT_TRUE(faults_->add(s));
  int failed = 0;
  for (int i = 0; i < 4000; ++i)
    failed += faults_->on_store().fail ? 1 : 0;
  EXPECT_NEAR(failed, 1000, 100);
  EXPECT_EQ(faults_->list().front().hits, static_cast<uint64_t>(failed));
}

TEST_F(registry_test, probability_zero_never_hits) {
  auto s = spec(fault_type::store_fail);
  s.probability = 0;
  ASSERT_TRUE(faults_->add(s));
  for (int i = 0; i < 100; ++i)
    EXPECT_FALSE(faults_->on_store().fail);
}

TEST_F(registry_test, store_and_dependency_faults_say_what_to_do) {
  ASSERT_TRUE(faults_->add(spec(fault_type::store_slow)));
  auto slow = faults_->on_store();
  EXPECT_EQ(slow.delay, 50ms);
  EXPECT_FALSE(slow.fail);
  auto dep = spec(fault_type::dependency_fail);
  dep.dependency = "gateway";
  ASSERT_TRUE(faults_->add(dep));
  EXPECT_TRUE(faults_->on_dependency("gateway").fail);
  EXPECT_FALSE(faults_->on_dependency("mailer").fail);
}

TEST_F(registry_test, a_fault_stops_acting_when_it_expires_and_leaves_at_the_next_sweep) {
  ASSERT_TRUE(faults_->add(spec(fault_type::store_fail, 200ms)));
  EXPECT_EQ(active_gauge(), 1);
  now_ += 150ms;
  EXPECT_TRUE(faults_->on_store().fail);
  ASSERT_EQ(faults_->list().size(), 1u);
  EXPECT_EQ(faults_->list().front().expires_in, 50ms);
  EXPECT_EQ(faults_->next_expiry(), now_ + 50ms);
  now_ += 50ms;
  EXPECT_FALSE(faults_->on_store().fail) << "expired, even before a sweep";
  EXPECT_EQ(faults_->expire(), 1u);
  EXPECT_TRUE(faults_->empty());
  EXPECT_EQ(active_gauge(), 0);
  EXPECT_EQ(faults_->next_expiry(), std::nullopt);
}

TEST_F(registry_test, remove_and_reset_revert_faults_and_the_gauge_follows) {
  auto a = faults_->add(spec(fault_type::drop));
  auto b = faults_->add(spec(fault_type::store_fail));
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(active_gauge(), 2);
  EXPECT_TRUE(faults_->remove(a->id));
  EXPECT_FALSE(faults_->remove(a->id));
  EXPECT_EQ(active_gauge(), 1);
  EXPECT_EQ(faults_->reset(), 1u);
  EXPECT_EQ(active_gauge(), 0);
  EXPECT_EQ(injected("drop"), 1u);
  EXPECT_EQ(injected("store_fail"), 1u);
  EXPECT_EQ(injected("crash_node"), 0u) << "every type's series exists from the start";
}

TEST_F(registry_test, bounds_are_enforced_naming_the_field) {
  auto reason = [this](fault_spec s) {
    auto added = faults_->add(std::move(s));
    return added ? std::string{"added"} : describe(added.error());
  };
  EXPECT_NE(reason(spec(fault_type::drop, 0ms)).find("duration_ms"), std::string::npos);
  EXPECT_NE(reason(spec(fault_type::drop, 2h)).find("duration_ms"), std::string::npos);
  auto p = spec(fault_type::drop);
  p.probability = 1.5;
  EXPECT_NE(reason(p).find("probability"), std::string::npos);
  auto d = spec(fault_type::delay);
  d.delay = 0ms;
  EXPECT_NE(reason(d).find("delay_ms"), std::string::npos);
  EXPECT_NE(reason(spec(fault_type::kill_entity)).find("match"), std::string::npos);
  EXPECT_NE(reason(spec(fault_type::kill_actor)).find("path"), std::string::npos);
  EXPECT_NE(reason(spec(fault_type::dependency_slow)).find("dependency"), std::string::npos);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(reason(spec(fault_type::drop)), "added");
  auto full = faults_->add(spec(fault_type::drop));
  ASSERT_FALSE(full);
  EXPECT_TRUE(is(full.error(), errc::overloaded));
}

TEST_F(registry_test, readers_on_other_threads_see_changes) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};
  std::thread reader{[&] {
    while (!stop.load())
      if (faults_->on_store().fail)
        failures.fetch_add(1);
  }};
  auto f = faults_->add(spec(fault_type::store_fail));
  ASSERT_TRUE(f);
  while (failures.load() == 0)
    std::this_thread::yield();
  faults_->remove(f->id);
  auto seen = failures.load();
  // Once removed, a reader's next check after its next snapshot sees nothing.
  for (int i = 0; i < 1000; ++i)
    std::this_thread::yield();
  auto later = failures.load();
  stop = true;
  reader.join();
  EXPECT_LE(later - seen, 1u);
}

TEST(chaos_faults, hooks_see_only_an_installed_registry_with_faults) {
  EXPECT_EQ(faults::active(), nullptr);
  auto r = std::make_shared<registry>();
  install_guard guard{r};
  EXPECT_EQ(faults::active(), nullptr) << "installed but empty";
  fault_spec s;
  s.type = fault_type::dependency_fail;
  s.duration = 1min;
  s.dependency = "gateway";
  ASSERT_TRUE(r->add(s));
  EXPECT_EQ(faults::active(), r.get());
  EXPECT_TRUE(faults::check_dependency("gateway").fail);
  EXPECT_FALSE(faults::check_store().fail);
}

} // namespace
} // namespace troupe::chaos
