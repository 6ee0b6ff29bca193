#pragma once

#include "record.hpp"

namespace troupe::chaos_harness {

/// How long requests must keep succeeding before a run of successes counts as recovery.
inline constexpr micros recovery_run = 1000000;

/// Whether a request succeeded: answered, and not with a 5xx.
bool succeeded(const operation& op);

/// Fills `recovered` of every fault window from `run.operations`: the send time of the first
/// successful request through the hit node (through any node for "db" and "all") sent after
/// the window ended (after it started for a kill or a crash) that began a `recovery_run` of
/// successes through it; -1 if there was none.
void measure_recovery(run_record& run);

} // namespace troupe::chaos_harness
