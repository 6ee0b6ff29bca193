// Cancelling an order at each point of its saga.

#include "order_saga_fixture.hpp"

namespace troupe::order::test {
namespace {

TEST_F(order_saga_test, a_cancel_before_confirmation_voids_the_authorization_and_returns_stock) {
  start(with_latency(1s));
  place_new("o1", request());
  expect_order("o1", order_status::pending); // authorization under way
  auto cancelled = cancel("o1");
  EXPECT_FALSE(cancelled->has_value()) << "the cancel waits for the authorization in flight";
  advance(1s); // authorized, taken, confirmed, then cancelling: the void is under way
  EXPECT_FALSE(cancelled->has_value());
  advance(1s);
  auto c = value_of(cancelled);
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->status, order_status::cancelled);
  expect_order("o1", order_status::cancelled);
  ASSERT_EQ(payments_->granted.size(), 1u);
  EXPECT_EQ(stored("o1")->authorization_id, payments_->granted.front());
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_voided_at_provider("o1");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
}

// With no authorization asked for, the cancel still voids the order: the provider holds
// nothing for it, and from then on refuses to authorize it.
TEST_F(order_saga_test, a_cancel_before_any_authorization_voids_nothing) {
  start({}, {}, /*with_payment=*/false); // the saga waits in pending, retrying the gateway
  place_new("o1", request());
  expect_order("o1", order_status::pending);
  expect_stock("apple", 10, 0);
  auto cancelled = cancel("o1");
  // Cancelling: the void waits for the gateway.
  EXPECT_FALSE(cancelled->has_value());
  EXPECT_EQ(stored("o1")->status, order_status::cancelling);
  expect_stock("apple", 10, 0);
  start_payment({});
  advance(10s); // the retries find the gateway now
  auto c = value_of(cancelled);
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->status, order_status::cancelled);
  expect_order("o1", order_status::cancelled);
  EXPECT_TRUE(stored("o1")->authorization_id.empty());
  EXPECT_TRUE(payments_->asked.empty()) << "a cancelling order must not be authorized";
  EXPECT_TRUE(payments_->granted.empty());
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  advance(10s); // any pending retries find nothing to do
  expect_order("o1", order_status::cancelled);
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_stock("apple", 10, 0);
  // A late authorization of the order, as one lost in flight would be, is refused.
  expect_voided_at_provider("o1");
}

TEST_F(order_saga_test, a_cancel_after_confirmation_voids_the_payment_and_returns_the_stock) {
  start();
  place_new("o1", request());
  expect_order("o1", order_status::confirmed);
  expect_stock("apple", 8, 0);
  auto authorization_id = stored("o1")->authorization_id;
  EXPECT_EQ(payments_->granted, strings{authorization_id});
  // Live at the provider before the cancel: authorizing again answers it.
  auto live = authorize_at_provider("o1");
  ASSERT_TRUE(live) << describe(live.error());
  EXPECT_EQ(live->id, authorization_id);
  auto c = value_of(cancel("o1"));
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->status, order_status::cancelled);
  expect_order("o1", order_status::cancelled);
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_voided_at_provider("o1");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  // A second cancel answers the cancelled order and changes nothing.
  auto again = value_of(cancel("o1"));
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(again->status, order_status::cancelled);
  EXPECT_EQ(payments_->voided.size(), 1u);
  expect_stock("apple", 10, 0);
}

TEST_F(order_saga_test, a_cancel_of_a_rejected_order_is_an_invalid_state) {
  start();
  place_new("o1", request(std::string{sim_token_decline}));
  expect_order("o1", order_status::rejected, "payment_declined");
  EXPECT_TRUE(fails_with(value_of(cancel("o1")), errc::invalid_state));
  expect_order("o1", order_status::rejected, "payment_declined");
}

TEST_F(order_saga_test, a_cancel_of_an_unknown_order_is_no_such_record) {
  start();
  EXPECT_TRUE(fails_with(value_of(cancel("nobody")), errc::no_such_record));
  EXPECT_TRUE(fails_with(fetch("nobody"), errc::no_such_record));
}

} // namespace
} // namespace troupe::order::test
