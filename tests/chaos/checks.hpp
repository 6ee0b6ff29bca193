#pragma once

// The invariants as pure functions of the run record and a snapshot of the database, so each
// can be tested against hand-made data; `check_invariants` loads the snapshot and runs them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "record.hpp"

namespace troupe::chaos_harness {

/// What the checks read from the database once the sagas and the outbox have settled.
struct db_snapshot {
  /// An order row: its status, the request that made it and its lines per SKU.
  struct order_row {
    std::string id;
    std::string user_id;
    std::string status;
    std::string idempotency_key;
    std::map<std::string, std::int64_t> lines;
  };
  /// A SKU's stock row and the sums of its reservation rows by state.
  struct stock_row {
    std::int64_t on_hand = 0;
    std::int64_t reserved = 0;
    std::int64_t held = 0;
    std::int64_t taken = 0;
  };
  /// A domain event the notification domain consumes.
  struct event_row {
    std::string event_id;
    std::string type;
    std::string user_id;
    std::string order_id;
    /// Microseconds since the epoch, by the database's clock.
    std::int64_t created = 0;
    bool delivered = false;
  };
  /// A user's channel choices and when they last changed (database clock).
  struct prefs_row {
    bool email = true;
    bool push = true;
    bool sms = true;
    std::int64_t updated = 0;
  };

  std::vector<order_row> orders;
  std::map<std::string, stock_row> stock;
  /// Display name per user id.
  std::map<std::string, std::string> users;
  std::vector<event_row> events;
  /// Notifications per (event id, channel).
  std::map<std::pair<std::string, std::string>, std::int64_t> notifications;
  std::map<std::string, prefs_row> prefs;
  /// Orders still short of a final status, and events not yet relayed, when the wait ended.
  std::int64_t unfinished_orders = 0;
  std::int64_t undelivered_events = 0;
};

/// Waits (bounded by `limit_ms`) for the sagas to finish and the outbox to drain, then reads
/// what the checks need; nullopt with the reason in `why` when the database cannot be read.
std::optional<db_snapshot> load_snapshot(const std::string& db_url, std::int64_t limit_ms,
                                         std::string& why);

/// Whether `status` ends a saga.
bool is_final_order_status(const std::string& status);

/// How long after a fault window ends errors still count as the fault's.
inline constexpr micros grace_allowance = 5'000'000;

invariant_result check_orders(const run_record& run, const db_snapshot& db,
                              nlohmann::json& figures);
invariant_result check_stock(const run_record& run, const db_snapshot& db, nlohmann::json& figures);
invariant_result check_notifications(const db_snapshot& db, nlohmann::json& figures);
invariant_result check_writes(const run_record& run, const db_snapshot& db,
                              nlohmann::json& figures);
invariant_result check_reads(const run_record& run, nlohmann::json& figures);
invariant_result check_errors(const run_record& run, nlohmann::json& figures);
invariant_result check_converged(const run_record& run);

/// The kill windows' error tails through the surviving nodes ({p50, max, count} in ms) into
/// `figures["error_window_after_kill_ms"]`.
void measure_kill_windows(const run_record& run, nlohmann::json& figures);

/// Operations answered 2xx, and the counts the record alone gives.
void count_operations(const run_record& run, nlohmann::json& figures);

} // namespace troupe::chaos_harness
