#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>

namespace troupe::observability {
class registry;
} // namespace troupe::observability

namespace troupe::http {

class router;

/// Listening address, threads and the limits that keep a server bounded.
struct server_config {
  /// Address to bind, e.g. "0.0.0.0", "127.0.0.1" or "::".
  std::string host = "0.0.0.0";
  /// Port to bind; 0 picks an ephemeral one (see `server::port()`).
  uint16_t port = 0;
  /// Threads running the io_context.
  size_t io_threads = 1;
  /// Open connections above this are accepted and closed at once.
  size_t max_connections = 1024;
  /// Open connections from one client address above this are accepted and closed at once,
  /// so one client cannot take every slot of `max_connections`.
  size_t max_connections_per_client = 64;
  /// Bytes allowed in the request line plus headers (431 above).
  size_t header_limit = 16 * 1024;
  /// Bytes allowed in a request body (413 above).
  size_t body_limit = 1024 * 1024;
  /// Time for a whole request, headers and body, from its first byte; defeats slowloris.
  std::chrono::milliseconds read_timeout{10000};
  /// Time a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{30000};
  /// Time for writing one response; a client that stops reading is dropped.
  std::chrono::milliseconds write_timeout{10000};
  /// One `info` line per answered request (method, route, status, duration, request and trace
  /// id); without it only server failures other than 503 are logged, at `warn`.
  bool access_log = true;
};

/// An HTTP/1.1 server: async accept loop, one strand per connection, keep-alive.
///
/// Requests go to a router one at a time per connection; handlers answer through a
/// responder from any thread. Metrics go to the given registry.
class server {
public:
  /// Binds synchronously and starts the io threads; an error names the address on failure.
  static caf::expected<std::unique_ptr<server>>
  start(server_config cfg, std::shared_ptr<router> routes,
        std::shared_ptr<observability::registry> metrics);

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Stops the server (see `stop`).
  ~server();

  /// Returns the bound port (the ephemeral one if the config said 0).
  uint16_t port() const noexcept;

  /// Returns the bound address, e.g. "127.0.0.1".
  std::string host() const;

  /// Stops accepting, closes connections, joins the io threads; idempotent, never from an io
  /// thread.
  void stop();

private:
  struct impl;

  explicit server(std::unique_ptr<impl> p);

  std::unique_ptr<impl> impl_;
};

} // namespace troupe::http
