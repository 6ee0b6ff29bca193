#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "record.hpp"

namespace troupe::chaos_harness {

/// A node's HTTP endpoint as the load generator reaches it.
struct endpoint {
  /// The node's name (as in the run record).
  std::string name;
  /// Its address and HTTP port inside the campaign's network.
  std::string host;
  std::uint16_t port = 0;
};

/// What the load generator drives and how hard.
struct load_config {
  /// Every node; each request goes to a live one at random (the generator skips a node
  /// whose connections fail and comes back to it later, as a client behind a load balancer).
  std::vector<endpoint> nodes;
  /// Concurrent virtual clients; each runs one logical operation at a time.
  int clients = 16;
  /// Seeds the choice of operations, users and SKUs.
  std::uint64_t seed = 1;
  /// An admin account the nodes bootstrap (TROUPE_ADMIN_EMAIL/PASSWORD), used to stock SKUs.
  std::string admin_email;
  std::string admin_password;
  /// SKUs stocked before the load starts, with this many units each.
  int skus = 8;
  int stock_per_sku = 1000000;
  /// Runs first on every thread the generator starts, e.g. to enter the campaign's network
  /// namespace (setns is per thread).
  std::function<void()> on_thread_start;
  /// The campaign's clock origin.
  std::chrono::steady_clock::time_point origin;
  /// A client's mean pause between two operations (uniform in [0, 2 * think]), which keeps
  /// the request rate sane on a small machine; a client that keeps failing pauses longer.
  std::chrono::milliseconds think{20};
};

/// A steady mixed load (registrations, logins, profile updates and reads, orders with
/// Idempotency-Keys and client retries, cancels, notification listings) through any live node;
/// records every request.
class load_generator {
public:
  explicit load_generator(load_config cfg);
  ~load_generator();
  load_generator(const load_generator&) = delete;
  load_generator& operator=(const load_generator&) = delete;

  /// Creates the admin session and stocks the SKUs, retrying until `limit`; false (with the
  /// reason in `why`) when the cluster never accepted it.
  bool prepare(std::chrono::milliseconds limit, std::string& why);

  /// Starts the clients.
  void start();

  /// Stops starting new operations, lets each client finish (or give up on) the one it is in,
  /// bounded by `limit`, and joins the threads.
  void stop(std::chrono::milliseconds limit);

  /// Share of requests answered 5xx or not answered among those sent in the last `window`
  /// (for the SLO guard and the live progress line); 0 when none were sent.
  double error_rate(std::chrono::milliseconds window) const;

  /// Requests sent so far, retries included (for the live progress line).
  std::int64_t requests() const;

  /// Every request recorded so far, in no particular order (call after `stop`).
  std::vector<operation> operations() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::chaos_harness
