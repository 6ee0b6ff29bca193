// Payment failures and timeouts, and sagas resumed after a crash or found unfinished in the
// store.

#include "order_saga_fixture.hpp"

namespace troupe::order::test {
namespace {

TEST_F(order_saga_test, with_provider_latency_the_saga_waits_in_pending_until_time_advances) {
  start(with_latency(1500ms));
  place_new("o1", request());
  expect_order("o1", order_status::pending);
  expect_stock("apple", 10, 0);
  advance(1499ms);
  expect_order("o1", order_status::pending);
  advance(1ms);
  expect_order("o1", order_status::confirmed);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, a_technical_payment_failure_rejects_the_order_as_payment_failed) {
  start(with_rates(0, 1));
  place_new("o1", request("tok_card"));
  expect_order("o1", order_status::rejected, "payment_failed");
  EXPECT_EQ(payments_->asked, strings{"o1"});
  EXPECT_TRUE(payments_->granted.empty());
  EXPECT_EQ(payments_->voided, strings{"o1"}) << "a failure is no proof that nothing was held";
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
}

// A provider answering after the gateway gave up may still have authorized: the saga does
// not know the outcome, so rejecting the order must not leave that money held.
TEST_F(order_saga_test, a_payment_timeout_leaves_no_live_authorization_behind) {
  // The authorization takes 2.5 s, the gateway gives up after 2 s; a void takes 1.5 s.
  start(with_latency(1500ms), {}, true, 1s);
  place_new("o1", request());
  advance(1s); // the authorization reaches the provider
  advance(1s); // the gateway gives up
  // Rejecting: the void is under way.
  EXPECT_EQ(stored("o1")->status, order_status::rejecting);
  EXPECT_EQ(stored("o1")->reason, "payment_failed");
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_stock("apple", 10, 0); // nothing was taken: the stock comes after the payment
  advance(500ms);               // the provider authorizes now, with no one waiting
  ASSERT_EQ(payments_->granted.size(), 1u);
  advance(1s); // the void settles it
  expect_order("o1", order_status::rejected, "payment_failed");
  EXPECT_TRUE(stored("o1")->authorization_id.empty());
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  advance(10s);
  EXPECT_EQ(payments_->voided, strings{"o1"});
  EXPECT_EQ(payments_->granted.size(), 1u);
  expect_voided_at_provider("o1");
}

// The other order of events: the void reaches the provider first, and the late
// authorization is refused instead of granted.
TEST_F(order_saga_test, an_authorization_arriving_after_the_timeout_and_void_is_refused) {
  start({}, {}, true, 3s); // the gateway gives up after 2 s
  place_new("o1", request());
  advance(2s);
  expect_order("o1", order_status::rejected, "payment_failed");
  EXPECT_EQ(payments_->voided, strings{"o1"});
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  EXPECT_TRUE(payments_->refused.empty()) << "the authorization has not reached the provider";
  advance(1s); // now it does
  EXPECT_EQ(payments_->refused, strings{"o1"});
  EXPECT_TRUE(payments_->granted.empty())
      << "order o1 is rejected but the provider granted " << payments_->granted.front();
  advance(10s);
  expect_order("o1", order_status::rejected, "payment_failed");
  expect_voided_at_provider("o1");
}

TEST_F(order_saga_test, a_crash_after_pending_is_resumed_and_confirms_once) {
  start({}, "pending");
  place_new("crash-pending", request());
  EXPECT_EQ(region_counter("troupe_entity_crashes_total", "order"), 1u);
  EXPECT_EQ(stored("crash-pending")->status, order_status::pending);
  EXPECT_TRUE(payments_->asked.empty());
  expect_stock("apple", 10, 0);
  resume("crash-pending");
  expect_order("crash-pending", order_status::confirmed);
  EXPECT_EQ(payments_->asked.size(), 1u);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, a_crash_after_the_authorization_is_resumed_with_the_same_authorization) {
  start({}, "authorized");
  place_new("crash-authorized", request());
  // The activation died with the payment granted and nothing taken or stored since.
  EXPECT_EQ(region_counter("troupe_entity_crashes_total", "order"), 1u);
  auto left = stored("crash-authorized");
  ASSERT_TRUE(left);
  EXPECT_EQ(left->status, order_status::pending);
  ASSERT_EQ(payments_->granted.size(), 1u);
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
  EXPECT_TRUE(*resume("crash-authorized"));
  expect_order("crash-authorized", order_status::confirmed);
  // Asked again, and answered the live authorization again: one payment held, not two.
  EXPECT_EQ(payments_->asked.size(), 2u);
  EXPECT_EQ(payments_->granted, (strings{payments_->granted.front(), payments_->granted.front()}));
  EXPECT_EQ(stored("crash-authorized")->authorization_id, payments_->granted.front());
  EXPECT_TRUE(payments_->voided.empty());
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
  // Waking a finished order again changes nothing.
  resume("crash-authorized");
  expect_order("crash-authorized", order_status::confirmed);
  expect_stock("apple", 8, 0);
}

TEST_F(order_saga_test, a_crash_after_the_take_is_resumed_without_taking_twice) {
  start({}, "taken");
  place_new("crash-taken", request());
  EXPECT_EQ(region_counter("troupe_entity_crashes_total", "order"), 1u);
  EXPECT_EQ(stored("crash-taken")->status, order_status::pending);
  expect_stock("apple", 8, 0); // taken, not confirmed
  expect_stock("pear", 4, 0);
  resume("crash-taken");
  expect_order("crash-taken", order_status::confirmed);
  EXPECT_EQ(stored("crash-taken")->authorization_id, payments_->granted.front());
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

// Rows an older saga left in `reserved` or `authorized`, with its held reservations: the
// saga goes on as from pending, and the take turns the held units into taken ones.
TEST_F(order_saga_test, an_order_left_reserved_or_authorized_by_an_older_saga_is_completed) {
  start();
  for (auto status : {order_status::reserved, order_status::authorized}) {
    auto id = std::string{"left-"} + to_string(status);
    auto left = request();
    left.id = id;
    left.idempotency_key = "key-" + id;
    left.status = status;
    insert_behind(left);
    for (const auto& line : left.items)
      ASSERT_TRUE(ask<stock_record>(skus_, line.sku, reserve_atom::value, id, line.quantity));
    resume(id);
    expect_order(id, order_status::confirmed);
  }
  expect_stock("apple", 6, 0);
  expect_stock("pear", 3, 0);
  EXPECT_EQ(payments_->asked.size(), 2u);
}

TEST_F(order_saga_test, a_finished_order_leaves_memory_at_once) {
  start();
  place_new("o1", request());
  EXPECT_EQ(stored("o1")->status, order_status::confirmed);
  EXPECT_EQ(region_counter("troupe_entity_passivations_total", "order"), 1u)
      << "without waiting out the idle timeout";
  expect_order("o1", order_status::confirmed); // a read loads it again
  auto c = value_of(cancel("o1"));
  ASSERT_TRUE(c) << describe(c.error());
  EXPECT_EQ(c->status, order_status::cancelled);
  EXPECT_EQ(region_counter("troupe_entity_passivations_total", "order"), 2u);
}

TEST_F(order_saga_test, a_crash_while_cancelling_is_resumed_to_cancelled) {
  start({}, "cancelling");
  place_new("crash-cancelling", request());
  expect_order("crash-cancelling", order_status::confirmed);
  // The activation dies after storing cancelling, before it can answer: the caller's own
  // timeout answers this cancel, and recovery finishes the job.
  cancel("crash-cancelling");
  EXPECT_EQ(stored("crash-cancelling")->status, order_status::cancelling);
  resume("crash-cancelling");
  expect_order("crash-cancelling", order_status::cancelled);
  ASSERT_EQ(payments_->granted.size(), 1u);
  EXPECT_FALSE(payments_->voided.empty());
  for (const auto& id : payments_->voided)
    EXPECT_EQ(id, "crash-cancelling");
  expect_voided_at_provider("crash-cancelling");
  expect_stock("apple", 10, 0);
  expect_stock("pear", 5, 0);
}

TEST_F(order_saga_test, an_order_left_pending_in_the_store_is_completed_when_woken) {
  start();
  auto left = request();
  left.id = "left-pending";
  left.idempotency_key = "key-left-pending";
  left.status = order_status::pending;
  insert_behind(left);
  expect_stock("apple", 10, 0);
  resume("left-pending");
  expect_order("left-pending", order_status::confirmed);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

TEST_F(order_saga_test, the_recovery_worker_completes_an_order_left_pending) {
  start();
  auto left = request();
  left.id = "left-for-recovery";
  left.idempotency_key = "key-left-for-recovery";
  left.status = order_status::pending; // untouched since the epoch
  insert_behind(left);
  auto worker = order_recovery_child(order_repo_, locator(), 1s).start(sys_ref());
  ASSERT_TRUE(worker) << describe(worker.error());
  keep(*worker);
  run();
  expect_order("left-for-recovery", order_status::confirmed);
  expect_stock("apple", 8, 0);
  expect_stock("pear", 4, 0);
}

} // namespace
} // namespace troupe::order::test
