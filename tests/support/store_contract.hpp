#pragma once

// The fixture of a repository contract: one set of cases run against the memory store and
// against PostgreSQL, with real threads and bounded waits.

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <gtest/gtest.h>

#include "support/postgres.hpp"
#include "troupe/core/error.hpp"
#include "troupe/store/database.hpp"

namespace troupe::testing {

/// Parameterised by the store, "memory" or "postgres": `start_store` gives the latter a
/// throwaway server and a database with the given migrations; `await` runs a repository call
/// inside an actor and waits for its answer.
class store_contract : public ::testing::TestWithParam<std::string> {
protected:
  /// Starts the actor system and, for "postgres", the database; returns whether the store is
  /// PostgreSQL (then `db_` is ready) rather than memory. Assert nothing failed after it.
  bool start_store(std::vector<store::migration> migrations) {
    using namespace std::chrono_literals;
    add_error_category(cfg_);
    sys_ = std::make_unique<caf::actor_system>(cfg_);
    if (GetParam() == "memory")
      return false;
    EXPECT_TRUE(throwaway_postgres::available()) << "PostgreSQL is not installed";
    pg_ = std::make_unique<throwaway_postgres>();
    store::database_config cfg;
    cfg.url = pg_->url();
    cfg.pool_size = 2;
    cfg.migrations = std::move(migrations);
    db_ = store::database::start(*sys_, cfg);
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!db_->ready() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(db_->ready()) << db_->status();
    return true;
  }

  /// Stops the database before the actor system, and the server last.
  void stop_store() {
    if (db_)
      db_->stop();
    db_.reset();
    sys_.reset();
    pg_.reset();
  }

  /// Runs `call(self, done)` inside an actor and waits for its answer (10 s at most).
  template <class T, class Call>
  caf::expected<T> await(Call call) {
    using namespace std::chrono_literals;
    auto result = std::make_shared<std::promise<caf::expected<T>>>();
    auto future = result->get_future();
    sys_->spawn([call, result](caf::event_based_actor* self) {
      call(self, [result](caf::expected<T> x) { result->set_value(std::move(x)); });
    });
    if (future.wait_for(10s) != std::future_status::ready)
      return make_error(errc::store_timeout, "no answer within 10 s");
    return future.get();
  }

  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<throwaway_postgres> pg_;
  std::shared_ptr<store::database> db_;
};

} // namespace troupe::testing
