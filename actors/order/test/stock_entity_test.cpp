// The SKU entity on the deterministic scheduler with the memory repository: reservations,
// takes, commits and releases per order, their idempotency, passivation and fencing.

#include "entity_fixture.hpp"
#include "troupe/order/stock.hpp"

namespace troupe::order::test {
namespace {

class order_stock_entity_test : public entity_test {
protected:
  static constexpr caf::timespan idle = 2min;

  order_stock_entity_test() : skus_(region(stock_entity_kind(repo_, idle))) {}

  /// Sends `msg` to SKU `sku` and returns the stock it answers.
  template <class... Ts>
  caf::expected<stock_record> stock(const std::string& sku, Ts... msg) {
    return ask<stock_record>(skus_, sku, msg...);
  }

  caf::expected<stock_record> fetch(const std::string& sku) {
    return stock(sku, fetch_atom::value);
  }

  caf::expected<stock_record> set_stock(const std::string& sku, int64_t on_hand) {
    return stock(sku, set_stock_atom::value, on_hand);
  }

  caf::expected<stock_record> reserve(const std::string& sku, const std::string& order_id,
                                      int64_t quantity) {
    return stock(sku, reserve_atom::value, order_id, quantity);
  }

  caf::expected<stock_record> release(const std::string& sku, const std::string& order_id) {
    return stock(sku, release_atom::value, order_id);
  }

  caf::expected<stock_record> commit(const std::string& sku, const std::string& order_id) {
    return stock(sku, commit_atom::value, order_id);
  }

  caf::expected<stock_record> take(const std::string& sku, const std::string& order_id,
                                   int64_t quantity) {
    return stock(sku, take_atom::value, order_id, quantity);
  }

  /// What the repository holds for `sku`, read behind the entity's back.
  caf::expected<stock_state> stored(const std::string& sku) {
    auto out = std::make_shared<caf::expected<stock_state>>(make_error(errc::timeout, "no answer"));
    inside([=, repo = repo_](caf::event_based_actor* self) {
      repo->load(self, sku, [=](caf::expected<stock_state> x) { *out = std::move(x); });
    });
    return *out;
  }

  /// Sets the units on hand through the repository, as another activation would.
  caf::expected<stock_record> set_behind_its_back(stock_record next) {
    auto out =
        std::make_shared<caf::expected<stock_record>>(make_error(errc::timeout, "no answer"));
    inside([=, repo = repo_](caf::event_based_actor* self) {
      repo->set_on_hand(self, next, [=](caf::expected<stock_record> x) { *out = std::move(x); });
    });
    return *out;
  }

  /// Asserts that the entity and the repository both hold `on_hand`, `reserved` at `version`.
  void expect_stock(const std::string& sku, int64_t on_hand, int64_t reserved, uint64_t version) {
    auto row = stored(sku);
    ASSERT_TRUE(row) << describe(row.error());
    EXPECT_EQ(row->stock.on_hand, on_hand) << "stored";
    EXPECT_EQ(row->stock.reserved, reserved) << "stored";
    EXPECT_EQ(row->stock.version, version) << "stored";
    auto live = fetch(sku);
    ASSERT_TRUE(live) << describe(live.error());
    EXPECT_EQ(live->on_hand, on_hand) << "served";
    EXPECT_EQ(live->reserved, reserved) << "served";
    EXPECT_EQ(live->version, version) << "served";
  }

  /// The held reservations the repository has for `sku`.
  std::unordered_map<std::string, int64_t> held(const std::string& sku) {
    auto row = stored(sku);
    EXPECT_TRUE(row) << describe(row.error());
    return row ? row->held : std::unordered_map<std::string, int64_t>{};
  }

  uint64_t activations() { return region_counter("troupe_entity_activations_total", "sku"); }

  std::shared_ptr<stock_repository> repo_ = make_memory_stock_repository();
  caf::actor skus_;
};

using held_map = std::unordered_map<std::string, int64_t>;

TEST_F(order_stock_entity_test, an_unknown_sku_is_no_such_record) {
  EXPECT_TRUE(fails_with(fetch("nothing"), errc::no_such_record));
  EXPECT_TRUE(fails_with(stored("nothing"), errc::no_such_record));
}

TEST_F(order_stock_entity_test, set_stock_creates_the_sku_at_version_one) {
  auto created = set_stock("apple", 10);
  ASSERT_TRUE(created) << describe(created.error());
  EXPECT_EQ(created->sku, "apple");
  EXPECT_EQ(created->on_hand, 10);
  EXPECT_EQ(created->reserved, 0);
  EXPECT_EQ(created->version, 1u);
  expect_stock("apple", 10, 0, 1);
}

TEST_F(order_stock_entity_test, set_stock_changes_the_units_on_hand_and_bumps_the_version) {
  ASSERT_TRUE(set_stock("apple", 10));
  auto changed = set_stock("apple", 25);
  ASSERT_TRUE(changed) << describe(changed.error());
  EXPECT_EQ(changed->on_hand, 25);
  EXPECT_EQ(changed->version, 2u);
  expect_stock("apple", 25, 0, 2);
}

TEST_F(order_stock_entity_test, a_reserve_within_availability_holds_units_and_bumps_the_version) {
  ASSERT_TRUE(set_stock("apple", 10));
  auto first = reserve("apple", "o1", 3);
  ASSERT_TRUE(first) << describe(first.error());
  EXPECT_EQ(first->on_hand, 10);
  EXPECT_EQ(first->reserved, 3);
  EXPECT_EQ(first->version, 2u);
  auto rest = reserve("apple", "o2", 7); // exactly what is left
  ASSERT_TRUE(rest) << describe(rest.error());
  EXPECT_EQ(rest->reserved, 10);
  EXPECT_EQ(rest->version, 3u);
  expect_stock("apple", 10, 10, 3);
  EXPECT_EQ(held("apple"), (held_map{{"o1", 3}, {"o2", 7}}));
}

TEST_F(order_stock_entity_test, a_reserve_beyond_availability_is_out_of_stock_and_changes_nothing) {
  ASSERT_TRUE(set_stock("apple", 5));
  ASSERT_TRUE(reserve("apple", "o1", 3));
  EXPECT_TRUE(fails_with(reserve("apple", "o2", 3), errc::out_of_stock));
  EXPECT_TRUE(fails_with(reserve("apple", "o3", 6), errc::out_of_stock));
  expect_stock("apple", 5, 3, 2);
  EXPECT_EQ(held("apple"), (held_map{{"o1", 3}}));
  EXPECT_TRUE(reserve("apple", "o2", 2)) << "what is available can still be reserved";
}

TEST_F(order_stock_entity_test, a_reserve_of_an_unknown_sku_is_out_of_stock_and_creates_nothing) {
  EXPECT_TRUE(fails_with(reserve("nothing", "o1", 1), errc::out_of_stock));
  EXPECT_TRUE(fails_with(stored("nothing"), errc::no_such_record));
}

TEST_F(order_stock_entity_test, a_reserve_of_no_units_is_an_invalid_argument) {
  ASSERT_TRUE(set_stock("apple", 5));
  EXPECT_TRUE(fails_with(reserve("apple", "o1", 0), errc::invalid_argument));
  EXPECT_TRUE(fails_with(reserve("apple", "o1", -2), errc::invalid_argument));
  expect_stock("apple", 5, 0, 1);
}

TEST_F(order_stock_entity_test, a_repeated_reserve_of_the_same_order_changes_nothing) {
  ASSERT_TRUE(set_stock("apple", 10));
  ASSERT_TRUE(reserve("apple", "o1", 3));
  auto again = reserve("apple", "o1", 3);
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(again->reserved, 3);
  EXPECT_EQ(again->version, 2u);
  auto other_quantity = reserve("apple", "o1", 5);
  ASSERT_TRUE(other_quantity) << describe(other_quantity.error());
  EXPECT_EQ(other_quantity->reserved, 3) << "the first reserve of an order counts";
  expect_stock("apple", 10, 3, 2);
  EXPECT_EQ(held("apple"), (held_map{{"o1", 3}}));
}

TEST_F(order_stock_entity_test, reserves_arriving_together_share_one_store_write) {
  ASSERT_TRUE(set_stock("apple", 5));
  std::vector<answer<stock_record>> answers;
  for (int i = 0; i < 4; ++i)
    answers.push_back(std::make_shared<std::optional<caf::expected<stock_record>>>());
  // Four orders at once, each for 2 units of 5: they queue behind one another and go to
  // the store as one batch, in arrival order, the last two refused on their own.
  inside([&, skus = skus_](caf::event_based_actor* self) {
    for (int i = 0; i < 4; ++i) {
      auto out = answers[static_cast<size_t>(i)];
      placement::ask(
          self, skus, "apple", ask_timeout,
          std::make_tuple(reserve_atom::value, "o" + std::to_string(i), int64_t{2}),
          [out](const stock_record& x) { *out = caf::expected<stock_record>{x}; },
          [out](const caf::error& err) { *out = caf::expected<stock_record>{err}; });
    }
  });
  ASSERT_TRUE(value_of(answers[0])) << describe(value_of(answers[0]).error());
  ASSERT_TRUE(value_of(answers[1])) << describe(value_of(answers[1]).error());
  EXPECT_TRUE(fails_with(value_of(answers[2]), errc::out_of_stock));
  EXPECT_TRUE(fails_with(value_of(answers[3]), errc::out_of_stock));
  EXPECT_EQ(value_of(answers[0])->version, 2u) << "one write for the whole batch";
  expect_stock("apple", 5, 4, 2);
  EXPECT_EQ(held("apple"), (held_map{{"o0", 2}, {"o1", 2}}));
}

TEST_F(order_stock_entity_test, a_release_frees_the_held_units) {
  ASSERT_TRUE(set_stock("apple", 10));
  ASSERT_TRUE(reserve("apple", "o1", 4));
  auto released = release("apple", "o1");
  ASSERT_TRUE(released) << describe(released.error());
  EXPECT_EQ(released->on_hand, 10);
  EXPECT_EQ(released->reserved, 0);
  EXPECT_EQ(released->version, 3u);
  expect_stock("apple", 10, 0, 3);
  EXPECT_TRUE(held("apple").empty());
  EXPECT_TRUE(reserve("apple", "o2", 10)) << "every unit is available again";
}

TEST_F(order_stock_entity_test, a_release_is_idempotent) {
  ASSERT_TRUE(set_stock("apple", 10));
  ASSERT_TRUE(reserve("apple", "o1", 4));
  ASSERT_TRUE(reserve("apple", "o2", 1));
  ASSERT_TRUE(release("apple", "o1"));
  auto again = release("apple", "o1");
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(again->reserved, 1) << "o2's reservation must stay";
  EXPECT_EQ(again->version, 4u);
  expect_stock("apple", 10, 1, 4);
  EXPECT_EQ(held("apple"), (held_map{{"o2", 1}}));
}

TEST_F(order_stock_entity_test, a_release_before_the_reserve_makes_the_late_reserve_a_no_op) {
  ASSERT_TRUE(set_stock("apple", 10));
  auto released = release("apple", "o1");
  ASSERT_TRUE(released) << describe(released.error());
  EXPECT_EQ(released->reserved, 0);
  auto late = reserve("apple", "o1", 4);
  ASSERT_TRUE(late) << describe(late.error());
  EXPECT_EQ(late->reserved, 0);
  expect_stock("apple", 10, 0, 1);
  EXPECT_TRUE(held("apple").empty());
  // A fresh activation, which learns the marker from the store only, agrees.
  advance(idle);
  auto later = reserve("apple", "o1", 4);
  ASSERT_TRUE(later) << describe(later.error());
  EXPECT_EQ(later->reserved, 0);
  expect_stock("apple", 10, 0, 1);
}

// messages.hpp: "releasing first makes a later reserve of that order a no-op". A release
// that reaches a SKU before its row exists (an order that failed on a SKU not stocked yet,
// then a duplicated or late reserve after an admin stocked it) must leave the marker too.
TEST_F(order_stock_entity_test,
       a_release_before_the_sku_exists_still_makes_a_late_reserve_a_no_op) {
  auto released = release("melon", "o1");
  ASSERT_TRUE(released) << describe(released.error());
  EXPECT_EQ(released->reserved, 0);
  ASSERT_TRUE(set_stock("melon", 10));
  auto late = reserve("melon", "o1", 4);
  ASSERT_TRUE(late) << describe(late.error());
  EXPECT_EQ(late->reserved, 0) << "units are held for an order that was already released";
  EXPECT_TRUE(held("melon").empty());
}

TEST_F(order_stock_entity_test, a_commit_takes_the_held_units_and_is_idempotent) {
  ASSERT_TRUE(set_stock("apple", 10));
  ASSERT_TRUE(reserve("apple", "o1", 4));
  ASSERT_TRUE(reserve("apple", "o2", 1));
  auto taken = commit("apple", "o1");
  ASSERT_TRUE(taken) << describe(taken.error());
  EXPECT_EQ(taken->on_hand, 6);
  EXPECT_EQ(taken->reserved, 1);
  EXPECT_EQ(taken->version, 4u);
  auto again = commit("apple", "o1");
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(again->on_hand, 6);
  EXPECT_EQ(again->reserved, 1);
  EXPECT_EQ(again->version, 4u);
  expect_stock("apple", 6, 1, 4);
  EXPECT_EQ(held("apple"), (held_map{{"o2", 1}}));
  // Also from a fresh activation, which no longer holds o1 in memory.
  advance(idle);
  auto after_passivation = commit("apple", "o1");
  ASSERT_TRUE(after_passivation) << describe(after_passivation.error());
  expect_stock("apple", 6, 1, 4);
}

TEST_F(order_stock_entity_test, a_commit_without_a_held_reservation_is_an_invalid_state) {
  EXPECT_TRUE(fails_with(commit("nothing", "o1"), errc::invalid_state));
  ASSERT_TRUE(set_stock("apple", 10));
  EXPECT_TRUE(fails_with(commit("apple", "o1"), errc::invalid_state));
  ASSERT_TRUE(reserve("apple", "o2", 2));
  ASSERT_TRUE(release("apple", "o2"));
  EXPECT_TRUE(fails_with(commit("apple", "o2"), errc::invalid_state)) << "released, not held";
  expect_stock("apple", 10, 0, 3);
}

TEST_F(order_stock_entity_test, a_release_after_the_commit_returns_the_units_to_stock) {
  ASSERT_TRUE(set_stock("apple", 10));
  ASSERT_TRUE(reserve("apple", "o1", 4));
  ASSERT_TRUE(commit("apple", "o1"));
  auto returned = release("apple", "o1");
  ASSERT_TRUE(returned) << describe(returned.error());
  EXPECT_EQ(returned->on_hand, 10);
  EXPECT_EQ(returned->reserved, 0);
  EXPECT_EQ(returned->version, 4u);
  ASSERT_TRUE(release("apple", "o1"));
  expect_stock("apple", 10, 0, 4);
  EXPECT_TRUE(fails_with(commit("apple", "o1"), errc::invalid_state)) << "returned, not held";
}

TEST_F(order_stock_entity_test, a_take_removes_units_in_one_write_and_is_idempotent) {
  ASSERT_TRUE(set_stock("apple", 10));
  ASSERT_TRUE(reserve("apple", "o2", 3));
  auto taken = take("apple", "o1", 4);
  ASSERT_TRUE(taken) << describe(taken.error());
  EXPECT_EQ(taken->on_hand, 6);
  EXPECT_EQ(taken->reserved, 3) << "never held";
  EXPECT_EQ(taken->version, 3u);
  auto again = take("apple", "o1", 4);
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(again->on_hand, 6);
  EXPECT_EQ(again->version, 3u);
  // Also from a fresh activation, and when the units left would not cover it again.
  advance(idle);
  ASSERT_TRUE(take("apple", "o3", 3));
  auto after_passivation = take("apple", "o1", 4);
  ASSERT_TRUE(after_passivation) << describe(after_passivation.error());
  expect_stock("apple", 3, 3, 4);
  EXPECT_EQ(held("apple"), (held_map{{"o2", 3}}));
}

TEST_F(order_stock_entity_test, a_take_beyond_availability_or_after_a_release_is_out_of_stock) {
  EXPECT_TRUE(fails_with(take("nothing", "o1", 1), errc::out_of_stock));
  ASSERT_TRUE(set_stock("apple", 10));
  ASSERT_TRUE(reserve("apple", "o1", 8));
  EXPECT_TRUE(fails_with(take("apple", "o2", 3), errc::out_of_stock)) << "2 available";
  EXPECT_TRUE(fails_with(take("apple", "o3", 0), errc::invalid_argument));
  ASSERT_TRUE(release("apple", "o4"));
  EXPECT_TRUE(fails_with(take("apple", "o4", 1), errc::out_of_stock)) << "released first";
  expect_stock("apple", 10, 8, 2);
}

TEST_F(order_stock_entity_test, a_take_after_a_reserve_takes_the_held_units) {
  ASSERT_TRUE(set_stock("apple", 10));
  ASSERT_TRUE(reserve("apple", "o1", 10));
  auto taken = take("apple", "o1", 10); // nothing is free, but these units are the order's
  ASSERT_TRUE(taken) << describe(taken.error());
  expect_stock("apple", 0, 0, 3);
  EXPECT_TRUE(held("apple").empty());
  ASSERT_TRUE(release("apple", "o1"));
  expect_stock("apple", 10, 0, 4);
}

TEST_F(order_stock_entity_test, set_stock_below_the_reserved_units_or_negative_is_refused) {
  ASSERT_TRUE(set_stock("apple", 10));
  ASSERT_TRUE(reserve("apple", "o1", 6));
  EXPECT_TRUE(fails_with(set_stock("apple", 5), errc::invalid_state));
  EXPECT_TRUE(fails_with(set_stock("apple", -1), errc::invalid_argument));
  EXPECT_TRUE(fails_with(set_stock("fresh", -1), errc::invalid_argument));
  expect_stock("apple", 10, 6, 2);
  EXPECT_TRUE(fails_with(stored("fresh"), errc::no_such_record));
  auto exact = set_stock("apple", 6);
  ASSERT_TRUE(exact) << describe(exact.error());
  EXPECT_EQ(exact->on_hand, 6);
  EXPECT_EQ(exact->version, 3u);
}

TEST_F(order_stock_entity_test, state_survives_passivation_because_it_is_reloaded_from_the_store) {
  ASSERT_TRUE(set_stock("apple", 10));
  ASSERT_TRUE(reserve("apple", "o1", 3));
  EXPECT_EQ(activations(), 1u);
  advance(idle); // the activation passivates
  EXPECT_EQ(region_counter("troupe_entity_passivations_total", "sku"), 1u);
  auto reloaded = fetch("apple");
  ASSERT_TRUE(reloaded) << describe(reloaded.error());
  EXPECT_EQ(activations(), 2u) << "the fetch activated the SKU again";
  EXPECT_EQ(reloaded->on_hand, 10);
  EXPECT_EQ(reloaded->reserved, 3);
  EXPECT_EQ(reloaded->version, 2u);
  // The held reservations came back with it.
  auto again = reserve("apple", "o1", 3);
  ASSERT_TRUE(again) << describe(again.error());
  EXPECT_EQ(again->reserved, 3);
  EXPECT_EQ(again->version, 2u);
  EXPECT_TRUE(fails_with(reserve("apple", "o2", 8), errc::out_of_stock));
  auto taken = commit("apple", "o1");
  ASSERT_TRUE(taken) << describe(taken.error());
  EXPECT_EQ(taken->on_hand, 7);
  EXPECT_EQ(taken->reserved, 0);
}

TEST_F(order_stock_entity_test,
       a_write_behind_its_back_is_a_conflict_and_a_fresh_activation_goes_on) {
  ASSERT_TRUE(set_stock("apple", 10));
  // Another writer (a stale activation elsewhere) moves the row.
  auto elsewhere = set_behind_its_back(stock_record{"apple", 20, 0, 1});
  ASSERT_TRUE(elsewhere) << describe(elsewhere.error());
  ASSERT_EQ(elsewhere->version, 2u);
  EXPECT_TRUE(fails_with(reserve("apple", "o1", 3), errc::version_conflict));
  EXPECT_EQ(held("apple"), held_map{}) << "the conflicting write must not land";
  // The activation stepped aside; the next request reloads and succeeds.
  auto retried = reserve("apple", "o1", 3);
  ASSERT_TRUE(retried) << describe(retried.error());
  EXPECT_EQ(activations(), 2u);
  EXPECT_EQ(retried->on_hand, 20);
  EXPECT_EQ(retried->reserved, 3);
  EXPECT_EQ(retried->version, 3u);
  expect_stock("apple", 20, 3, 3);
  EXPECT_EQ(held("apple"), (held_map{{"o1", 3}}));
}

} // namespace
} // namespace troupe::order::test
