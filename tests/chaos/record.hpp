#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

/// What a chaos campaign records while it runs; the invariants and the report read only this
/// (and the database), so each can be checked on its own against a hand-made record.
namespace troupe::chaos_harness {

/// Microseconds since the campaign started (steady clock).
using micros = std::int64_t;

/// One client request as the load generator saw it, retries included as separate entries.
struct operation {
  /// What was asked: "register", "login", "get_profile", "update_profile", "create_order",
  /// "get_order", "cancel_order", "list_notifications", "put_stock", "get_stock".
  std::string kind;
  /// The node whose HTTP port took the request.
  std::string node;
  /// The entity it concerns: user id, order id (or the Idempotency-Key before one is known),
  /// SKU.
  std::string key;
  /// When it was sent and when the answer (or the failure) came.
  micros sent = 0;
  micros answered = 0;
  /// HTTP status; 0 when no answer came (connection refused or reset, timeout).
  int status = 0;
  /// 1 for the first try; a client retry of the same logical operation counts up.
  int attempt = 1;
  /// What the invariants need, by kind: the profile value written or read ("seq"), the
  /// order's lines and Idempotency-Key, the order's status as answered, the error's problem
  /// type. Free-form JSON so the load generator can add what a new check needs.
  nlohmann::json detail = nlohmann::json::object();
};

/// One fault as the schedule applied it.
struct fault_window {
  /// "kill", "stop", "partition", "partition_one_way", "loss", "bandwidth", "latency",
  /// "db_restart", "rolling_restart", and "runtime:<type>" for faults set through
  /// /admin/chaos (e.g. "runtime:delay", "runtime:kill_entity").
  std::string type;
  /// The node (or "db", or "all") it hit.
  std::string target;
  /// When it began and when it was reverted.
  micros start = 0;
  micros end = 0;
  /// Parameters as applied (probability, delay, direction, ...).
  nlohmann::json detail = nlohmann::json::object();
  /// When every request through the hit node succeeded again after `end` (or after `start`
  /// for a kill); -1 if it never did within the campaign.
  micros recovered = -1;
};

/// One named invariant's outcome.
struct invariant_result {
  /// Stable name, e.g. "acknowledged_orders_final".
  std::string name;
  bool passed = false;
  /// One human sentence: counts and the first offenders.
  std::string detail;
};

/// A whole campaign.
struct run_record {
  std::uint64_t seed = 0;
  /// Planned and actual duration of the fault phase, and the settling phase after it.
  micros planned = 0;
  micros fault_phase_end = 0;
  micros finished = 0;
  /// Node names in start order.
  std::vector<std::string> nodes;
  std::vector<operation> operations;
  std::vector<fault_window> faults;
  /// Set when the SLO guard stopped the campaign early: why.
  std::string aborted;
  /// Milliseconds from the end of the last fault until every node saw every node up; -1 if
  /// the cluster never converged.
  std::int64_t converged_after_ms = -1;
  /// Filled by the invariant checks.
  std::vector<invariant_result> invariants;
  /// Figures the checks computed (stale_reads, lost_operations, grace_ms, ...), copied into
  /// result.json as they are.
  nlohmann::json figures = nlohmann::json::object();
};

} // namespace troupe::chaos_harness
