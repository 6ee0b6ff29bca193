// The simulated payment provider: fixed tokens, latency in simulated time, seeded rates.

#include "troupe/order/sim_payment.hpp"

#include <algorithm>
#include <string>

#include "payment_fixture.hpp"

namespace troupe::order::test {
namespace {

class order_sim_payment_test : public payment_test {
protected:
  payment_provider sim(sim_payment_config cfg = {}) {
    if (!cfg.seed)
      cfg.seed = 7;
    return keep(spawn_sim_payment(sys_ref(), cfg));
  }

  /// Returns the outcome of each of `n` authorizations with a random token, as a letter.
  std::string outcomes(const payment_provider& p, int n) {
    std::string result;
    for (int i = 0; i < n; ++i) {
      auto x = authorize(p, "tok_random", "order-" + std::to_string(i));
      if (!x->has_value())
        result += '?';
      else if (**x)
        result += 'a';
      else if (is((*x)->error(), errc::payment_declined))
        result += 'd';
      else if (is((*x)->error(), errc::dependency_failed))
        result += 'f';
      else
        result += '!';
    }
    return result;
  }
};

TEST_F(order_sim_payment_test, tok_ok_is_authorized) {
  auto p = sim(with_rates(1, 0));
  auto x = authorize(p, "tok_ok");
  ASSERT_TRUE(x->has_value());
  ASSERT_TRUE(**x) << describe((*x)->error());
  EXPECT_FALSE(id_of(x).empty());
}

TEST_F(order_sim_payment_test, tok_decline_is_declined) {
  auto p = sim();
  auto x = authorize(p, "tok_decline");
  EXPECT_TRUE(failed_with(x, errc::payment_declined));
}

TEST_F(order_sim_payment_test, a_request_without_order_or_token_is_invalid) {
  auto p = sim();
  EXPECT_TRUE(failed_with(authorize(p, ""), errc::invalid_argument));
  EXPECT_TRUE(failed_with(authorize(p, "tok_ok", ""), errc::invalid_argument));
}

TEST_F(order_sim_payment_test, latency_is_honoured_in_simulated_time) {
  auto p = sim(with_latency(300ms));
  auto ok = authorize(p, "tok_ok", "order-1");
  auto declined = authorize(p, "tok_decline", "order-2");
  EXPECT_FALSE(ok->has_value());
  advance(299ms);
  EXPECT_FALSE(ok->has_value());
  EXPECT_FALSE(declined->has_value());
  advance(1ms);
  ASSERT_TRUE(ok->has_value());
  EXPECT_TRUE(**ok);
  EXPECT_TRUE(failed_with(declined, errc::payment_declined));
  auto voided = void_order(p, "order-1");
  EXPECT_FALSE(voided->has_value());
  advance(299ms);
  EXPECT_FALSE(voided->has_value());
  advance(1ms);
  ASSERT_TRUE(voided->has_value());
  EXPECT_TRUE(**voided);
}

TEST_F(order_sim_payment_test, decline_rate_one_always_declines) {
  EXPECT_EQ(outcomes(sim(with_rates(1, 0)), 20), std::string(20, 'd'));
}

TEST_F(order_sim_payment_test, failure_rate_one_always_fails) {
  EXPECT_EQ(outcomes(sim(with_rates(0, 1)), 20), std::string(20, 'f'));
}

TEST_F(order_sim_payment_test, rates_of_zero_always_authorize) {
  EXPECT_EQ(outcomes(sim(), 20), std::string(20, 'a'));
}

TEST_F(order_sim_payment_test, rates_beyond_one_are_clamped_and_declines_win) {
  EXPECT_EQ(outcomes(sim(with_rates(3, 2)), 10), std::string(10, 'd'));
  EXPECT_EQ(outcomes(sim(with_rates(-1, 1.5)), 10), std::string(10, 'f'));
}

TEST_F(order_sim_payment_test, a_seed_repeats_its_outcomes) {
  auto cfg = with_rates(0.3, 0.3, 42);
  auto first = outcomes(sim(cfg), 60);
  auto second = outcomes(sim(cfg), 60);
  EXPECT_EQ(first, second);
  // All three outcomes, each near its share (18 of 60), so the rates are really applied.
  for (char c : {'a', 'd', 'f'}) {
    auto n = std::count(first.begin(), first.end(), c);
    EXPECT_GE(n, 8) << c << " in " << first;
    EXPECT_LE(n, 32) << c << " in " << first;
  }
  cfg.seed = 43;
  EXPECT_NE(outcomes(sim(cfg), 60), first);
}

TEST_F(order_sim_payment_test, an_order_with_a_live_authorization_gets_it_again) {
  auto p = sim();
  auto first = authorize(p, "tok_ok", "order-1");
  ASSERT_TRUE(succeeded(first));
  auto again = authorize(p, "tok_ok", "order-1");
  ASSERT_TRUE(succeeded(again));
  EXPECT_EQ(id_of(again), id_of(first));
  auto other = authorize(p, "tok_ok", "order-2");
  ASSERT_TRUE(succeeded(other));
  EXPECT_NE(id_of(other), id_of(first));
}

TEST_F(order_sim_payment_test, a_void_releases_the_orders_authorization_and_refuses_later_ones) {
  auto p = sim();
  auto first = authorize(p, "tok_ok", "order-1");
  ASSERT_TRUE(succeeded(first));
  auto other = authorize(p, "tok_ok", "order-2");
  ASSERT_TRUE(succeeded(other));
  auto voided = void_order(p, "order-1");
  ASSERT_TRUE(succeeded(voided));
  // A live authorization would be answered again: the refusal shows it is gone, and no fresh
  // one is granted (tok_ok is never declined on its own).
  auto after = authorize(p, "tok_ok", "order-1");
  EXPECT_TRUE(failed_with(after, errc::payment_declined));
  EXPECT_TRUE(failed_with(authorize(p, "tok_ok", "order-1"), errc::payment_declined));
  // The void is per order: order-2 still holds its authorization.
  auto still = authorize(p, "tok_ok", "order-2");
  ASSERT_TRUE(succeeded(still));
  EXPECT_EQ(id_of(still), id_of(other));
}

TEST_F(order_sim_payment_test, a_void_while_the_authorization_is_out_voids_it_too) {
  auto p = sim(with_latency(300ms));
  auto x = authorize(p, "tok_ok", "order-1");
  advance(100ms);
  auto voided = void_order(p, "order-1");
  advance(200ms);
  // The provider granted it; the void was already on its way (as after a lost answer).
  ASSERT_TRUE(succeeded(x));
  EXPECT_FALSE(voided->has_value());
  advance(100ms);
  ASSERT_TRUE(succeeded(voided));
  auto after = authorize(p, "tok_ok", "order-1");
  advance(300ms);
  EXPECT_TRUE(failed_with(after, errc::payment_declined));
}

TEST_F(order_sim_payment_test, void_is_idempotent_and_an_order_never_authorized_is_fine) {
  auto p = sim();
  auto x = authorize(p, "tok_ok");
  ASSERT_TRUE(succeeded(x));
  auto once = void_order(p, "order-1");
  ASSERT_TRUE(once->has_value());
  EXPECT_TRUE(**once) << describe((*once)->error());
  auto twice = void_order(p, "order-1");
  ASSERT_TRUE(twice->has_value());
  EXPECT_TRUE(**twice) << describe((*twice)->error());
  EXPECT_TRUE(failed_with(authorize(p, "tok_ok", "order-1"), errc::payment_declined));
  // Voiding an order the provider never saw is an answer too, and it stays refused.
  auto unknown = void_order(p, "order-never-authorized");
  ASSERT_TRUE(unknown->has_value());
  EXPECT_TRUE(**unknown) << describe((*unknown)->error());
  EXPECT_TRUE(
      failed_with(authorize(p, "tok_ok", "order-never-authorized"), errc::payment_declined));
}

} // namespace
} // namespace troupe::order::test
