#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "troupe/cluster/in_flight.hpp"
#include "troupe/cluster/shared_view.hpp"
#include "troupe/supervision/spec.hpp"

#include <caf/atom.hpp>

namespace troupe::observability {
class registry;
} // namespace troupe::observability

namespace troupe::cluster {

/// `(leave_atom) -> ok`: this node starts leaving. It owns no key from now on (its regions
/// passivate everything), tells every up peer, and answers once each acknowledged (or
/// failed to within the connect timeout), so no peer routes new work here afterwards.
using leave_atom = caf::atom_constant<caf::atom("leave")>;

/// `(release_atom) -> ok`: this leaving node has drained (`agent_config::drained`); it tells
/// every peer it answers for nothing any more, so they take over its keys without waiting out
/// the lease they confirmed to it, and answers once each acknowledged (or failed to within
/// the connect timeout). Refused with `errc::invalid_state` before the node drained.
using release_atom = caf::atom_constant<caf::atom("release")>;

/// How this node takes part in the cluster.
struct agent_config {
  /// This node's stable name.
  std::string name;
  /// Random per start (see `member::incarnation`).
  std::string incarnation;
  /// The roles this node hosts.
  std::vector<std::string> roles;
  /// Address the cluster endpoint binds ("0.0.0.0": all).
  std::string bind_host = "0.0.0.0";
  /// Whether the transport is mutual TLS (shown in /admin/cluster; see `transport_config`).
  bool tls = true;
  /// Port of the cluster endpoint.
  uint16_t port = 0;
  /// Host other nodes reach this one at.
  std::string advertise_host;
  /// host:port of peers to keep connected to.
  std::vector<std::string> seeds;
  /// A DNS name (a headless Service) resolved every `resolve_interval`; each address found is
  /// a peer at `port`.
  std::string seed_dns;
  /// Shared by every member; a peer that cannot prove it knows it is refused.
  std::string secret;
  /// Bound on one connection attempt and on each handshake step.
  std::chrono::milliseconds connect_timeout{2000};
  /// The middleman's connection timeout: a member is never silent longer than this.
  std::chrono::milliseconds connection_timeout{500};
  /// Connections one address may hold on the cluster port (see `connection_limits`).
  size_t max_connections_per_address = 16;
  /// Connections the cluster port holds in all.
  size_t max_connections = 256;
  /// How long a peer's confirmation of this node's view lets this node answer for its keys
  /// from memory (see `lease_keeper`); 0: the connection timeout. Peers are asked five times
  /// as often.
  std::chrono::milliseconds lease{0};
  /// How often unconnected peers are tried again.
  std::chrono::milliseconds retry_interval{500};
  /// How often `seed_dns` is resolved.
  std::chrono::milliseconds resolve_interval{5000};
  /// How long a down member stays in the view (and in /admin/cluster).
  std::chrono::milliseconds keep_down{60000};
  /// This node's inbound router (where peers send requests for its entities), handed to
  /// peers in the handshake; may be empty for a node that hosts nothing.
  std::function<caf::actor()> inbound;
  /// Remote requests by node: those waiting on a node that goes down fail at once.
  std::shared_ptr<in_flight> pending;
  /// While this node is leaving: whether its activations are all gone (empty: at once). Until
  /// then its lease stays on the view from before the leave and it confirms no peer's newer
  /// one, so no peer takes over its keys while a write of theirs may still land.
  std::function<bool()> drained;
  /// Called inside the agent with every change of the view (e.g. to rebalance regions).
  std::function<void(const std::vector<member_change>&)> on_change;
};

/// The node agent as a permanent supervised child named "cluster".
///
/// It publishes itself on the cluster port (through the transport: mutual TLS unless the node
/// runs insecure) and keeps a connection to every peer it hears of (seeds, DNS, and the peers
/// its peers know). Each connection starts with a handshake in which both sides prove they
/// hold the cluster secret (an HMAC over both nonces and both CAF nodes, so the secret never
/// crosses the wire and a proof is good for one pair of nodes once) and compare CAF node ids:
/// two processes with the same id (same image, same pid) would be merged by CAF, so they are
/// refused, loudly. A member is marked down when the monitor on its agent fires: at once for
/// a dead process, after the middleman's connection timeout for a frozen or cut-off one. The
/// agent takes commands only from its own node, drops everything else a non-member sends but
/// the handshake (see `remote_guard`), and closes cluster-port connections that stay silent
/// or exceed their bounds (see `sweep_connections`).
supervision::child_spec agent_child(agent_config cfg, std::shared_ptr<shared_view> view,
                                    std::shared_ptr<observability::registry> metrics);

} // namespace troupe::cluster
