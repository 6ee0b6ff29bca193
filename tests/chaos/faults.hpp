#pragma once

#include <atomic>
#include <chrono>

#include "database.hpp"
#include "nodes.hpp"
#include "proxy.hpp"
#include "record.hpp"
#include "sandbox.hpp"
#include "schedule.hpp"

namespace troupe::chaos_harness {

/// What applying a fault needs: the campaign's pieces and its clock.
struct fault_context {
  const sandbox& box;
  node_set& nodes;
  database& db;
  latency_proxy& proxy;
  std::chrono::steady_clock::time_point origin;
  /// Set when the campaign is stopping: holds end early (every fault is still reverted).
  const std::atomic<bool>& stopping;
};

/// Microseconds since `origin`.
micros since(std::chrono::steady_clock::time_point origin);

/// Applies `f`, holds it for its duration, reverts it (restarting what it stopped) and returns
/// the window as it happened; blocks all that time. `detail` says what was done, and "error"
/// in it what could not be.
fault_window apply_fault(const planned_fault& f, fault_context& ctx);

} // namespace troupe::chaos_harness
