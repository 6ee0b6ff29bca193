#pragma once

#include "record.hpp"

namespace troupe::chaos_harness {

/// A made-up 60 s campaign on three nodes: 3,000 operations, four fault windows (two kills,
/// a partition and a latency fault that never recovers), requests to the hit node failing
/// inside the kill and partition windows, and four invariants of which one fails with a
/// detail holding markup. Deterministic, so tests can assert exact figures.
run_record sample_run();

} // namespace troupe::chaos_harness
