// One contract, two stores: the memory repository and PostgreSQL must agree on what a batch
// of stock ops does, including the saga's happy path, which PostgreSQL sends as two statements
// in its batch and leaves to the careful path when an order was there before. Real threads,
// bounded waits.

#include <future>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <gtest/gtest.h>

#include "support/store_contract.hpp"
#include "troupe/core/error.hpp"
#include "troupe/order/orders.hpp"
#include "troupe/order/stock.hpp"
#include "troupe/store/database.hpp"

namespace troupe::order {
namespace {

using namespace std::chrono_literals;

stock_op take(std::string order_id, int64_t quantity) {
  return {stock_op::kind::take, std::move(order_id), quantity};
}

class stock_repository_contract : public testing::store_contract {
protected:
  void SetUp() override {
    repo_ = start_store(order_migrations()) ? make_postgres_stock_repository(db_)
                                            : make_memory_stock_repository();
    ASSERT_FALSE(HasFailure());
  }

  void TearDown() override {
    repo_.reset();
    stop_store();
  }

  caf::expected<stock_record> create(const std::string& sku, int64_t on_hand) {
    return await<stock_record>([=, repo = repo_](auto* self, auto done) {
      repo->set_on_hand(self, stock_record{sku, on_hand, 0, 0}, done);
    });
  }
  caf::expected<stock_state> load(const std::string& sku) {
    return await<stock_state>(
        [=, repo = repo_](auto* self, auto done) { repo->load(self, sku, done); });
  }
  caf::expected<stock_outcome> apply(const stock_record& at, std::vector<stock_op> ops) {
    return await<stock_outcome>(
        [=, repo = repo_](auto* self, auto done) { repo->apply(self, at, ops, done); });
  }

  /// Asserts that the stored row of `sku` is `expected`.
  void stored_is(const std::string& sku, const stock_record& expected) {
    auto now = load(sku);
    ASSERT_TRUE(now) << describe(now.error());
    EXPECT_EQ(now->stock.on_hand, expected.on_hand);
    EXPECT_EQ(now->stock.reserved, expected.reserved);
    EXPECT_EQ(now->stock.version, expected.version);
  }

  /// Asserts that every op of `out` succeeded.
  static void all_ok(const stock_outcome& out, size_t n) {
    ASSERT_EQ(out.results.size(), n);
    for (const auto& err : out.results)
      EXPECT_FALSE(err) << describe(err);
  }

  std::shared_ptr<stock_repository> repo_;
};

TEST_P(stock_repository_contract, takes_of_new_orders_move_the_count_in_one_version) {
  auto at = create("sku-a", 10);
  ASSERT_TRUE(at) << describe(at.error());
  auto out = apply(*at, {take("o-1", 2), take("o-2", 3)});
  ASSERT_TRUE(out) << describe(out.error());
  all_ok(*out, 2);
  EXPECT_EQ(out->stock.on_hand, 5);
  EXPECT_EQ(out->stock.reserved, 0);
  EXPECT_EQ(out->stock.version, at->version + 1);
  stored_is("sku-a", out->stock);
  EXPECT_TRUE(load("sku-a")->held.empty());
}

TEST_P(stock_repository_contract, a_replayed_take_changes_nothing_and_succeeds) {
  auto at = create("sku-a", 10);
  ASSERT_TRUE(at);
  auto first = apply(*at, {take("o-1", 2)});
  ASSERT_TRUE(first) << describe(first.error());
  auto again = apply(first->stock, {take("o-1", 2)});
  ASSERT_TRUE(again) << describe(again.error());
  all_ok(*again, 1);
  EXPECT_EQ(again->stock.on_hand, 8) << "taken once";
  // A batch mixing the replay with a new order takes the new one only.
  auto mixed = apply(again->stock, {take("o-1", 2), take("o-3", 1)});
  ASSERT_TRUE(mixed) << describe(mixed.error());
  all_ok(*mixed, 2);
  EXPECT_EQ(mixed->stock.on_hand, 7);
  stored_is("sku-a", mixed->stock);
}

TEST_P(stock_repository_contract, a_take_at_a_stale_version_is_a_conflict_and_writes_nothing) {
  auto at = create("sku-a", 10);
  ASSERT_TRUE(at);
  auto moved = apply(*at, {take("o-1", 1)});
  ASSERT_TRUE(moved) << describe(moved.error());
  auto stale = apply(*at, {take("o-2", 4)});
  ASSERT_FALSE(stale);
  EXPECT_TRUE(is(stale.error(), errc::version_conflict)) << describe(stale.error());
  // o-2 left no reservation behind: taking it at the current version moves the count.
  auto retried = apply(moved->stock, {take("o-2", 4)});
  ASSERT_TRUE(retried) << describe(retried.error());
  all_ok(*retried, 1);
  EXPECT_EQ(retried->stock.on_hand, 5);
}

TEST_P(stock_repository_contract, takes_beyond_availability_are_out_of_stock_one_by_one) {
  auto at = create("sku-a", 3);
  ASSERT_TRUE(at);
  auto out = apply(*at, {take("o-1", 2), take("o-2", 2)});
  ASSERT_TRUE(out) << describe(out.error());
  ASSERT_EQ(out->results.size(), 2u);
  EXPECT_FALSE(out->results[0]);
  EXPECT_TRUE(is(out->results[1], errc::out_of_stock)) << describe(out->results[1]);
  EXPECT_EQ(out->stock.on_hand, 1);
}

INSTANTIATE_TEST_SUITE_P(stores, stock_repository_contract, ::testing::Values("memory", "postgres"),
                         [](const auto& info) { return info.param; });

} // namespace
} // namespace troupe::order
