#pragma once

// A throwaway PostgreSQL with the outbox schema, a database pool on it and helpers that read
// and write the outbox directly, so tests check what the relay did, not what it claims.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/send.hpp>
#include <pqxx/pqxx>

#include "core/threaded_fixture.hpp"
#include "support/postgres.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/events/outbox.hpp"
#include "troupe/events/relay.hpp"
#include "troupe/events/schema.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/store/database.hpp"

namespace troupe::events::test {

using namespace std::chrono_literals;

class events_test : public troupe::test::threaded_test {
protected:
  void SetUp() override {
    if (!testing::throwaway_postgres::available())
      GTEST_SKIP() << "PostgreSQL server not installed (apt-get install postgresql)";
    pg_ = std::make_unique<testing::throwaway_postgres>();
    store::database_config cfg;
    cfg.url = pg_->url();
    cfg.pool_size = 2;
    cfg.connect_timeout = 1s;
    cfg.reconnect_initial = 20ms;
    cfg.reconnect_max = 200ms;
    cfg.migrations = outbox_migrations();
    db_ = store::database::start(sys_, std::move(cfg), metrics_);
    ASSERT_TRUE(run_real([&] { return db_->ready(); }, 10s)) << db_->status();
  }

  ~events_test() override {
    if (relay_)
      caf::anon_send_exit(relay_, caf::exit_reason::kill);
    sched_.run_locked();
    if (db_)
      db_->stop();
    sched_.run_locked();
  }

  /// Runs actors until `done()` holds, moving simulated time along with real time so the
  /// relay's timers fire while database jobs still finish well inside their timeouts.
  bool run_real(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    auto last = std::chrono::steady_clock::now();
    return run_until(
        [&] {
          auto now = std::chrono::steady_clock::now();
          sched_.advance_locked(now - last);
          last = now;
          return done();
        },
        limit);
  }

  /// Like `run_real` for a fixed span, for checks that something does NOT happen.
  void run_real_for(std::chrono::milliseconds span) {
    run_real([] { return false; }, span);
  }

  /// Spawns the relay on the fixture's database and metrics with test-sized timers.
  void start_relay(relay_config cfg) {
    cfg.db = db_;
    cfg.metrics = metrics_;
    auto relay = spawn_relay(sys_, std::move(cfg));
    ASSERT_TRUE(relay) << describe(relay.error());
    relay_ = *relay;
  }

  /// Returns a relay config polling every 20 ms with short retries.
  static relay_config fast_config(std::vector<subscription> subs) {
    relay_config cfg;
    cfg.subscriptions = std::move(subs);
    cfg.poll_interval = 20ms;
    cfg.retry_initial = 50ms;
    cfg.retry_max = 1s;
    return cfg;
  }

  /// Returns an event with a fresh id.
  static event make_event(std::string stream, std::string key, std::string type, int n = 0) {
    return {random_uuid(), std::move(stream), std::move(key), std::move(type),
            "{\"n\": " + std::to_string(n) + "}"};
  }

  /// Appends `events` in one transaction of a direct connection; commits or rolls back.
  void write(const std::vector<event>& events, bool commit = true) {
    pqxx::connection conn{pg_->url()};
    pqxx::work tx{conn};
    for (auto& e : events)
      append(tx, e);
    if (commit)
      tx.commit();
    else
      tx.abort();
  }

  /// Runs `sql` on a direct connection and returns the first column of its single row.
  int64_t scalar(const std::string& sql) {
    pqxx::connection conn{pg_->url()};
    pqxx::work tx{conn};
    auto value = tx.exec1(sql)[0].as<int64_t>();
    tx.commit();
    return value;
  }

  /// Runs a statement on a direct connection.
  void exec(const std::string& sql) {
    pqxx::connection conn{pg_->url()};
    pqxx::work tx{conn};
    tx.exec(sql);
    tx.commit();
  }

  /// Returns the number of outbox rows marked delivered.
  int64_t delivered_rows() {
    return scalar("select count(*) from troupe_outbox where delivered_at is not null");
  }

  std::unique_ptr<testing::throwaway_postgres> pg_;
  std::shared_ptr<observability::registry> metrics_ = std::make_shared<observability::registry>();
  std::shared_ptr<store::database> db_;
  caf::actor relay_;
};

} // namespace troupe::events::test
