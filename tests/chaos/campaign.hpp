#pragma once

#include <atomic>

#include "options.hpp"

namespace troupe::chaos_harness {

/// Set by SIGINT/SIGTERM: the campaign stops its faults, tears everything down and still
/// writes what it recorded.
extern std::atomic<bool> interrupted;

/// Runs a whole campaign: sandbox, database, nodes, load, faults, settling, checks, outputs.
/// Returns 0 when every invariant held and nothing aborted the campaign, 1 otherwise, 2 when
/// the campaign could not be set up.
int run_campaign(const campaign_options& o);

} // namespace troupe::chaos_harness
