// Writes made of statements: a batch of them is BEGIN, every statement and COMMIT in two
// round trips; a failing one is isolated as a code step is, and both kinds share batches.

#include <algorithm>
#include <memory>
#include <stdexcept>

#include <pqxx/pqxx>

#include "store/database_fixture.hpp"
#include "troupe/store/statement.hpp"

namespace troupe::store::test {
namespace {

const query kv_insert{"test_kv_insert", "insert into kv (k) values ($1)"};
const query kv_insert_new{"test_kv_insert_new",
                          "insert into kv (k) values ($1) on conflict do nothing returning k"};
const query kill_me{"test_kill_me", "select pg_terminate_backend(pg_backend_pid())"};

// How a write of `kv_insert_new` reads its rows: the key if it was new, -1 if it was there.
caf::expected<int> new_or_minus_one(std::vector<rows>& rs) {
  return rs.at(0).empty() ? -1 : static_cast<int>(rs.at(0).int64(0, 0));
}

class statement_write_test : public database_test {
protected:
  std::shared_ptr<result_slot<int>>
  send(caf::event_based_actor* self, std::vector<statement> stmts,
       std::function<caf::expected<int>(std::vector<rows>&)> interpret) {
    auto slot = std::make_shared<result_slot<int>>();
    db_->write<int>(self, std::move(stmts), std::move(interpret),
                    [slot](caf::expected<int> x) { slot->set(std::move(x)); });
    return slot;
  }

  std::shared_ptr<result_slot<int>> put_new(caf::event_based_actor* self, int k) {
    return send(self, {bind(kv_insert_new, k)}, new_or_minus_one);
  }

  static bool all_have(const std::vector<std::shared_ptr<result_slot<int>>>& slots) {
    return std::all_of(slots.begin(), slots.end(), [](auto& s) { return s->has(); });
  }
};

TEST_F(statement_write_test, concurrent_statement_writes_share_commits_and_duplicates_are_values) {
  start(kv_config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  ASSERT_TRUE(committed_row(7));
  std::vector<std::shared_ptr<result_slot<int>>> slots;
  for (int w = 0; w < 4; ++w)
    inside_actor([&, w](caf::event_based_actor* self) {
      for (int i = 0; i < 40; ++i)
        slots.push_back(put_new(self, w * 40 + i));
    });
  ASSERT_TRUE(run_until([&] { return all_have(slots); }, 20s));
  for (size_t i = 0; i < slots.size(); ++i) {
    ASSERT_TRUE(*slots[i]->value) << i << ": " << describe(slots[i]->value->error());
    EXPECT_EQ(**slots[i]->value, i == 7 ? -1 : static_cast<int>(i)) << "duplicate told as -1";
    EXPECT_EQ(slots[i]->calls, 1);
  }
  EXPECT_EQ(keys().size(), 160u);
  EXPECT_LT(commits(), 80u) << "no batching";
  EXPECT_EQ(isolated(), 0u) << "a duplicate the SQL skips fails nothing";
}

TEST_F(statement_write_test, a_failing_statement_fails_only_its_own_write) {
  ASSERT_TRUE(start_one_worker()) << db_->status();
  ASSERT_TRUE(committed_row(1));
  std::shared_ptr<result_slot<int>> ok1, duplicate, fenced, ok2;
  inside_actor([&](caf::event_based_actor* self) {
    hold_worker(self, 0.3);
    ok1 = put_new(self, 10);
    // A second statement that fails takes its write's first one with it.
    duplicate = send(self, {bind(kv_insert, 11), bind(kv_insert, 1)},
                     [](std::vector<rows>&) -> caf::expected<int> { return 0; });
    // An error value from reading the rows rolls the write back too.
    fenced = send(self, {bind(kv_insert, 12)}, [](std::vector<rows>&) -> caf::expected<int> {
      return make_error(errc::version_conflict, "changed meanwhile");
    });
    ok2 = put_new(self, 13);
  });
  ASSERT_TRUE(run_until([&] { return all_have({ok1, duplicate, fenced, ok2}); }, 10s));
  ASSERT_TRUE(*ok1->value) << describe(ok1->value->error());
  ASSERT_TRUE(*ok2->value) << describe(ok2->value->error());
  ASSERT_FALSE(*duplicate->value);
  EXPECT_TRUE(is(duplicate->value->error(), errc::already_exists))
      << describe(duplicate->value->error());
  ASSERT_FALSE(*fenced->value);
  EXPECT_TRUE(is(fenced->value->error(), errc::version_conflict));
  EXPECT_EQ(keys(), (std::vector<int>{1, 10, 13}));
  EXPECT_EQ(isolated(), 1u);
  EXPECT_EQ(commits(), 1u) << "the isolated run still commits once";
}

TEST_F(statement_write_test, a_reader_that_throws_fails_only_its_write_and_ends_its_transaction) {
  ASSERT_TRUE(start_one_worker()) << db_->status();
  std::shared_ptr<result_slot<int>> ok1, thrower, ok2;
  inside_actor([&](caf::event_based_actor* self) {
    hold_worker(self, 0.3);
    ok1 = put_new(self, 40);
    thrower = send(self, {bind(kv_insert, 41)}, [](std::vector<rows>&) -> caf::expected<int> {
      throw std::runtime_error{"unreadable"};
    });
    ok2 = put_new(self, 42);
  });
  ASSERT_TRUE(run_until([&] { return all_have({ok1, thrower, ok2}); }, 10s));
  ASSERT_TRUE(*ok1->value) << describe(ok1->value->error());
  ASSERT_TRUE(*ok2->value) << describe(ok2->value->error());
  ASSERT_FALSE(*thrower->value);
  EXPECT_TRUE(is(thrower->value->error(), errc::store_failure));
  // The next batch commits on its own: no transaction was left open on the connection.
  std::shared_ptr<result_slot<int>> next;
  inside_actor([&](caf::event_based_actor* self) { next = put_new(self, 43); });
  ASSERT_TRUE(run_until([&] { return next->has(); }, 10s));
  ASSERT_TRUE(*next->value) << describe(next->value->error());
  EXPECT_EQ(keys(), (std::vector<int>{40, 42, 43}));
}

TEST_F(statement_write_test, statement_writes_and_code_steps_share_a_batch) {
  ASSERT_TRUE(start_one_worker()) << db_->status();
  std::shared_ptr<result_slot<int>> a, b, c, d;
  inside_actor([&](caf::event_based_actor* self) {
    hold_worker(self, 0.3);
    a = put_new(self, 1);
    b = write_async<int>(self, put(2));
    c = put_new(self, 3);
    // A code step may run statements too, inside the shared transaction.
    d = write_async<int>(self, [](pqxx::transaction_base& tx) -> caf::expected<int> {
      auto rs = execute(tx, {bind(kv_insert_new, 4), bind(kv_insert_new, 1)});
      return static_cast<int>(rs.at(0).int64(0, 0) * 10 + rs.at(1).size());
    });
  });
  ASSERT_TRUE(run_until([&] { return all_have({a, b, c, d}); }, 10s));
  for (auto* slot : {a.get(), b.get(), c.get(), d.get()})
    ASSERT_TRUE(*slot->value) << describe(slot->value->error());
  EXPECT_EQ(**d->value, 40) << "4 was new, 1 was not";
  EXPECT_EQ(keys(), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(commits(), 1u);
  EXPECT_EQ(isolated(), 0u);
}

TEST_F(statement_write_test, a_failing_statement_inside_a_code_step_throws_as_libpqxx_would) {
  start(kv_config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  ASSERT_TRUE(committed_row(1));
  std::shared_ptr<result_slot<int>> caught;
  inside_actor([&](caf::event_based_actor* self) {
    caught = write_async<int>(self, [](pqxx::transaction_base& tx) -> caf::expected<int> {
      try {
        execute(tx, {bind(kv_insert, 1)});
      } catch (const pqxx::unique_violation&) {
        return make_error(errc::already_exists, "caught");
      }
      return 0;
    });
  });
  ASSERT_TRUE(run_until([&] { return caught->has(); }, 10s));
  ASSERT_FALSE(*caught->value);
  EXPECT_EQ(to_string(caught->value->error()).find("caught") != std::string::npos, true)
      << describe(caught->value->error());
}

TEST_F(statement_write_test, a_connection_lost_in_a_pipeline_fails_its_batch_and_comes_back) {
  ASSERT_TRUE(start_one_worker()) << db_->status();
  std::shared_ptr<result_slot<int>> before, killer, after;
  inside_actor([&](caf::event_based_actor* self) {
    hold_worker(self, 0.3);
    before = put_new(self, 20);
    killer =
        send(self, {bind(kill_me)}, [](std::vector<rows>&) -> caf::expected<int> { return 0; });
    after = put_new(self, 21);
  });
  ASSERT_TRUE(run_until([&] { return all_have({before, killer, after}); }, 10s));
  for (auto* slot : {before.get(), killer.get(), after.get()}) {
    ASSERT_FALSE(*slot->value);
    EXPECT_TRUE(is(slot->value->error(), errc::store_unavailable))
        << describe(slot->value->error());
  }
  EXPECT_TRUE(keys().empty());
  // The worker reconnects, prepares its queries again on the new connection, and writes go on.
  auto deadline = std::chrono::steady_clock::now() + 15s;
  caf::expected<int> back = make_error(errc::store_unavailable);
  while (!back && std::chrono::steady_clock::now() < deadline) {
    std::shared_ptr<result_slot<int>> slot;
    inside_actor([&](caf::event_based_actor* self) { slot = put_new(self, 22); });
    ASSERT_TRUE(run_until([&] { return slot->has(); }, 10s));
    back = std::move(*slot->value);
  }
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_EQ(keys(), (std::vector<int>{22}));
}

} // namespace
} // namespace troupe::store::test
