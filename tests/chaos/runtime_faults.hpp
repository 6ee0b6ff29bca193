#pragma once

#include <cstdint>
#include <functional>

#include "faults.hpp"

namespace troupe::chaos_harness {

/// The body of POST /admin/chaos/faults for a "runtime:<type>" fault; `key` and `path` fill
/// kill_entity's match and kill_actor's path.
nlohmann::json runtime_fault_body(const planned_fault& f, const std::string& key,
                                  const std::string& path);

/// Sets a "runtime:<type>" fault on its node through /admin/chaos, holds it (`hold(ms)`) and
/// deletes it; for crash_node waits for the node to die, holds, and starts it again.
/// kill_entity takes a recent key of its kind from the database, kill_actor a child of the
/// node's supervision root (both by the planned "pick").
void apply_runtime_fault(const planned_fault& f, fault_context& ctx, nlohmann::json& detail,
                         const std::function<void(std::int64_t)>& hold);

} // namespace troupe::chaos_harness
