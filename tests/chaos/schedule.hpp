#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::chaos_harness {

/// Every fault type a campaign can schedule, named as in `fault_window::type`.
const std::vector<std::string>& all_fault_types();

/// Whether `type` takes its target out of the cluster (or the database away from it) while it
/// lasts; such faults never overlap, so at most one thing is out at a time.
bool takes_out(const std::string& type);

/// What the schedule is drawn from.
struct schedule_config {
  std::uint64_t seed = 1;
  /// Length of the fault phase; no fault starts after it.
  std::int64_t duration_ms = 60000;
  /// Mean faults started per minute.
  double rate_per_minute = 24;
  /// Relative weight of each type; a type left out (or weighted 0) never occurs.
  std::map<std::string, double> mix;
  /// How long a fault lasts, drawn uniformly.
  std::int64_t min_fault_ms = 1000;
  std::int64_t max_fault_ms = 3000;
  /// Nodes the faults may hit.
  std::vector<std::string> nodes;
};

/// The default mix: every type, the in-runtime ones lighter (there are many of them).
std::map<std::string, double> default_mix();

/// Parses "kill=3,latency=1,runtime:delay=0.5"; an unknown type or a bad weight is an error
/// (returned as a message).
std::optional<std::string> parse_mix(const std::string& text, std::map<std::string, double>& mix);

/// One planned fault.
struct planned_fault {
  /// Milliseconds after the fault phase began.
  std::int64_t at_ms = 0;
  /// A type of `all_fault_types()`.
  std::string type;
  /// A node name, "db" or "all".
  std::string target;
  /// How long it lasts (for a kill: how long the node stays down).
  std::int64_t duration_ms = 0;
  /// Its parameters (probability, delay, rate, direction, ...), drawn from the seed.
  nlohmann::json params = nlohmann::json::object();
};

/// Milliseconds an out-of-cluster fault holds the "out" slot beyond its duration, so the hit
/// node can rejoin before the next one starts (a rolling restart holds it per node).
std::int64_t out_allowance_ms(const planned_fault& f, std::size_t nodes);

/// The faults of a campaign in start order; the same config always gives the same list.
/// Every type with a weight occurs at least once when the phase has room for it; faults that
/// take something out never overlap (including their allowance), and a node fault never
/// starts on a node that is out.
std::vector<planned_fault> plan_schedule(const schedule_config& cfg);

/// One line per fault, for printing at start.
std::string describe(const std::vector<planned_fault>& schedule);

} // namespace troupe::chaos_harness
