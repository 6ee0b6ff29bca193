#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>

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
  /// Replaces the view; `routers` are the up peers' inbound routers by name.
  void publish(const membership& view,
               std::map<std::string, caf::actor, std::less<>> routers = {}) {
    auto next = std::make_shared<view_snapshot>();
    next->members = view.members();
    for (const auto& m : next->members)
      for (const auto& r : m.roles)
        next->hosts.try_emplace(r, view.hosts(r));
    next->routers = std::move(routers);
    std::lock_guard guard{mtx_};
    current_ = std::move(next);
  }

  /// The latest view; never null.
  std::shared_ptr<const view_snapshot> get() const {
    std::lock_guard guard{mtx_};
    return current_;
  }

  /// Every member, this node first; empty until the agent has started.
  std::vector<member> members() const { return get()->members; }

private:
  mutable std::mutex mtx_;
  std::shared_ptr<const view_snapshot> current_ = std::make_shared<view_snapshot>();
};

} // namespace troupe::cluster
