#pragma once

// What the workers of one database share: its configuration, status, write queue and
// metrics.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <caf/error.hpp>
#include <spdlog/spdlog.h>

#include "store/write_queue.hpp"
#include "troupe/core/blocking_pool.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/store/database.hpp"
#include "troupe/store/migrations.hpp"

namespace troupe::store::detail {

struct database_state {
  database_config cfg;
  std::string conninfo;
  std::string endpoint;

  std::atomic<size_t> connected{0};
  std::atomic<bool> migrated{false};
  std::mutex migrate_mtx;

  mutable std::mutex status_mtx;
  std::string problem; // why the pool is not up, for status()
  std::chrono::steady_clock::time_point last_warning{};
  bool warned = false;

  write_queue writes;
  // The pool that runs the lead jobs; a leader whose connection broke hands over through it.
  std::weak_ptr<blocking_pool> pool;

  observability::gauge* up_metric = nullptr;
  observability::counter* commits_metric = nullptr;
  observability::histogram* batch_metric = nullptr;
  observability::counter* isolated_metric = nullptr;
  observability::counter* attempts_metric = nullptr;
  observability::family<observability::histogram>* seconds_metric = nullptr;

  void publish_up() {
    if (up_metric)
      up_metric->set(connected.load() > 0 ? 1 : 0);
  }

  void gained_one() {
    ++connected;
    publish_up();
  }

  void lost_one() {
    --connected;
    publish_up();
  }

  // One warning every few seconds is enough to tell an operator; more only floods the log.
  void note_problem(std::string text) {
    auto now = std::chrono::steady_clock::now();
    bool log = false;
    {
      std::lock_guard<std::mutex> guard{status_mtx};
      problem = text;
      if (!warned || now - last_warning >= std::chrono::seconds{5}) {
        warned = true;
        last_warning = now;
        log = true;
      }
    }
    if (log)
      spdlog::warn("store: {}", text);
  }

  caf::error ensure_migrated(pqxx::connection_base& conn) {
    std::lock_guard<std::mutex> guard{migrate_mtx};
    if (migrated)
      return caf::none;
    if (auto err = migrate(conn, cfg.migrations))
      return err;
    migrated = true;
    return caf::none;
  }
};

} // namespace troupe::store::detail
