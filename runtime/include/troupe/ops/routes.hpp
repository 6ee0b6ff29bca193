#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

namespace troupe::http {
class router;
} // namespace troupe::http

namespace troupe::observability {
class registry;
} // namespace troupe::observability

namespace troupe::supervision {
class name_registry;
} // namespace troupe::supervision

namespace troupe::cluster {
class shared_view;
} // namespace troupe::cluster

namespace troupe::ops {

/// Whether the node should receive traffic, and if not, why.
struct readiness {
  /// True when the node takes traffic.
  bool ready = false;
  /// Why not, for operators (e.g. "draining").
  std::string reason;
};

/// What the operational endpoints read; everything here must outlive the HTTP server.
struct ops_context {
  /// Spawns the short-lived actors that ask the supervision tree.
  caf::actor_system* system = nullptr;
  /// Where the root supervisor is registered.
  std::shared_ptr<supervision::name_registry> names;
  /// The registered name of the root supervisor.
  std::string root_name = "root";
  /// Rendered at /metrics.
  std::shared_ptr<observability::registry> metrics;
  /// Bearer token for /admin/*; empty disables them (403).
  std::optional<std::string> admin_token;
  /// Answers /readyz.
  std::function<readiness()> ready;
  /// Bound on asking the tree for /admin/supervision.
  std::chrono::milliseconds inspect_timeout{2000};
  /// This node's view of the cluster, served at /admin/cluster.
  std::shared_ptr<cluster::shared_view> cluster;
  /// The build's version, named by /healthz (omitted when empty).
  std::string version;
};

/// Adds GET /healthz, /readyz, /metrics, /admin/supervision and /admin/cluster to `routes`.
void add_ops_routes(http::router& routes, ops_context ctx);

} // namespace troupe::ops
