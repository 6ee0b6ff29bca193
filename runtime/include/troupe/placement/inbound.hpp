#pragma once

#include <memory>

#include <caf/timespan.hpp>

#include "troupe/supervision/spec.hpp"

namespace troupe::supervision {
class name_registry;
} // namespace troupe::supervision

namespace troupe::placement {

/// The registered name of a node's inbound router.
inline constexpr const char* inbound_name = "placement-router";

/// The inbound router as a permanent supervised child named `inbound_name`: it takes
/// `(forward_atom, kind, key, message)` from other nodes, resolves the key in this node's
/// region of that kind and hands the message to the activation, which answers the
/// original sender directly (one hop on this node, none on the way back).
supervision::child_spec inbound_child(std::shared_ptr<supervision::name_registry> names,
                                      caf::timespan resolve_timeout);

} // namespace troupe::placement
