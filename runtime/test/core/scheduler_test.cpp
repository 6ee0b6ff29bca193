// The scheduler with the quiet clock, on a real actor system: timeouts and delayed messages
// still arrive when due, including one set sooner than everything the clock sleeps towards.

#include "troupe/core/scheduler.hpp"

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <gtest/gtest.h>

namespace troupe::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

class quiet_scheduler : public ::testing::TestWithParam<std::string> {
protected:
  quiet_scheduler() {
    installed_ = install_scheduler(cfg_, GetParam());
    sys_.emplace(cfg_);
  }

  caf::actor_system_config cfg_;
  bool installed_ = false;
  std::optional<caf::actor_system> sys_;
};

TEST_P(quiet_scheduler, a_delayed_message_due_sooner_than_the_rest_arrives_on_time) {
  ASSERT_TRUE(installed_);
  caf::scoped_actor self{*sys_};
  auto started = clock_type::now();
  // The clock sleeps towards the first message; the second is due long before it.
  self->delayed_send(self, 30s, std::string{"late"});
  self->delayed_send(self, 50ms, std::string{"soon"});
  std::string got;
  self->receive([&](const std::string& x) { got = x; }, caf::after(5s) >> [] {});
  EXPECT_EQ(got, "soon");
  auto took = clock_type::now() - started;
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 3s);
}

TEST_P(quiet_scheduler, a_request_nobody_answers_times_out_when_due) {
  ASSERT_TRUE(installed_);
  auto silent = sys_->spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](int) { return self->make_response_promise<int>(); }}; // never delivered
  });
  caf::scoped_actor self{*sys_};
  auto started = clock_type::now();
  // The asker reports how its request ended; the wait for that report is bounded, so a clock
  // that never fires fails the test instead of hanging it.
  sys_->spawn([silent, to = caf::actor{self}](caf::event_based_actor* asker) {
    asker->request(silent, 100ms, 1)
        .then([to, asker](int) { asker->send(to, std::string{"answered"}); },
              [to, asker](caf::error& e) { asker->send(to, to_string(e)); });
  });
  std::string got;
  self->receive([&](const std::string& x) { got = x; }, caf::after(5s) >> [] {});
  EXPECT_EQ(got, to_string(caf::make_error(caf::sec::request_timeout)));
  EXPECT_GE(clock_type::now() - started, 100ms);
  self->send_exit(silent, caf::exit_reason::kill);
}

INSTANTIATE_TEST_SUITE_P(policies, quiet_scheduler, ::testing::Values("sharing", "stealing"));

TEST(quiet_scheduler_config, an_unknown_policy_installs_nothing) {
  caf::actor_system_config cfg;
  EXPECT_FALSE(install_scheduler(cfg, "round-robin"));
}

} // namespace
} // namespace troupe::test
