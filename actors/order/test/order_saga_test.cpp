// The order saga's paths to a final status, and replays of a placed order.

#include "order_saga_fixture.hpp"

namespace troupe::order::test {
namespace {

TEST_F(order_saga_test, a_paid_order_is_confirmed_and_its_stock_taken) {
  start();
  auto p = value_of(place("o1", request()));
  ASSERT_TRUE(p) << describe(p.error());
  EXPECT_TRUE(p->created);
  EXPECT_EQ(p->order.id, "o1");
  EXPECT_EQ(p->order.version, 1u);
  EXPECT_EQ(p->order.status, order_status::pending) << "answered once stored, before the saga";
  EXPECT_GT(p->order.created_at_ms, 0);
  expect_order("o1", order_status::confirmed);
  auto order = stored("o1");
  ASSERT_TRUE(order);
  EXPECT_FALSE(order->authorization_id.empty());
  EXPECT_EQ(payments_->granted, strings{order->authorization_id});
  EXPECT_TRUE(payments_->voided.empty());
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, a_declined_payment_rejects_the_order_and_restores_the_stock) {
  start();
  place_new("o1", request(std::string{sim_token_decline}));
  expect_order("o1", order_status::rejected, "payment_declined");
  EXPECT_TRUE(stored("o1")->authorization_id.empty());
  EXPECT_EQ(payments_->asked, strings{"o1"});
  EXPECT_TRUE(payments_->granted.empty());
  EXPECT_EQ(payments_->voided, strings{"o1"}) << "rejecting voids the order's payment";
  expect_voided_at_provider("o1");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
}

TEST_F(order_saga_test, out_of_stock_voids_the_payment_and_returns_the_earlier_lines) {
  start();
  place_new("o1", request(std::string{sim_token_ok}, {{"apple", 2}, {"pear", 6}}));
  expect_order("o1", order_status::rejected, "out_of_stock");
  EXPECT_EQ(payments_->asked, strings{"o1"}) << "the payment comes before the stock";
  ASSERT_EQ(payments_->granted.size(), 1u);
  EXPECT_EQ(stored("o1")->authorization_id, payments_->granted.front());
  EXPECT_EQ(payments_->voided, strings{"o1"}) << "authorized, so voided";
  expect_voided_at_provider("o1");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  // The returned units are available to the next order.
  place_new("o2", request(std::string{sim_token_ok}, {{"apple", 10}, {"pear", 5}}));
  expect_order("o2", order_status::confirmed);
  EXPECT_EQ(payments_->voided, strings{"o1"}) << "a confirmed order voids nothing";
  expect_stock("apple", 0, 0);
  expect_stock("pear", 0, 0);
}

TEST_F(order_saga_test, out_of_stock_returns_the_lines_taken_only_once_the_payment_is_voided) {
  start(with_latency(1s));
  place_new("o1", request(std::string{sim_token_ok}, {{"apple", 2}, {"pear", 6}}));
  expect_order("o1", order_status::pending); // authorization under way
  expect_stock("apple", 10, 0);
  advance(1s); // authorized: apple is taken, pear is short, the void is under way
  EXPECT_EQ(stored("o1")->status, order_status::rejecting);
  EXPECT_EQ(stored("o1")->reason, "out_of_stock");
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_stock("apple", 8, 0);
  advance(1s);
  expect_order("o1", order_status::rejected, "out_of_stock");
  expect_voided_at_provider("o1");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
}

TEST_F(order_saga_test, without_a_payment_provider_the_saga_waits_in_pending_holding_nothing) {
  start({}, {}, /*with_payment=*/false);
  place_new("o1", request());
  advance(10s);
  expect_order("o1", order_status::pending);
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  start_payment({});
  advance(10s); // a retry finds the gateway
  expect_order("o1", order_status::confirmed);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, an_unknown_sku_rejects_the_order_as_out_of_stock) {
  start();
  place_new("o1", request(std::string{sim_token_ok}, {{"apple", 1}, {"zucchini", 1}}));
  expect_order("o1", order_status::rejected, "out_of_stock");
  expect_stock("apple", 10, 0);
}

TEST_F(order_saga_test, two_orders_competing_for_the_last_units_are_served_one_after_the_other) {
  start();
  place_new("o1", request(std::string{sim_token_ok}, {{"apple", 8}}));
  place_new("o2", request(std::string{sim_token_ok}, {{"apple", 8}}));
  expect_order("o1", order_status::confirmed);
  expect_order("o2", order_status::rejected, "out_of_stock");
  expect_stock("apple", 2, 0);
}

// The stale activation is fenced: it steps aside and the request goes at once to a fresh
// one, without waiting for the saga's retry delay.
TEST_F(order_saga_test, a_stock_conflict_mid_saga_is_retried_at_once_on_a_fresh_activation) {
  start();
  // Another writer moves apple's row behind its live activation, which will conflict once.
  auto moved = std::make_shared<bool>(false);
  inside([=, repo = stock_repo_](caf::event_based_actor* self) {
    repo->set_on_hand(self, stock_record{"apple", 12, 0, 1},
                      [=](caf::expected<stock_record> x) { *moved = static_cast<bool>(x); });
  });
  ASSERT_TRUE(*moved);
  place_new("o1", request());
  expect_order("o1", order_status::confirmed);
  EXPECT_EQ(region_counter("troupe_entity_activations_total", "sku"), 3u)
      << "apple was activated again after the conflict (apple, pear, apple)";
  expect_stock("apple", 10, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, a_replay_with_the_same_request_answers_the_same_order) {
  start();
  place_new("o1", request());
  auto first = stored("o1");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, order_status::confirmed);
  auto replay = value_of(place("o1", request()));
  ASSERT_TRUE(replay) << describe(replay.error());
  EXPECT_FALSE(replay->created);
  EXPECT_EQ(replay->order.id, "o1");
  EXPECT_EQ(replay->order.status, order_status::confirmed);
  EXPECT_EQ(replay->order.version, first->version);
  EXPECT_EQ(replay->order.authorization_id, first->authorization_id);
  EXPECT_EQ(payments_->asked.size(), 1u);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, a_replay_reaching_a_fresh_activation_answers_the_stored_order) {
  start();
  place_new("o1", request());
  advance(2min); // the order passivates
  auto replay = value_of(place("o1", request()));
  ASSERT_TRUE(replay) << describe(replay.error());
  EXPECT_FALSE(replay->created);
  EXPECT_EQ(replay->order.status, order_status::confirmed);
  expect_stock("apple", 8, 0);
}

TEST_F(order_saga_test, a_new_order_is_stored_without_a_read_and_a_replay_reads_it_once) {
  start();
  place_new("o1", request());
  EXPECT_EQ(counted_->loads, 0u) << "a new order was read before it was inserted";
  ASSERT_EQ(stored("o1")->status, order_status::confirmed); // and left memory, finished
  counted_->loads = 0;                                      // the test's own read
  auto replay = value_of(place("o1", request()));
  ASSERT_TRUE(replay) << describe(replay.error());
  EXPECT_FALSE(replay->created);
  EXPECT_EQ(replay->order.status, order_status::confirmed);
  EXPECT_EQ(counted_->loads, 1u) << "the replay's conflict reads the stored order once";
  auto again = value_of(place("o1", request()));
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(counted_->loads, 1u) << "the activation knows the order now";
  EXPECT_EQ(payments_->asked.size(), 1u);
}

TEST_F(order_saga_test, a_different_request_under_the_same_key_is_an_idempotency_mismatch) {
  start();
  place_new("o1", request());
  auto version = stored("o1")->version;
  auto other =
      value_of(place("o1", request(std::string{sim_token_ok}, {{"apple", 5}}, "another-hash")));
  EXPECT_TRUE(fails_with(other, errc::idempotency_mismatch));
  auto other_user = request();
  other_user.user_id = "u2";
  EXPECT_TRUE(fails_with(value_of(place("o1", other_user)), errc::idempotency_mismatch));
  EXPECT_EQ(stored("o1")->version, version) << "the order must not change";
  expect_stock("apple", 8, 0);
}

} // namespace
} // namespace troupe::order::test
