#pragma once

#include <memory>
#include <utility>

#include <caf/actor_config.hpp>
#include <caf/fwd.hpp>
#include <caf/mailbox_element.hpp>

namespace troupe::observability {
class registry;
class counter;
} // namespace troupe::observability

namespace troupe::cluster {

class shared_view;

/// Counts one refused message in `troupe_cluster_refused_total{actor,reason}` (`metrics` may be
/// null).
void count_refusal(observability::registry* metrics, const char* actor, const char* reason);

/// Decides, before a message reaches an actor's mailbox, whether the actor takes it.
///
/// CAF delivers to any actor whose id was ever sent to a peer, from anyone connected. A
/// guarded actor takes messages from its own node, and from another node only while that
/// node is an authenticated peer (its agent passed the handshake and is still connected).
/// It never takes an exit message from another node, nor an anonymous one except from its
/// own node's supervisors... which cannot be told apart from a remote anonymous sender, so
/// anonymous exits are refused too: local code stops guarded actors with `send_exit` from an
/// actor. Anonymous messages are taken only when they are responses or receive timeouts
/// (CAF's own request and idle timers send those). Refusals are counted in
/// `troupe_cluster_refused_total{actor,reason}` and logged at most once a second.
///
/// Behind mutual TLS this is a second wall, not the first: CAF 0.17's protocol lets a peer
/// state a source node per message, so it stops a peer that speaks through CAF's API (a
/// misconfigured node, another cluster under the same CA), while the certificate keeps out
/// everyone else.
class remote_guard {
public:
  /// Whether a message from a node that is not an authenticated peer is still taken.
  using stranger_filter = bool (*)(const caf::mailbox_element&);

  /// Guards with `view`'s trusted peers; counts refusals in `metrics` (may be null).
  remote_guard(std::shared_ptr<const shared_view> view,
               std::shared_ptr<observability::registry> metrics);

  /// Whether an actor named `who` on `home` takes `e`.
  bool admit(const caf::mailbox_element& e, const caf::node_id& home, const char* who,
             stranger_filter strangers = nullptr) const;

private:
  void refuse(const char* who, const char* reason, const caf::mailbox_element& e) const;

  std::shared_ptr<const shared_view> view_;
  std::shared_ptr<observability::registry> metrics_;
};

/// `Base` (an event-based or stateful actor class) behind a `remote_guard`.
template <class Base>
class guarded : public Base {
public:
  /// Constructs `Base` from `xs`; a null `guard` lets everything through.
  template <class... Ts>
  guarded(caf::actor_config& cfg, std::shared_ptr<const remote_guard> guard, Ts&&... xs)
      : Base(cfg, std::forward<Ts>(xs)...), guard_(std::move(guard)) {}

  void enqueue(caf::mailbox_element_ptr what, caf::execution_unit* host) override {
    // A refused request is dropped, not answered: a stranger learns nothing, and a peer that
    // lost its membership has had its requests failed already when it went down.
    if (guard_ && what && !guard_->admit(*what, this->node(), this->name(), strangers()))
      return;
    Base::enqueue(std::move(what), host);
  }

protected:
  /// Which messages from strangers this actor takes (none by default).
  virtual remote_guard::stranger_filter strangers() const { return nullptr; }

private:
  std::shared_ptr<const remote_guard> guard_;
};

} // namespace troupe::cluster
