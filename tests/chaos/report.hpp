#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "record.hpp"

namespace troupe::chaos_harness {

/// The machine-readable outcome: passed, seed, aborted (null or why), faults_injected,
/// faults_by_type, acknowledged_operations, lost_operations, stale_reads,
/// duplicate_notifications, error_window_after_kill_ms {p50, max}, converged_after_ms (null
/// if never), invariants [{name, passed, detail}], recovery_ms_by_fault_type {type: {count,
/// recovered, p50, max}}, plus every figure of the run (a figure of the checks wins over one
/// computed here; one nobody computed is null).
nlohmann::json result_json(const run_record& run);

/// Writes `dir`/result.json and a self-contained `dir`/report.html (no network: data, script
/// and styles inline) with throughput, error rate and p50/p99 latency over time, every fault
/// window marked, recovery times per fault type, and the invariant table.
void write_outputs(const run_record& run, const std::filesystem::path& dir);

} // namespace troupe::chaos_harness
