#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/cluster/membership.hpp"

namespace troupe::cluster {

/// The node agent's latest view, readable from any thread without a message (the
/// /admin/cluster route, placement). The agent publishes a copy after every change.
class shared_view {
public:
  /// Replaces the view (the agent calls this).
  void publish(std::vector<member> members) {
    std::lock_guard guard{mtx_};
    members_ = std::move(members);
  }

  /// Every member, this node first; empty until the agent has started.
  std::vector<member> members() const {
    std::lock_guard guard{mtx_};
    return members_;
  }

private:
  mutable std::mutex mtx_;
  std::vector<member> members_;
};

} // namespace troupe::cluster
