#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/behavior.hpp>
#include <caf/fwd.hpp>
#include <caf/message_handler.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/timespan.hpp>

namespace troupe::cluster {
class remote_guard;
} // namespace troupe::cluster

namespace troupe::placement {

class directory;

/// Asks a region for the live activation of a key: `(resolve_atom, key) -> caf::actor`.
using resolve_atom = caf::atom_constant<caf::atom("resolve")>;
/// An idle entity asks its region to stop it: `(passivate_atom, key)`. A region asks an
/// activation to step aside, once the work in its mailbox is done: `(passivate_atom)`.
using passivate_atom = caf::atom_constant<caf::atom("passivate")>;
/// Tells a region that key ownership may have moved: `(rebalance_atom, bool everything)`.
/// With `everything`, every activation passivates: after a peer that was cut off came back,
/// either side may hold state the other changed meanwhile.
using rebalance_atom = caf::atom_constant<caf::atom("rebalance")>;

/// What an activation knows about itself.
class entity_context {
public:
  /// Creates the context of activation `key` under `region`.
  entity_context(std::string kind, std::string key, caf::actor region, caf::timespan idle)
      : kind_(std::move(kind)), key_(std::move(key)), region_(std::move(region)), idle_(idle) {}

  /// The entity kind, e.g. "user".
  const std::string& kind() const noexcept { return kind_; }
  /// The entity key, e.g. a user id.
  const std::string& key() const noexcept { return key_; }
  /// The region that activated this entity.
  const caf::actor& region() const noexcept { return region_; }

  /// Sets what the activation does with messages it has no handler for once it serves
  /// (default: CAF's, which prints them whole).
  void set_unexpected(caf::scheduled_actor::default_handler f) { unexpected_ = std::move(f); }

  /// Sets the lease tenure the activation is made under, and the checks of `unbroken()` and of
  /// whether its node owns the key.
  void set_lease(uint64_t tenure, std::function<bool()> unbroken, std::function<bool()> owned) {
    tenure_ = tenure;
    unbroken_ = std::move(unbroken);
    owned_ = std::move(owned);
  }

  /// The tenure of its node's lease this activation was made under (see
  /// `entity_kind::tenure`); what it publishes for readers elsewhere carries it.
  uint64_t tenure() const noexcept { return tenure_; }

  /// Whether its node has held its lease without a break since the activation was made, so no
  /// other node can have loaded the key meanwhile. An entity checks it before acknowledging a
  /// write whose store answer came back: across a gap another node may have loaded the key
  /// before the write landed, and would serve reads without it.
  bool unbroken() const { return !unbroken_ || unbroken_(); }

  /// Whether the activation may answer a request: its node owns the key and the lease is
  /// unbroken. The region refuses requests to an activation that may not.
  bool current() const { return (!owned_ || owned_()) && unbroken(); }

  /// Wraps `handler` with the idle timeout: after `idle` without a message, the entity
  /// asks its region to passivate it; and so it does when the region asks it to (its key
  /// moved to another node). Use it for every behavior the entity `become`s.
  caf::behavior serve(caf::event_based_actor* self, const caf::message_handler& handler) const;

  /// Asks the region to stop this activation (e.g. after a version conflict: another
  /// activation wrote, so this one's state is stale).
  void passivate(caf::event_based_actor* self) const;

  /// Returns the first behavior of an activation that serves `handler` at once and reads
  /// its state only when a message needs it (e.g. an order whose first message creates it:
  /// inserting first, it reads only on a conflict). Hold the mailbox with a `write_barrier`
  /// while such a read runs; on a read error, `fail_all`.
  caf::behavior serve_first(caf::event_based_actor* self,
                            const caf::message_handler& handler) const;

  /// Answers every message from now on with `err` and asks the region to passivate this
  /// activation, so the next message meets a fresh one: for state that could not be read.
  void fail_all(caf::event_based_actor* self, caf::error err) const;

  /// Returns the first behavior of an activation that loads its state before serving.
  ///
  /// `load(done)` starts reading the state and calls `done` inside the actor: with no
  /// error once the state is there (or known to be absent), and `ready()` then installs
  /// the serving behavior with `become`. Messages that arrive meanwhile wait in the
  /// mailbox. On an error every message is answered with it and the activation asks to
  /// be passivated, so the next message meets a fresh one.
  caf::behavior load_first(caf::event_based_actor* self,
                           std::function<void(std::function<void(caf::error)>)> load,
                           std::function<void()> ready) const;

private:
  // Makes `self` treat messages it has no handler for as `set_unexpected` said.
  void install_unexpected(caf::event_based_actor* self) const;

  std::string kind_;
  std::string key_;
  caf::actor region_;
  caf::timespan idle_;
  caf::scheduled_actor::default_handler unexpected_;
  uint64_t tenure_ = 1;
  std::function<bool()> unbroken_;
  std::function<bool()> owned_;
};

/// Builds the first behavior of an activation (it may `become` others via `serve`).
using activate_fn = std::function<caf::behavior(caf::event_based_actor*, const entity_context&)>;

/// How one kind of virtual actor is activated and passivated.
struct entity_kind {
  /// The kind's name, e.g. "user"; also the region's name.
  std::string name;
  /// Builds an activation for a key; it loads its own state (from the store).
  activate_fn activate;
  /// Time without messages after which an activation passivates.
  caf::timespan idle_timeout = std::chrono::minutes(2);
  /// Time the region gives its activations to stop at shutdown before killing them.
  caf::timespan shutdown_timeout = std::chrono::seconds(5);
  /// Where the region publishes its activations for callers on this node; optional.
  std::shared_ptr<directory> published;
  /// Whether this node owns `key` now; on `(rebalance_atom, false)` the region asks every
  /// activation it no longer owns to passivate. Empty: every key is owned here.
  std::function<bool(const std::string& key)> owned_here;
  /// What activations take from other nodes (null: anything). Other nodes reach them through
  /// their inbound router, but CAF also delivers to any activation that ever answered one.
  std::shared_ptr<const cluster::remote_guard> guard;
  /// The tenure of this node's lease now, 0 while it is not held (see `cluster::lease_keeper`):
  /// an activation answers only under the tenure it was made under, and requests that come
  /// while there is none wait in the region for up to `settle_timeout`. Empty: tenure 1 for
  /// good (a node without a cluster).
  std::function<uint64_t()> tenure;
  /// The longest a request waits in the region for the lease before it is refused with
  /// `errc::not_settled`, unprocessed (`ask_owner` routes it again while its time allows).
  caf::timespan settle_timeout = std::chrono::seconds(1);
};

} // namespace troupe::placement
