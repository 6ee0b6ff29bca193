#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "record.hpp"

/// The numbers behind a campaign's report, computed from its record alone.
namespace troupe::chaos_harness {

/// The nearest-rank percentile `p` (0 < p <= 1) of `values`, which it reorders; nullopt
/// when `values` is empty.
std::optional<std::int64_t> percentile(std::vector<std::int64_t>& values, double p);

/// Whether the report counts an operation as failed: no answer at all, or a 5xx (a 4xx is
/// the service answering correctly about a bad or conflicting request).
bool failed(const operation& op);

/// Milliseconds from a fault to its node serving again (from its start for a kill, else
/// from its end), or nullopt when it never recovered within the campaign.
std::optional<std::int64_t> recovery_ms(const fault_window& fault);

/// {type: {count, recovered, p50, max}} over the fault windows, in milliseconds; p50 and
/// max are null for a type none of whose windows recovered.
nlohmann::json recovery_by_type(const std::vector<fault_window>& faults);

/// The operations aggregated per second of the campaign, by the time their answer came.
struct second_series {
  std::vector<std::int64_t> ok;
  std::vector<std::int64_t> failed;
  /// Latency percentiles in milliseconds; nullopt for a second without answers.
  std::vector<std::optional<double>> p50_ms;
  std::vector<std::optional<double>> p99_ms;
};

/// One bucket per second from 0 to the campaign's end (or its last answer, if later).
second_series per_second(const run_record& run);

} // namespace troupe::chaos_harness
