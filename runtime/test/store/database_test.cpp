#include "troupe/store/database.hpp"

#include <algorithm>
#include <memory>
#include <thread>

#include <pqxx/pqxx>

#include "core/threaded_fixture.hpp"
#include "support/postgres.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/store/migrations.hpp"
#include "troupe/store/prepared.hpp"

namespace troupe::store::test {
namespace {

using namespace std::chrono_literals;
using troupe::test::result_slot;

class database_test : public troupe::test::threaded_test {
protected:
  void SetUp() override {
    if (!testing::throwaway_postgres::available())
      GTEST_SKIP() << "PostgreSQL server not installed (apt-get install postgresql)";
    pg_ = std::make_unique<testing::throwaway_postgres>();
  }

  ~database_test() override {
    if (db_)
      db_->stop();
    sched_.run_locked();
  }

  database_config config() {
    database_config cfg;
    cfg.url = pg_->url();
    cfg.pool_size = 2;
    cfg.connect_timeout = 1s;
    cfg.reconnect_initial = 20ms;
    cfg.reconnect_max = 200ms;
    return cfg;
  }

  std::shared_ptr<database> start(database_config cfg) {
    db_ = database::start(sys_, std::move(cfg), metrics_);
    return db_;
  }

  bool wait_ready(std::chrono::milliseconds limit = 10s) {
    return run_until([&] { return db_->ready(); }, limit);
  }

  /// Submits `job` from a fresh actor and waits for its result.
  template <class T>
  caf::expected<T> run_job(std::function<caf::expected<T>(pqxx::connection_base&)> job,
                           caf::timespan timeout = 10s) {
    auto slot = std::make_shared<result_slot<T>>();
    inside_actor([=, db = db_](caf::event_based_actor* self) {
      db->run<T>(
          self, job, [slot](caf::expected<T> x) { slot->set(std::move(x)); }, timeout);
    });
    if (!run_until([&] { return slot->has(); }, 15s))
      return make_error(errc::store_timeout, "test gave up waiting");
    return std::move(*slot->value);
  }

  /// Submits `job` from `self` without waiting; the slot fills when `done` runs.
  template <class T>
  std::shared_ptr<result_slot<T>>
  run_async(caf::event_based_actor* self,
            std::function<caf::expected<T>(pqxx::connection_base&)> job) {
    auto slot = std::make_shared<result_slot<T>>();
    db_->run<T>(self, std::move(job), [slot](caf::expected<T> x) { slot->set(std::move(x)); });
    return slot;
  }

  /// Submits a shared-transaction `step` from `self` without waiting.
  template <class T>
  std::shared_ptr<result_slot<T>>
  write_async(caf::event_based_actor* self,
              std::function<caf::expected<T>(pqxx::transaction_base&)> step) {
    auto slot = std::make_shared<result_slot<T>>();
    db_->write<T>(self, std::move(step), [slot](caf::expected<T> x) { slot->set(std::move(x)); });
    return slot;
  }

  /// Commits key `k` into table kv outside any write batch, so a later insert of `k` fails.
  bool committed_row(int k) {
    return static_cast<bool>(run_job<bool>([k](pqxx::connection_base& conn) -> caf::expected<bool> {
      pqxx::work tx{conn};
      tx.exec("insert into kv values (" + std::to_string(k) + ")");
      tx.commit();
      return true;
    }));
  }

  /// A step inserting key `k` into table kv.
  static std::function<caf::expected<int>(pqxx::transaction_base&)> put(int k) {
    return [k](pqxx::transaction_base& tx) -> caf::expected<int> {
      prepare_once(tx.conn(), "kv_put", "insert into kv (k) values ($1)");
      tx.exec_prepared("kv_put", k);
      return k;
    };
  }

  /// Keeps the only worker busy for `seconds`, so that writes submitted next share a batch.
  std::shared_ptr<result_slot<bool>> hold_worker(caf::event_based_actor* self, double seconds) {
    return run_async<bool>(self, [seconds](pqxx::connection_base& conn) -> caf::expected<bool> {
      pqxx::nontransaction tx{conn};
      tx.exec("select pg_sleep(" + std::to_string(seconds) + ")");
      return true;
    });
  }

  /// Keys present in kv, read on a connection of its own.
  std::vector<int> keys() {
    pqxx::connection conn{pg_->url()};
    pqxx::read_transaction tx{conn};
    std::vector<int> out;
    for (const auto& row : tx.exec("select k from kv order by k"))
      out.push_back(row[0].as<int>());
    return out;
  }

  uint64_t commits() { return metrics_->counters("troupe_db_commits_total", "").with({}).value(); }
  /// A write that stores `k`, then catches the duplicate-key error of writing 1 and goes on
  /// as if it had succeeded (its transaction is aborted all the same).
  static std::function<caf::expected<int>(pqxx::transaction_base&)> swallowing(int k) {
    return [k](pqxx::transaction_base& tx) -> caf::expected<int> {
      (void)put(k)(tx);
      try {
        (void)put(1)(tx);
      } catch (const pqxx::unique_violation&) {
      }
      return k;
    };
  }

  uint64_t isolated() {
    return metrics_->counters("troupe_db_batches_isolated_total", "").with({}).value();
  }

  database_config kv_config() {
    auto cfg = config();
    cfg.migrations = {{1, "kv", "create table kv (k int primary key)"}};
    return cfg;
  }

  caf::expected<int64_t> exec_count(std::string sql) {
    return run_job<int64_t>([sql](pqxx::connection_base& conn) -> caf::expected<int64_t> {
      pqxx::work tx{conn};
      auto rows = tx.exec(sql);
      tx.commit();
      return rows[0][0].as<int64_t>();
    });
  }

  std::unique_ptr<testing::throwaway_postgres> pg_;
  std::shared_ptr<observability::registry> metrics_ = std::make_shared<observability::registry>();
  std::shared_ptr<database> db_;
};

TEST_F(database_test, job_runs_and_returns_rows) {
  start(config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  EXPECT_NE(db_->status().find("connected to 127.0.0.1:" + std::to_string(pg_->port())),
            std::string::npos)
      << db_->status();
  auto sum = run_job<int64_t>([](pqxx::connection_base& conn) -> caf::expected<int64_t> {
    prepare_once(conn, "series", "select generate_series(1, $1::int) as n");
    prepare_once(conn, "series", "select generate_series(1, $1::int) as n");
    pqxx::work tx{conn};
    int64_t total = 0;
    for (const auto& row : tx.exec_prepared("series", 4))
      total += row["n"].as<int64_t>();
    tx.commit();
    return total;
  });
  ASSERT_TRUE(sum) << describe(sum.error());
  EXPECT_EQ(*sum, 10);
  auto settings =
      run_job<std::string>([](pqxx::connection_base& conn) -> caf::expected<std::string> {
        pqxx::work tx{conn};
        auto row = tx.exec1("select current_setting('statement_timeout') || ' ' || "
                            "current_setting('synchronous_commit')");
        return row[0].as<std::string>();
      });
  ASSERT_TRUE(settings) << describe(settings.error());
  EXPECT_EQ(*settings, "5s on");
  EXPECT_EQ(metrics_->gauges("troupe_store_up", "").with({}).value(), 1);
}

TEST_F(database_test, array_literals_bind_any_strings_and_numbers) {
  start(config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  std::vector<std::string> texts{"plain",       "",         "NULL", "a,b", "{x}", "say \"hi\"",
                                 "back\\slash", " padded ", "ünï"};
  auto back = run_job<std::vector<std::string>>(
      [texts](pqxx::connection_base& conn) -> caf::expected<std::vector<std::string>> {
        prepare_once(conn, "unnest_text", "select unnest($1::text[])");
        pqxx::nontransaction tx{conn};
        std::vector<std::string> out;
        for (const auto& row : tx.exec_prepared("unnest_text", array_literal(texts)))
          out.push_back(row[0].is_null() ? "<null>" : row[0].as<std::string>());
        return out;
      });
  ASSERT_TRUE(back) << describe(back.error());
  EXPECT_EQ(*back, texts);
  auto sums = run_job<std::string>([](pqxx::connection_base& conn) -> caf::expected<std::string> {
    prepare_once(conn, "sum_bigint",
                 "select coalesce(sum(x), 0)::text || ' ' || count(*) from unnest($1::bigint[]) x");
    pqxx::nontransaction tx{conn};
    auto some = tx.exec_prepared1(
        "sum_bigint", array_literal(std::vector<int64_t>{-5, 0, 4'000'000'000'000'000'000, 7}));
    auto none = tx.exec_prepared1("sum_bigint", array_literal(std::vector<int64_t>{}));
    return some[0].as<std::string>() + " / " + none[0].as<std::string>();
  });
  ASSERT_TRUE(sums) << describe(sums.error());
  EXPECT_EQ(*sums, "4000000000000000002 4 / 0 0");
}

TEST_F(database_test, migrations_apply_once) {
  std::vector<migration> ms{
      {2, "notes", "create table notes (id int primary key, body text)"},
      {1, "people", "create table people (id int primary key)"},
  };
  pqxx::connection conn{pg_->url()};
  ASSERT_FALSE(migrate(conn, ms));
  // Re-running either CREATE would fail, so success here means nothing ran again.
  ASSERT_FALSE(migrate(conn, ms));
  pqxx::work tx{conn};
  auto rows = tx.exec("select version, name from troupe_schema_migrations order by applied_at, "
                      "version");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as<int>(), 1); // in version order, whatever the list order
  EXPECT_EQ(rows[1][1].as<std::string>(), "notes");
  tx.commit();

  ms.push_back({3, "broken", "create table nonsense ("});
  auto err = migrate(conn, ms);
  EXPECT_TRUE(is(err, errc::store_failure)) << describe(err);
  EXPECT_NE(describe(err).find("migration 3 (broken)"), std::string::npos) << describe(err);
}

TEST_F(database_test, concurrent_migrations_apply_each_version_once) {
  std::vector<migration> ms{
      {1, "log", "create table applied_log (version int); insert into applied_log values (1)"},
      {2, "slow", "select pg_sleep(0.3); insert into applied_log values (2)"},
      {3, "more", "insert into applied_log values (3)"},
  };
  caf::error results[2];
  std::thread nodes[2];
  for (int i = 0; i < 2; ++i)
    nodes[i] = std::thread{[&, i] {
      pqxx::connection conn{pg_->url()};
      results[i] = migrate(conn, ms);
    }};
  for (auto& t : nodes)
    t.join();
  EXPECT_FALSE(results[0]) << describe(results[0]);
  EXPECT_FALSE(results[1]) << describe(results[1]);
  pqxx::connection conn{pg_->url()};
  pqxx::work tx{conn};
  auto log = tx.exec("select version from applied_log order by version");
  ASSERT_EQ(log.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(log[i][0].as<int>(), i + 1);
  EXPECT_EQ(tx.exec1("select count(*) from troupe_schema_migrations")[0].as<int>(), 3);
}

TEST_F(database_test, database_applies_migrations_before_ready) {
  auto cfg = config();
  cfg.migrations = {{1, "kv", "create table kv (k text primary key, v text)"}};
  start(cfg);
  ASSERT_TRUE(wait_ready()) << db_->status();
  auto count = exec_count("select count(*) from kv");
  ASSERT_TRUE(count) << describe(count.error());
  EXPECT_EQ(*count, 0);
}

TEST_F(database_test, unique_violation_is_already_exists) {
  auto cfg = config();
  cfg.migrations = {{1, "users", "create table users (email text primary key)"}};
  start(cfg);
  ASSERT_TRUE(wait_ready()) << db_->status();
  auto insert = [this] {
    return run_job<bool>([](pqxx::connection_base& conn) -> caf::expected<bool> {
      prepare_once(conn, "insert_user", "insert into users (email) values ($1)");
      pqxx::work tx{conn};
      tx.exec_prepared("insert_user", "a@example.org");
      tx.commit();
      return true;
    });
  };
  auto first = insert();
  ASSERT_TRUE(first) << describe(first.error());
  auto second = insert();
  ASSERT_FALSE(second);
  EXPECT_TRUE(is(second.error(), errc::already_exists)) << describe(second.error());
}

TEST_F(database_test, statement_timeout_is_store_timeout) {
  auto cfg = config();
  cfg.statement_timeout = 200ms;
  cfg.pool_size = 1;
  start(cfg);
  ASSERT_TRUE(wait_ready()) << db_->status();
  auto before = std::chrono::steady_clock::now();
  auto slow = exec_count("select count(*) from pg_sleep(3)");
  auto took = std::chrono::steady_clock::now() - before;
  ASSERT_FALSE(slow);
  EXPECT_TRUE(is(slow.error(), errc::store_timeout)) << describe(slow.error());
  EXPECT_LT(took, 2s);
  // The connection survives a cancelled statement.
  auto next = exec_count("select 1");
  ASSERT_TRUE(next) << describe(next.error());
}

TEST_F(database_test, unreachable_at_start_then_ready_once_the_server_is_up) {
  pg_->stop();
  auto cfg = config();
  // Trust authentication ignores the password; it is here to prove it never leaks.
  cfg.url =
      "postgresql://postgres:s3cret@127.0.0.1:" + std::to_string(pg_->port()) + "/troupe_test";
  start(cfg);
  run_for(300ms);
  EXPECT_FALSE(db_->ready());
  auto status = db_->status();
  EXPECT_NE(status.find("connecting to 127.0.0.1:" + std::to_string(pg_->port()) + " (attempt"),
            std::string::npos)
      << status;
  EXPECT_EQ(status.find("s3cret"), std::string::npos) << status;
  auto before = std::chrono::steady_clock::now();
  auto early = exec_count("select 1");
  EXPECT_LT(std::chrono::steady_clock::now() - before, 500ms);
  ASSERT_FALSE(early);
  EXPECT_TRUE(is(early.error(), errc::store_unavailable)) << describe(early.error());

  pg_->start();
  ASSERT_TRUE(wait_ready()) << db_->status();
  auto later = exec_count("select 41 + 1");
  ASSERT_TRUE(later) << describe(later.error());
  EXPECT_EQ(*later, 42);
  EXPECT_GT(metrics_->counters("troupe_store_connect_attempts_total", "").with({}).value(), 2u);
}

TEST_F(database_test, reconnects_after_the_server_restarts) {
  start(config());
  ASSERT_TRUE(wait_ready()) << db_->status();
  ASSERT_TRUE(exec_count("select 1"));
  pg_->stop();
  auto lost = exec_count("select 1");
  ASSERT_FALSE(lost);
  EXPECT_TRUE(is(lost.error(), errc::store_unavailable)) << describe(lost.error());
  // Each stale connection fails one job, then submissions fail fast until the server is back.
  for (int i = 0; i < 3; ++i) {
    auto again = exec_count("select 1");
    ASSERT_FALSE(again);
    EXPECT_TRUE(is(again.error(), errc::store_unavailable)) << describe(again.error());
  }
  EXPECT_TRUE(run_until([&] { return !db_->ready(); }, 2s));

  pg_->start();
  auto deadline = std::chrono::steady_clock::now() + 15s;
  caf::expected<int64_t> back = make_error(errc::store_unavailable);
  while (!back && std::chrono::steady_clock::now() < deadline) {
    back = exec_count("select 7");
    if (!back) {
      EXPECT_TRUE(is(back.error(), errc::store_unavailable)) << describe(back.error());
      run_for(20ms);
    }
  }
  ASSERT_TRUE(back) << describe(back.error()) << " / " << db_->status();
  EXPECT_EQ(*back, 7);
  EXPECT_TRUE(wait_ready()) << db_->status();
}

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
  auto cfg = kv_config();
  cfg.pool_size = 1;
  start(cfg);
  ASSERT_TRUE(wait_ready()) << db_->status();
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
  auto cfg = kv_config();
  cfg.pool_size = 1;
  start(cfg);
  ASSERT_TRUE(wait_ready()) << db_->status();
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
  auto cfg = kv_config();
  cfg.pool_size = 1;
  start(cfg);
  ASSERT_TRUE(wait_ready()) << db_->status();
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
