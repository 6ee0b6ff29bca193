// The payment gateway: timeouts, and the circuit breaker in front of a scripted provider.

#include "troupe/order/payment_gateway.hpp"

#include <string>

#include <caf/sec.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "payment_fixture.hpp"

namespace troupe::order::test {
namespace {

class order_payment_gateway_test : public payment_test {
protected:
  /// A provider that answers by token: "ok", "decline", "hang" (never) and else a failure.
  payment_provider scripted() {
    auto calls = calls_;
    return keep(
        sys_ref().spawn([calls](payment_provider::pointer self) -> payment_provider::behavior_type {
          return {
              [=](authorize_atom, const payment_request& req) -> caf::result<authorization> {
                ++*calls;
                if (req.token == "ok")
                  return authorization{"auth-" + req.order_id};
                if (req.token == "decline")
                  return make_error(errc::payment_declined, "scripted decline");
                if (req.token == "hang")
                  return self->make_response_promise<authorization>();
                return make_error(errc::dependency_failed, "scripted failure");
              },
              [=](void_atom, const std::string&) -> caf::result<caf::ok_atom> {
                ++*calls;
                return caf::ok_atom::value;
              },
          };
        }));
  }

  /// A gateway opening after three failures for five seconds, with a two-second timeout.
  payment_provider gateway(payment_provider provider) {
    payment_gateway_config cfg;
    cfg.breaker.failure_threshold = 3;
    cfg.breaker.open_duration = 5s;
    return keep(spawn_payment_gateway(sys_ref(), std::move(provider), cfg));
  }

  /// Makes `n` calls that fail at the provider.
  void fail(const payment_provider& gw, int n) {
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE(failed_with(authorize(gw, "fail"), errc::dependency_failed)) << "call " << i;
  }

  /// Asserts that a call is turned away at once, telling the caller to retry after `wait`.
  void expect_fast_fail(const payment_provider& gw, caf::timespan wait) {
    auto before = *calls_;
    auto x = authorize(gw, "ok");
    ASSERT_TRUE(failed_with(x, errc::dependency_unavailable));
    EXPECT_EQ(retry_after_of((*x)->error()), wait);
    EXPECT_EQ(*calls_, before) << "the provider was called";
  }

  /// Provider calls so far.
  std::shared_ptr<int> calls_ = std::make_shared<int>(0);
};

TEST_F(order_payment_gateway_test, defaults_are_a_two_second_timeout_and_five_failures) {
  payment_gateway_config cfg;
  EXPECT_EQ(cfg.timeout, caf::timespan{2s});
  EXPECT_EQ(cfg.breaker.failure_threshold, 5u);
  EXPECT_EQ(cfg.breaker.open_duration, 5s);
}

TEST_F(order_payment_gateway_test, forwards_authorizations_and_declines) {
  auto gw = gateway(scripted());
  auto ok = authorize(gw, "ok", "order-7");
  ASSERT_TRUE(succeeded(ok));
  EXPECT_EQ(id_of(ok), "auth-order-7");
  EXPECT_TRUE(failed_with(authorize(gw, "decline"), errc::payment_declined));
  EXPECT_EQ(*calls_, 2);
}

TEST_F(order_payment_gateway_test, a_slow_provider_times_out_as_a_failure) {
  auto gw = gateway(keep(spawn_sim_payment(sys_ref(), with_latency(3s))));
  auto x = authorize(gw, "tok_ok");
  advance(1999ms);
  EXPECT_FALSE(x->has_value());
  advance(1ms);
  ASSERT_TRUE(x->has_value());
  ASSERT_FALSE(**x);
  EXPECT_EQ((*x)->error(), caf::sec::request_timeout);
  // The provider's late answer finds no one waiting and changes nothing.
  advance(1s);
  EXPECT_EQ((*x)->error(), caf::sec::request_timeout);
}

TEST_F(order_payment_gateway_test, timeouts_count_towards_opening) {
  auto gw = gateway(scripted());
  fail(gw, 2);
  auto hung = authorize(gw, "hang");
  advance(2s);
  ASSERT_TRUE(hung->has_value());
  EXPECT_EQ((*hung)->error(), caf::sec::request_timeout);
  expect_fast_fail(gw, 5s);
}

TEST_F(order_payment_gateway_test, failures_open_it_and_it_fails_fast_with_retry_after) {
  auto gw = gateway(scripted());
  fail(gw, 3);
  EXPECT_EQ(*calls_, 3);
  expect_fast_fail(gw, 5s);
  advance(2500ms);
  expect_fast_fail(gw, 3s);
  advance(2499ms);
  expect_fast_fail(gw, 1s);
}

TEST_F(order_payment_gateway_test, declines_never_open_it) {
  auto gw = gateway(scripted());
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(failed_with(authorize(gw, "decline"), errc::payment_declined));
  // A decline is a healthy answer: it also ends a run of failures.
  fail(gw, 2);
  ASSERT_TRUE(failed_with(authorize(gw, "decline"), errc::payment_declined));
  fail(gw, 2);
  auto ok = authorize(gw, "ok");
  EXPECT_TRUE(succeeded(ok));
  EXPECT_EQ(*calls_, 16);
}

TEST_F(order_payment_gateway_test, a_half_open_trial_that_succeeds_closes_it) {
  auto gw = gateway(scripted());
  fail(gw, 3);
  advance(5s);
  auto trial = authorize(gw, "ok");
  ASSERT_TRUE(succeeded(trial));
  for (int i = 0; i < 5; ++i) {
    auto x = authorize(gw, "ok");
    EXPECT_TRUE(succeeded(x));
  }
  EXPECT_EQ(*calls_, 9);
}

TEST_F(order_payment_gateway_test, half_open_lets_one_trial_through_and_its_failure_reopens) {
  auto gw = gateway(scripted());
  fail(gw, 3);
  advance(5s);
  auto trial = authorize(gw, "hang");
  EXPECT_EQ(*calls_, 4);
  EXPECT_FALSE(trial->has_value());
  // The trial is still out: others wait for its verdict.
  expect_fast_fail(gw, 1s);
  advance(2s);
  ASSERT_TRUE(trial->has_value());
  EXPECT_EQ((*trial)->error(), caf::sec::request_timeout);
  // Open again, for a full period from the trial's failure.
  expect_fast_fail(gw, 5s);
  advance(5s);
  auto ok = authorize(gw, "ok");
  EXPECT_TRUE(succeeded(ok));
}

TEST_F(order_payment_gateway_test, a_dead_provider_counts_as_failing) {
  auto provider = scripted();
  auto gw = gateway(provider);
  caf::anon_send_exit(provider, caf::exit_reason::kill);
  run();
  for (int i = 0; i < 3; ++i) {
    auto x = authorize(gw, "ok");
    ASSERT_TRUE(x->has_value() && !**x);
    EXPECT_FALSE(is((*x)->error(), errc::dependency_unavailable));
  }
  expect_fast_fail(gw, 5s);
}

TEST_F(order_payment_gateway_test, void_is_idempotent_and_refusals_of_voided_orders_are_answers) {
  auto gw = gateway(keep(spawn_sim_payment(sys_ref())));
  auto x = authorize(gw, "tok_ok", "order-1");
  ASSERT_TRUE(succeeded(x));
  for (int i = 0; i < 2; ++i) {
    auto voided = void_order(gw, "order-1");
    ASSERT_TRUE(voided->has_value());
    EXPECT_TRUE(**voided) << describe((*voided)->error());
  }
  // The order id reached the provider: the authorization is gone and the order refused.
  EXPECT_TRUE(failed_with(authorize(gw, "tok_ok", "order-1"), errc::payment_declined));
  // Orders never authorized void fine, and their refusals are decisions: more of them than
  // the failure threshold leave the breaker closed.
  for (int i = 0; i < 5; ++i) {
    auto order = "unknown-" + std::to_string(i);
    auto voided = void_order(gw, order);
    ASSERT_TRUE(voided->has_value());
    EXPECT_TRUE(**voided) << describe((*voided)->error());
    EXPECT_TRUE(failed_with(authorize(gw, "tok_ok", order), errc::payment_declined));
  }
  auto still = authorize(gw, "tok_ok", "order-2");
  EXPECT_TRUE(succeeded(still));
}

} // namespace
} // namespace troupe::order::test
