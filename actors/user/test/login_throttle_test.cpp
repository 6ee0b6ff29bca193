#include "troupe/user/login_throttle.hpp"

#include <gtest/gtest.h>

#include "troupe/observability/metrics.hpp"

namespace troupe::user {
namespace {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

const rate_limiter::time_point t0 = rate_limiter::clock::time_point{} + 1000s;

login_limits small_limits() {
  login_limits l;
  l.account = {3, 10s, 100};
  l.client = {6, 5s, 100};
  return l;
}

uint64_t throttled(observability::registry& reg, const std::string& by) {
  return reg.counters("troupe_login_throttled_total", "", {"by"}).with({by}).value();
}

TEST(login_throttle, an_account_is_locked_after_its_burst_whatever_the_address) {
  auto reg = std::make_shared<observability::registry>();
  login_throttle t{small_limits(), reg};
  EXPECT_EQ(t.acquire("a@x.org", "10.0.0.1", t0), 0ms);
  EXPECT_EQ(t.acquire("a@x.org", "10.0.0.2", t0), 0ms);
  EXPECT_EQ(t.acquire("a@x.org", "10.0.0.3", t0), 0ms);
  EXPECT_EQ(t.acquire("a@x.org", "10.0.0.4", t0), 10s);
  EXPECT_EQ(throttled(*reg, "account"), 1u);
  EXPECT_EQ(throttled(*reg, "client"), 0u);
  // Another account from the same address is not affected...
  EXPECT_EQ(t.acquire("b@x.org", "10.0.0.4", t0), 0ms);
  // ...and after the window the account may try again.
  EXPECT_EQ(t.acquire("a@x.org", "10.0.0.4", t0 + 10s), 0ms);
}

TEST(login_throttle, an_address_spraying_accounts_is_locked_without_locking_them) {
  auto reg = std::make_shared<observability::registry>();
  login_throttle t{small_limits(), reg};
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(t.acquire("user" + std::to_string(i) + "@x.org", "10.0.0.9", t0), 0ms);
  EXPECT_EQ(t.acquire("victim@x.org", "10.0.0.9", t0), 5s);
  EXPECT_EQ(throttled(*reg, "client"), 1u);
  // The refused attempt took nothing from the victim's account.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(t.acquire("victim@x.org", "10.0.0.10", t0), 0ms) << i;
}

TEST(login_throttle, successful_logins_never_lock_anyone_out) {
  login_throttle t{small_limits(), nullptr};
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(t.acquire("a@x.org", "10.0.0.1", t0), 0ms) << i;
    t.refund("a@x.org", "10.0.0.1", t0);
  }
}

TEST(login_throttle, a_blocked_account_gives_back_the_client_attempt) {
  login_throttle t{small_limits(), nullptr};
  for (int i = 0; i < 3; ++i)
    t.acquire("a@x.org", "10.0.0.1", t0);
  // Hammering a locked account from 10.0.0.2 does not use up that address's attempts.
  for (int i = 0; i < 10; ++i)
    EXPECT_GT(t.acquire("a@x.org", "10.0.0.2", t0), 0ms);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(t.acquire("other" + std::to_string(i) + "@x.org", "10.0.0.2", t0), 0ms) << i;
}

} // namespace
} // namespace troupe::user
