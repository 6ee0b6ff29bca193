#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>

namespace troupe::cluster {
class in_flight;
class shared_view;
struct view_snapshot;
} // namespace troupe::cluster

namespace troupe::supervision {
class name_registry;
} // namespace troupe::supervision

namespace troupe::placement {

/// A request for an entity on another node, sent to that node's inbound router:
/// `(forward_atom, kind, key, message)`, which hands it to the kind's region as
/// `(forward_atom, key, message)`; the entity's answer goes straight to the sender.
using forward_atom = caf::atom_constant<caf::atom("forward")>;

/// Where (kind, key) lives now: this node's region of the kind, or the inbound router of
/// the node that owns it. The owner is chosen by rendezvous hashing over the up members
/// that host the kind's role in this node's cluster view, so every node that shares the
/// view picks the same owner without asking anyone; a node alone owns every key.
class locator {
public:
  /// What the locator reads.
  struct config {
    /// This node's cluster view; null: this node owns every key (tests, tools).
    std::shared_ptr<cluster::shared_view> view;
    /// This node's regions, registered under their kind's name.
    std::shared_ptr<supervision::name_registry> names;
    /// The role that hosts each kind (e.g. "sku" → "order"); a kind not listed is its own
    /// role.
    std::map<std::string, std::string, std::less<>> roles;
    /// Remote requests by node, so a node going down fails them at once.
    std::shared_ptr<cluster::in_flight> pending;
  };

  /// One destination.
  struct route {
    /// The owner's name.
    std::string node;
    /// This node's region, when the owner is this node.
    caf::actor local;
    /// The owner's inbound router otherwise.
    caf::actor remote;
  };

  /// Reads `cfg` on every call.
  explicit locator(config cfg) : cfg_(std::move(cfg)) {}

  /// Where a request for `key` of `kind` goes now; `errc::dependency_unavailable` when no up
  /// member hosts the kind, `errc::node_down` when its owner cannot be reached.
  caf::expected<route> find(std::string_view kind, const std::string& key) const;

  /// Whether this node owns `key` of `kind` now (for `entity_kind::owned_here`); a leaving
  /// node owns nothing.
  bool owns(std::string_view kind, const std::string& key) const;

  /// The tenure of this node's lease now (see `cluster::lease_keeper`); 0 while it is not held.
  /// Without a cluster view, 1 for good.
  uint64_t tenure() const;

  /// The tenure under which this node may answer for `key` of `kind` from memory now: 0 unless
  /// it owns the key and holds its lease.
  uint64_t tenure(std::string_view kind, const std::string& key) const;

  /// The registry of remote requests (may be null).
  const std::shared_ptr<cluster::in_flight>& pending() const noexcept { return cfg_.pending; }

private:
  std::string_view role_of(std::string_view kind) const;

  // The owner of `key` among the up hosts of `kind`'s role in `snap`; none if none is up.
  std::optional<std::string> owner_in(const cluster::view_snapshot& snap, std::string_view kind,
                                      const std::string& key) const;

  config cfg_;
};

} // namespace troupe::placement
