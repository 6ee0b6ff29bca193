#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/scoped_actor.hpp>

#include "troupe/cluster/agent.hpp"
#include "troupe/cluster/protocol.hpp"

namespace troupe::testing {

// The agent's messages, as a rogue that read the source would use them.
using namespace cluster::protocol;
using cluster::leave_atom;
using cluster::release_atom;

/// How a rogue peer dresses: no TLS at all, or TLS with some certificate and key (from the
/// cluster's CA or from another).
struct rogue_identity {
  bool tls = false;
  std::string cert;
  std::string key;
  std::string ca;
};

/// A CAF node in this test process that speaks to a Troupe node as a peer would, with
/// whatever identity it is given, through CAF's own API.
class rogue_peer {
public:
  explicit rogue_peer(const rogue_identity& who);

  /// Connects to the cluster endpoint at 127.0.0.1:`port` (bounded); the published agent, or
  /// nothing if the node would not speak.
  std::optional<caf::actor> connect(uint16_t port, std::chrono::milliseconds limit);

  /// Publishes `a` on a free loopback port (to be dialed by a node); returns the port.
  uint16_t publish(const caf::actor& a);

  /// The rogue's actor system.
  caf::actor_system& system() { return *sys_; }

private:
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
};

/// A raw TCP connection to 127.0.0.1:`port` (-1 if none).
int raw_connect(uint16_t port);

/// Whether the peer closed `fd` within `limit` (reads and discards whatever it sent first).
bool closed_within(int fd, std::chrono::milliseconds limit);

/// Resident memory of process `pid` in KiB (0 if unknown).
long rss_kib(int pid);

} // namespace troupe::testing
