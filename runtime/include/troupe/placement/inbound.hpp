#pragma once

#include <memory>

#include "troupe/supervision/spec.hpp"

namespace troupe::supervision {
class name_registry;
} // namespace troupe::supervision

namespace troupe::cluster {
class remote_guard;
} // namespace troupe::cluster

namespace troupe::placement {

/// The registered name of a node's inbound router.
inline constexpr const char* inbound_name = "placement-router";

/// The inbound router as a permanent supervised child named `inbound_name`: it takes
/// `(forward_atom, kind, key, message)` from other nodes and hands it to this node's region
/// of that kind, which hands the message to the activation; the activation answers the
/// original sender directly (two local hops, none on the way back). Behind `guard`, it takes
/// requests only from this node and from authenticated peers.
supervision::child_spec inbound_child(std::shared_ptr<supervision::name_registry> names,
                                      std::shared_ptr<const cluster::remote_guard> guard = nullptr);

} // namespace troupe::placement
