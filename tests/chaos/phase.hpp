#pragma once

#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "faults.hpp"
#include "load.hpp"
#include "options.hpp"
#include "slo_guard.hpp"

namespace troupe::chaos_harness {

/// The fault phase and the settling after it: starts each planned fault at its time (one
/// that takes something out waits until the previous one ended and every node is ready
/// again), prints progress, restarts a node that died outside a fault, and runs the SLO
/// guard; then lets the load run on and measures when the cluster converged.
class fault_phase {
public:
  fault_phase(std::vector<planned_fault> plan, fault_context& ctx, load_generator& load,
              const campaign_options& o, std::atomic<bool>& stop);
  ~fault_phase();
  fault_phase(const fault_phase&) = delete;
  fault_phase& operator=(const fault_phase&) = delete;

  /// Runs every planned fault (until the campaign stops); returns when all were reverted.
  void run_faults();

  /// Keeps the load running for the settling time and polls until every node sees every
  /// node up; returns milliseconds from the end of the last fault, -1 if never.
  std::int64_t settle();

  /// The windows as applied, in start order.
  std::vector<fault_window> windows() const;

  /// Why the SLO guard stopped the campaign ("" if it did not).
  const std::string& aborted() const { return aborted_; }

  /// Nodes that died outside any fault and were started again: name and when.
  const nlohmann::json& unplanned_exits() const { return unplanned_; }

private:
  struct active {
    planned_fault plan;
    std::thread thread;
    std::atomic<bool> done{false};
    fault_window window;
  };

  void launch(const planned_fault& f);
  void tick();
  bool everyone_ready() const;
  bool expecting_errors() const;
  void watch_nodes();
  void progress();

  std::vector<planned_fault> plan_;
  fault_context& ctx_;
  load_generator& load_;
  const campaign_options& o_;
  std::atomic<bool>& stop_;
  std::list<std::unique_ptr<active>> active_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_progress_;
  std::chrono::steady_clock::time_point last_watch_;
  std::chrono::steady_clock::time_point last_fault_end_;
  slo_guard guard_;
  std::string aborted_;
  nlohmann::json unplanned_ = nlohmann::json::array();
};

} // namespace troupe::chaos_harness
