#pragma once

#include <memory>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "troupe/placement/entity.hpp"
#include "troupe/supervision/spec.hpp"

namespace troupe::observability {
class registry;
} // namespace troupe::observability

namespace troupe::placement {

/// Asks a region to kill the live activation of a key as a crash would, so the next message
/// activates it afresh from the store: `(evict_atom, key) -> bool` (whether one was live).
using evict_atom = caf::atom_constant<caf::atom("evict")>;

/// Asks a region for its live activations: `(entities_atom, uint64_t limit) -> (uint64_t
/// active, std::vector<std::string> keys)`, the keys sorted and at most `limit` of them.
using entities_atom = caf::atom_constant<caf::atom("entities")>;

/// Spawns the region of `kind`: it activates entities on first resolve, hands out
/// the live activation, stops idle ones on their request (holding back resolves for
/// a key until its old activation is gone, so a key never has two), and forgets
/// crashed ones so the next resolve activates them afresh from the store.
caf::actor spawn_region(caf::actor_system& sys, entity_kind kind,
                        std::shared_ptr<observability::registry> metrics = nullptr);

/// The region of `kind` as a permanent supervised child named after the kind.
supervision::child_spec region_child(entity_kind kind,
                                     std::shared_ptr<observability::registry> metrics = nullptr);

} // namespace troupe::placement
