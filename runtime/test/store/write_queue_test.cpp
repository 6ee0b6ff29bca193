// Group commit: concurrent writes share a transaction, a failing one is isolated with
// savepoints, and every writer hears of its write only after its COMMIT.

#include <algorithm>
#include <memory>

#include <pqxx/pqxx>

#include "store/database_fixture.hpp"

namespace troupe::store::test {
namespace {

TEST_F(database_test, concurrent_writes_from_many_actors_share_commits) {
  start(kv_config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  constexpr int writers = 4;
  constexpr int per_writer = 40;
  std::vector<std::shared_ptr<result_slot<int>>> slots;
  for (int w = 0; w < writers; ++w)
    inside_actor([&, w](caf::event_based_actor* self) {
      for (int i = 0; i < per_writer; ++i)
        slots.push_back(write_async<int>(self, put(w * per_writer + i)));
    });
  ASSERT_TRUE(run_until(
      [&] { return std::all_of(slots.begin(), slots.end(), [](auto& s) { return s->has(); }); },
      20s));
  for (size_t i = 0; i < slots.size(); ++i) {
    ASSERT_TRUE(*slots[i]->value) << i << ": " << describe(slots[i]->value->error());
    EXPECT_EQ(**slots[i]->value, static_cast<int>(i));
    EXPECT_EQ(slots[i]->calls, 1);
  }
  EXPECT_EQ(keys().size(), static_cast<size_t>(writers * per_writer));
  auto& sizes = metrics_->histograms("troupe_db_batch_size", "", {}).with({});
  EXPECT_EQ(sizes.count(), commits());
  EXPECT_EQ(sizes.sum(), writers * per_writer);
  EXPECT_LT(commits(), static_cast<uint64_t>(writers * per_writer / 2)) << "no batching";
  // Writes wait in the database's queue, not as pool jobs: a lead job runs batch after batch.
  auto jobs = metrics_->counters("troupe_pool_jobs_total", "", {"pool", "outcome"})
                  .with({"store", "ok"})
                  .value();
  EXPECT_LT(jobs, static_cast<uint64_t>(writers * per_writer / 2)) << "a pool job per write";
  EXPECT_EQ(isolated(), 0u) << "batches of good writes need no savepoint per write";
}

TEST_F(database_test, a_failing_step_rolls_back_only_its_own_savepoint) {
  ASSERT_TRUE(start_one_worker()) << db_->status();
  ASSERT_TRUE(committed_row(1));
  std::shared_ptr<result_slot<int>> ok1, refused, duplicate, swallowed, ok2;
  inside_actor([&](caf::event_based_actor* self) {
    hold_worker(self, 0.3);
    ok1 = write_async<int>(self, put(10));
    refused = write_async<int>(self, [](pqxx::transaction_base& tx) -> caf::expected<int> {
      (void)put(11)(tx);
      return make_error(errc::version_conflict, "changed meanwhile");
    });
    // Prepared for the first time inside the savepoint that rolls back.
    duplicate = write_async<int>(self, [](pqxx::transaction_base& tx) -> caf::expected<int> {
      (void)put(12)(tx);
      prepare_once(tx.conn(), "kv_put_again", "insert into kv (k) values ($1)");
      tx.exec_prepared("kv_put_again", 1);
      return 1;
    });
    // Catching a statement's error does not make the savepoint good again.
    swallowed = write_async<int>(self, swallowing(15));
    ok2 = write_async<int>(self, put(13));
  });
  ASSERT_TRUE(run_until([&] { return ok2->has() && ok1->has() && refused->has(); }, 10s));
  ASSERT_TRUE(duplicate->has());
  ASSERT_TRUE(swallowed->has());
  ASSERT_FALSE(*swallowed->value);
  EXPECT_TRUE(is(swallowed->value->error(), errc::store_failure))
      << describe(swallowed->value->error());
  ASSERT_TRUE(*ok1->value) << describe(ok1->value->error());
  ASSERT_TRUE(*ok2->value) << describe(ok2->value->error());
  ASSERT_FALSE(*refused->value);
  EXPECT_TRUE(is(refused->value->error(), errc::version_conflict))
      << describe(refused->value->error());
  ASSERT_FALSE(*duplicate->value);
  EXPECT_TRUE(is(duplicate->value->error(), errc::already_exists))
      << describe(duplicate->value->error());
  EXPECT_EQ(keys(), (std::vector<int>{1, 10, 13}));
  EXPECT_EQ(commits(), 1u) << "the five writes should have shared one transaction";
  EXPECT_EQ(isolated(), 1u) << "run together first, then once more write by write";
  // A statement first prepared in a rolled-back savepoint stays usable on the connection.
  std::shared_ptr<result_slot<int>> again;
  inside_actor([&](caf::event_based_actor* self) {
    again = write_async<int>(self, [](pqxx::transaction_base& tx) -> caf::expected<int> {
      prepare_once(tx.conn(), "kv_put_again", "insert into kv (k) values ($1)");
      tx.exec_prepared("kv_put_again", 14);
      return 14;
    });
  });
  ASSERT_TRUE(run_until([&] { return again->has(); }, 10s));
  ASSERT_TRUE(*again->value) << describe(again->value->error());
  EXPECT_EQ(keys(), (std::vector<int>{1, 10, 13, 14}));
}

TEST_F(database_test, a_lone_failing_write_keeps_nothing_and_runs_once) {
  start(kv_config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  auto runs = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<result_slot<int>> refused;
  inside_actor([&](caf::event_based_actor* self) {
    refused = write_async<int>(self, [runs](pqxx::transaction_base& tx) -> caf::expected<int> {
      ++*runs;
      (void)put(21)(tx);
      return make_error(errc::version_conflict, "changed meanwhile");
    });
  });
  ASSERT_TRUE(run_until([&] { return refused->has(); }, 10s));
  ASSERT_FALSE(*refused->value);
  EXPECT_TRUE(is(refused->value->error(), errc::version_conflict));
  EXPECT_EQ(runs->load(), 1);
  EXPECT_EQ(isolated(), 0u);
  EXPECT_TRUE(keys().empty()) << "its first statement was rolled back";
}

TEST_F(database_test, a_lone_write_that_swallows_a_statement_error_is_not_acknowledged) {
  // PostgreSQL answers COMMIT of an aborted transaction with a rollback, which libpqxx 6 does
  // not report: the write must not be answered as stored.
  start(kv_config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  ASSERT_TRUE(committed_row(1));
  std::shared_ptr<result_slot<int>> swallowed;
  inside_actor(
      [&](caf::event_based_actor* self) { swallowed = write_async<int>(self, swallowing(22)); });
  ASSERT_TRUE(run_until([&] { return swallowed->has(); }, 10s));
  ASSERT_FALSE(*swallowed->value) << "acknowledged, yet rolled back";
  EXPECT_TRUE(is(swallowed->value->error(), errc::store_failure))
      << describe(swallowed->value->error());
  EXPECT_EQ(keys(), (std::vector<int>{1}));
}

TEST_F(database_test, a_write_is_answered_only_after_its_commit) {
  ASSERT_TRUE(start_one_worker()) << db_->status();
  auto seen = std::make_shared<result_slot<int64_t>>();
  std::shared_ptr<result_slot<bool>> slow;
  inside_actor([&](caf::event_based_actor* self) {
    hold_worker(self, 0.2);
    db_->write<int>(self, put(5), [seen, url = pg_->url()](caf::expected<int> x) {
      if (!x)
        return seen->set(x.error());
      // Another session sees the row the moment its writer hears of success.
      pqxx::connection conn{url};
      pqxx::read_transaction tx{conn};
      seen->set(tx.exec1("select count(*) from kv where k = 5")[0].as<int64_t>());
    });
    // Runs after the insert in the same transaction, delaying its COMMIT.
    slow = write_async<bool>(self, [](pqxx::transaction_base& tx) -> caf::expected<bool> {
      tx.exec("select pg_sleep(0.3)");
      return true;
    });
  });
  ASSERT_TRUE(run_until([&] { return seen->has() && slow->has(); }, 10s));
  ASSERT_TRUE(*seen->value) << describe(seen->value->error());
  EXPECT_EQ(**seen->value, 1);
  ASSERT_TRUE(*slow->value) << describe(slow->value->error());
  EXPECT_EQ(commits(), 1u);
}

TEST_F(database_test, a_lost_connection_fails_every_write_of_its_batch) {
  ASSERT_TRUE(start_one_worker()) << db_->status();
  std::shared_ptr<result_slot<int>> before, killer, after;
  inside_actor([&](caf::event_based_actor* self) {
    hold_worker(self, 0.3);
    before = write_async<int>(self, put(20));
    killer = write_async<int>(self, [](pqxx::transaction_base& tx) -> caf::expected<int> {
      tx.exec("select pg_terminate_backend(pg_backend_pid())");
      return 0;
    });
    after = write_async<int>(self, put(21));
  });
  ASSERT_TRUE(run_until([&] { return before->has() && killer->has() && after->has(); }, 10s));
  for (auto* slot : {before.get(), killer.get(), after.get()}) {
    ASSERT_FALSE(*slot->value);
    EXPECT_TRUE(is(slot->value->error(), errc::store_unavailable))
        << describe(slot->value->error());
  }
  EXPECT_TRUE(keys().empty());
  EXPECT_EQ(commits(), 0u);
  // The worker reconnects and writes go through again.
  auto deadline = std::chrono::steady_clock::now() + 15s;
  caf::expected<int> back = make_error(errc::store_unavailable);
  while (!back && std::chrono::steady_clock::now() < deadline) {
    std::shared_ptr<result_slot<int>> slot;
    inside_actor([&](caf::event_based_actor* self) { slot = write_async<int>(self, put(22)); });
    ASSERT_TRUE(run_until([&] { return slot->has(); }, 10s));
    back = std::move(*slot->value);
    if (!back) {
      EXPECT_TRUE(is(back.error(), errc::store_unavailable)) << describe(back.error());
      run_for(20ms);
    }
  }
  ASSERT_TRUE(back) << describe(back.error()) << " / " << db_->status();
  EXPECT_EQ(keys(), (std::vector<int>{22}));
}

} // namespace
} // namespace troupe::store::test
