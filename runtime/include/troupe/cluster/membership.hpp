#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::cluster {

/// Where a member stands in this node's view. Views of different nodes may differ for a
/// moment; nothing depends on them agreeing (writes are fenced by the store).
enum class member_state { joining, up, leaving, down };

/// Returns "joining", "up", "leaving" or "down".
std::string_view to_string(member_state s);

/// One node as this node sees it.
struct member {
  /// Stable name (`--node-name`): the same after a restart, so keys return to it.
  std::string name;
  /// Random per start: tells a restarted node from its previous life.
  std::string incarnation;
  /// host:port of its cluster endpoint.
  std::string address;
  /// The roles it hosts (gateway, user, order, notification).
  std::vector<std::string> roles;
  /// Its state in this view.
  member_state state = member_state::joining;
  /// When it entered `state`.
  std::chrono::steady_clock::time_point since{};
};

/// What one call changed, for the log and the metrics.
struct member_change {
  /// The member's name.
  std::string name;
  /// Its incarnation.
  std::string incarnation;
  /// The state it left (nothing for a member seen for the first time).
  std::optional<member_state> from;
  /// The state it is in now.
  member_state to = member_state::up;
};

/// This node's view of the cluster: itself and every peer it has heard of, with the rules
/// for moving between states. Pure bookkeeping (time comes in as an argument), so the node
/// agent owns the one instance and tests drive it with simulated time.
class membership {
public:
  using clock = std::chrono::steady_clock;

  /// Starts a view holding only `self`, joining.
  explicit membership(member self);

  /// This node.
  const member& self() const noexcept { return members_.front(); }

  /// This node is up (its endpoint listens); or leaving, on its way out.
  std::optional<member_change> set_self(member_state s, clock::time_point now);

  /// A peer completed a handshake: it is up, also after being down (a frozen or cut-off
  /// process that came back). A new incarnation of a known name first takes the old one
  /// down (that process is gone), then joins as itself.
  std::vector<member_change> on_hello(member peer, clock::time_point now);

  /// The peer announced that it is leaving: it keeps serving what it has, owns nothing new.
  std::optional<member_change> on_leaving(const std::string& name, const std::string& incarnation,
                                          clock::time_point now);

  /// The connection to the peer ended or its heartbeats stopped.
  std::optional<member_change> on_down(const std::string& name, const std::string& incarnation,
                                       clock::time_point now);

  /// Forgets peers that have been down for longer than `keep`.
  void prune(clock::time_point now, clock::duration keep);

  /// The names of up members (this node included) that host `role`, sorted: the candidates
  /// for owning keys of kinds in that role.
  std::vector<std::string> hosts(std::string_view role) const;

  /// Returns the member called `name`, if known.
  const member* find(std::string_view name) const;

  /// Every member, this node first.
  const std::vector<member>& members() const noexcept { return members_; }

  /// The number of members in state `s`.
  size_t count(member_state s) const;

private:
  member* find_mutable(std::string_view name);
  std::optional<member_change> move(member& m, member_state to, clock::time_point now);

  std::vector<member> members_; // [0] is this node
};

} // namespace troupe::cluster
