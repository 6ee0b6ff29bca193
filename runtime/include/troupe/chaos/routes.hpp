#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "troupe/supervision/spec.hpp"

namespace troupe::http {
class router;
} // namespace troupe::http

namespace troupe::supervision {
class name_registry;
} // namespace troupe::supervision

namespace troupe::chaos {

class registry;

/// The registered name of the actor that removes faults when they expire.
inline constexpr const char* sweeper_name = "chaos";

/// What the fault API reads; everything here must outlive the HTTP server.
struct chaos_context {
  /// Spawns the short-lived actors that act on the supervision tree and the regions.
  caf::actor_system* system = nullptr;
  /// The node's faults; null when chaos is off (every route then answers 404).
  std::shared_ptr<registry> faults;
  /// Bearer token for the routes; empty: 403.
  std::optional<std::string> admin_token;
  /// Where the root supervisor, the regions (by kind) and the sweeper are registered.
  std::shared_ptr<supervision::name_registry> names;
  /// How the routes say chaos is off: names the switch that turns it on.
  std::string disabled_detail = "chaos faults are off on this node; start it with --chaos";
  /// Bound on each question to the tree or a region.
  std::chrono::milliseconds ask_timeout{2000};
  /// Ends the process abruptly, for crash_node (default: SIGKILL to itself).
  std::function<void()> crash;
};

/// Adds POST/GET /admin/chaos/faults, DELETE /admin/chaos/faults/{id} and
/// POST /admin/chaos/reset to `routes`.
///
/// kill_entity, kill_actor and crash_node act once when created; like every fault they stay
/// listed until they expire, so the API is the same for all types.
void add_chaos_routes(http::router& routes, chaos_context ctx);

/// The supervised actor (named `sweeper_name`) that removes faults from `faults` when they
/// expire, so the list and the gauge follow; it wakes only at an expiry.
supervision::child_spec sweeper_child(std::shared_ptr<registry> faults);

/// Tells the sweeper registered in `names` that a fault was added (its expiry may be sooner).
void wake_sweeper(const supervision::name_registry& names);

} // namespace troupe::chaos
