#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace troupe::chaos_harness {

/// How a campaign runs (troupe-chaos --help describes each).
struct campaign_options {
  double duration_s = 60;
  std::uint64_t seed = 1;
  std::filesystem::path out = "chaos-out";
  int nodes = 3;
  int clients = 16;
  double rate_per_minute = 24;
  std::map<std::string, double> mix;
  std::int64_t min_fault_ms = 1000;
  std::int64_t max_fault_ms = 3000;
  double settle_s = 15;
  double slo_error_rate = 0.5;
  double slo_window_s = 15;
  bool keep = false;
  /// Invariants still checked and reported as failed, but left out of the exit code: a bug
  /// the campaign has found and that is not fixed yet, so the rest keeps guarding.
  std::vector<std::string> known_failures;
};

/// Parses the command line into `o`; an exit code when the program should end at once
/// (--help: 0, a bad option: 2, with the message printed).
std::optional<int> parse_options(int argc, char** argv, campaign_options& o);

} // namespace troupe::chaos_harness
