#pragma once

#include <string>

#include "record.hpp"

namespace troupe::chaos_harness {

/// Checks every invariant against the record and the database at `db_url` (a libpq URL the
/// harness itself can reach), appending one result per invariant to `run.invariants` and the
/// figures behind them (acknowledged_operations, lost_operations, stale_reads,
/// duplicate_notifications, grace_ms, error_window_after_kill_ms {p50,max}, ...) to
/// `run.figures`. Returns whether all passed.
bool check_invariants(run_record& run, const std::string& db_url);

} // namespace troupe::chaos_harness
