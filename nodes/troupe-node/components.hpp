#pragma once

#include <atomic>
#include <memory>

#include <caf/fwd.hpp>

#include "options.hpp"
#include "troupe/supervision/spec.hpp"

namespace troupe::http {
class router;
} // namespace troupe::http

namespace troupe::node {

/// What the components of one node share.
struct node_context {
  /// The node's actor system.
  caf::actor_system* system = nullptr;
  /// The parsed flags.
  node_options options;
  /// Every metric of the process.
  std::shared_ptr<observability::registry> metrics;
  /// Live incarnations by name, the root supervisor included.
  std::shared_ptr<supervision::name_registry> names;
  /// The HTTP routes every component adds to before the server starts.
  std::shared_ptr<http::router> routes;
  /// Set on SIGTERM/SIGINT: readiness turns false while the tree stops.
  std::shared_ptr<std::atomic<bool>> draining;
};

/// The root supervisor of a node: its components in start order. HTTP comes last,
/// so it is the first to stop and no request arrives at a stopped component.
supervision::supervisor_spec root_spec(const node_context& ctx);

} // namespace troupe::node
