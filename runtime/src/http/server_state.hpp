#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/http_metrics.hpp"
#include "troupe/http/router.hpp"
#include "troupe/http/server.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::http {

class connection;

/// What a server shares with its connections and with responders that may outlive it.
struct server_state {
  /// Builds the state; `reg` is kept alive for the metric references.
  server_state(server_config config, std::shared_ptr<const router> r,
               std::shared_ptr<observability::registry> reg)
      : cfg(std::move(config)), routes(std::move(r)), registry(std::move(reg)), metrics(*registry) {
  }

  /// The limits and timeouts.
  const server_config cfg;
  /// Where requests go.
  const std::shared_ptr<const router> routes;
  /// Owner of the metric families `metrics` points into.
  const std::shared_ptr<observability::registry> registry;
  /// The http metric series.
  http_metrics metrics;

  /// Guards `open`; responders hold it shared while posting so `stop` can fence them off.
  std::shared_mutex gate;
  /// False once the server stops: from then on responders drop their answers.
  bool open = true;

  /// Guards `connections`.
  std::mutex connections_mtx;
  /// The live connections; the strong references that keep idle-waiting connections alive.
  std::unordered_map<const connection*, std::shared_ptr<connection>> connections;
  /// Open connections per client address; an entry goes when its count drops to zero, so
  /// the map is never larger than `connections`.
  std::unordered_map<std::string, size_t> per_client;
};

} // namespace troupe::http
