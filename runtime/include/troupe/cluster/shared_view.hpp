#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <set>

#include <caf/actor.hpp>
#include <caf/node_id.hpp>

#include "troupe/cluster/lease.hpp"
#include "troupe/cluster/membership.hpp"

namespace troupe::cluster {

/// One published state of the view: immutable, so readers share it without copying.
struct view_snapshot {
  /// Every member, this node first.
  std::vector<member> members;
  /// Up members hosting each role, sorted by name: the owners' candidates.
  std::map<std::string, std::vector<std::string>, std::less<>> hosts;
  /// Where each up peer takes requests for its entities (see placement's inbound router).
  std::map<std::string, caf::actor, std::less<>> routers;
  /// The CAF nodes of the peers whose agents passed the handshake and are still connected:
  /// the only other nodes this node's actors take messages from (see `remote_guard`).
  std::set<caf::node_id> trusted;
  /// "mutual-tls", or "insecure" for a cluster port without TLS; "" for a node alone.
  std::string transport;
  /// Why this node should not take client traffic yet ("" when it may): until it has tried
  /// every peer it knows of once, it would serve as if alone, owning every key.
  std::string not_ready = "the cluster agent has not started";

  /// This node's name ("" before the first publication).
  const std::string& self() const {
    static const std::string none;
    return members.empty() ? none : members.front().name;
  }
};

/// The node agent's latest view, readable from any thread without a message (the
/// /admin/cluster route, placement on every request). The agent publishes after every change.
class shared_view {
public:
  /// Replaces the view; `routers` are the up peers' inbound routers by name, `trusted` the
  /// authenticated peers' CAF nodes, `not_ready` why the node may not serve yet.
  void publish(const membership& view, std::map<std::string, caf::actor, std::less<>> routers = {},
               std::set<caf::node_id> trusted = {}, std::string transport = {},
               std::string not_ready = {}) {
    auto next = std::make_shared<view_snapshot>();
    next->members = view.members();
    for (const auto& m : next->members)
      for (const auto& r : m.roles)
        next->hosts.try_emplace(r, view.hosts(r));
    next->routers = std::move(routers);
    next->trusted = std::move(trusted);
    next->transport = std::move(transport);
    next->not_ready = std::move(not_ready);
    std::lock_guard guard{mtx_};
    current_ = std::move(next);
  }

  /// The latest view; never null.
  std::shared_ptr<const view_snapshot> get() const {
    std::lock_guard guard{mtx_};
    return current_;
  }

  /// Whether `node` is an authenticated, connected peer.
  bool trusts(const caf::node_id& node) const { return get()->trusted.count(node) > 0; }

  /// Every member, this node first; empty until the agent has started.
  std::vector<member> members() const { return get()->members; }

  /// Replaces this node's lease (see `lease_keeper`); until the agent sets one, a node holds
  /// tenure 1 for good, as a node without a cluster does.
  void set_lease(const lease_state& lease) {
    std::lock_guard guard{lease_mtx_};
    lease_ = lease;
  }

  /// The tenure of this node's lease at `now`; 0 while the lease is not held, i.e. while who
  /// owns which key is not settled and nothing may be answered from memory.
  uint64_t tenure(lease_state::clock::time_point now = lease_state::clock::now()) const {
    std::lock_guard guard{lease_mtx_};
    return lease_.at(now);
  }

private:
  mutable std::mutex mtx_;
  std::shared_ptr<const view_snapshot> current_ = std::make_shared<view_snapshot>();
  mutable std::mutex lease_mtx_;
  lease_state lease_;
};

} // namespace troupe::cluster
