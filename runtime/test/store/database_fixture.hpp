#pragma once

// A database on a throwaway PostgreSQL server per test, with callers as actors under the
// locked test coordinator; shared by the pool and the write-queue suites.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "core/threaded_fixture.hpp"
#include "support/postgres.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/store/database.hpp"
#include "troupe/store/migrations.hpp"
#include "troupe/store/prepared.hpp"

namespace troupe::store::test {

using namespace std::chrono_literals;
using troupe::test::result_slot;

/// Starts a database on a fresh server per test and submits work to it from actors.
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

  /// Starts a kv database with one worker, so that writes queued behind `hold_worker` share
  /// a batch; returns whether it became ready.
  bool start_one_worker() {
    auto cfg = kv_config();
    cfg.pool_size = 1;
    start(cfg);
    return wait_ready();
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

} // namespace troupe::store::test
