#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace troupe::cluster {

/// What the cluster port's connections may hold.
///
/// CAF neither times out a connection that never finishes its TLS or BASP handshake nor
/// bounds how many one address opens; whoever reaches the port could hold descriptors until
/// the process has none left (and an open TLS handshake also blocks CAF's shutdown). So the
/// agent sweeps the process's sockets accepted on the cluster port itself.
struct connection_limits {
  /// The cluster port: accepted connections have it as their local port.
  uint16_t port = 0;
  /// A connection that received nothing for this long is closed. Members exchange
  /// heartbeats far more often, so only a stalled handshake or an idle stranger gets here.
  std::chrono::milliseconds idle{2000};
  /// Accepted connections one remote address may hold; beyond it, those that received the
  /// least are closed.
  size_t per_address = 16;
  /// Accepted connections in all; beyond it, those that received the least are closed.
  size_t total = 256;
};

/// What one sweep found and did.
struct sweep_result {
  /// Connections accepted on the port when the sweep began.
  size_t open = 0;
  /// Closed for silence.
  size_t closed_idle = 0;
  /// Closed for being over a bound.
  size_t closed_over_limit = 0;
};

/// Closes, by shutting them down (CAF then sees the end of the stream and releases them),
/// the connections accepted on `limits.port` that break `limits`. A few system calls per
/// descriptor of the process; never blocks.
sweep_result sweep_connections(const connection_limits& limits);

/// Shuts down every connection accepted on `port`, e.g. at stop, so no half-open handshake
/// holds the actor system's shutdown. Returns how many.
size_t close_connections(uint16_t port);

} // namespace troupe::cluster
