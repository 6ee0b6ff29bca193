#pragma once

#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "troupe/observability/metrics.hpp"

namespace troupe::http {

/// Returns the class of an HTTP status, e.g. "2xx" for 204, "other" outside 100..599.
std::string status_class(unsigned status);

/// The server's metric series, with a read-mostly cache in front of the families' locks.
class http_metrics {
public:
  /// Registers (or finds) the http families in `reg`, which must outlive this object.
  explicit http_metrics(observability::registry& reg);

  /// Counts one finished request by its status and its latency by its status class.
  void record(std::string_view route, std::string_view method, unsigned status, double seconds);

  /// Counts one connection turned away at the limit.
  void reject() noexcept { rejected_.inc(); }

  /// Counts one connection turned away because its client had too many open.
  void reject_client() noexcept { rejected_client_.inc(); }

  /// Tracks a connection opening (+1) or closing (-1).
  void track(int64_t delta) noexcept { active_.add(delta); }

private:
  struct series {
    observability::counter* requests;
    observability::histogram* duration;
  };

  observability::family<observability::counter>& requests_;
  observability::family<observability::histogram>& durations_;
  observability::gauge& active_;
  observability::counter& rejected_;
  observability::counter& rejected_client_;
  std::shared_mutex mtx_;
  std::unordered_map<std::string, series> cache_;
};

} // namespace troupe::http
