#pragma once

#include <string_view>

#include <caf/fwd.hpp>

namespace troupe {

/// Installs CAF's scheduler in `cfg`, work-sharing (`policy` "sharing") or work-stealing
/// ("stealing"), with a clock thread that wakes only when a timeout falls due.
///
/// CAF 0.17's own clock thread wakes for every timeout set (each request sets one, and so
/// does each delayed message), to file it, and then sleeps again: several thread switches
/// per served request. This clock files timeouts under a lock from the thread that sets them
/// and wakes its thread only when the new one is due before it planned to wake anyway.
/// Returns false, installing nothing, for an unknown policy.
bool install_scheduler(caf::actor_system_config& cfg, std::string_view policy);

} // namespace troupe
