#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

namespace troupe::http {
class router;
} // namespace troupe::http

namespace troupe::supervision {
class name_registry;
} // namespace troupe::supervision

namespace troupe::ops {

/// What GET /admin/entities reads; everything here must outlive the HTTP server.
struct entities_context {
  /// Spawns the short-lived actor that asks the regions.
  caf::actor_system* system = nullptr;
  /// Where the regions are registered, under their kind's name.
  std::shared_ptr<supervision::name_registry> names;
  /// The entity kinds this node may host.
  std::vector<std::string> kinds;
  /// This node's name, echoed in the answer.
  std::string node;
  /// Bearer token; empty: 403.
  std::optional<std::string> admin_token;
  /// Bound on asking each region.
  std::chrono::milliseconds ask_timeout{2000};
};

/// The most keys one kind lists (`?limit=` is capped to it).
inline constexpr uint64_t max_entity_keys = 1000;

/// Adds GET /admin/entities: the live activations of this node per kind, with `?kind=` to pick
/// one kind and `?limit=` (default 100, at most `max_entity_keys`) keys listed per kind.
void add_entity_routes(http::router& routes, entities_context ctx);

} // namespace troupe::ops
