#include "http/http_metrics.hpp"

#include <mutex>

namespace troupe::http {

std::string status_class(unsigned status) {
  if (status < 100 || status > 599)
    return "other";
  return std::to_string(status / 100) + "xx";
}

http_metrics::http_metrics(observability::registry& reg)
    : requests_(reg.counters("troupe_http_requests_total", "HTTP requests answered.",
                             {"route", "method", "status"})),
      // Seventeen series per label set: the status class keeps them few.
      durations_(reg.histograms("troupe_http_request_duration_seconds",
                                "Time from a complete request read to its response written.",
                                {"route", "method", "status_class"})),
      active_(reg.gauges("troupe_http_connections_active", "Open HTTP connections.").with({})),
      rejected_(reg.counters("troupe_http_connections_rejected_total",
                             "HTTP connections closed at once because of max_connections.")
                    .with({})),
      rejected_client_(
          reg.counters("troupe_http_connections_rejected_per_client_total",
                       "HTTP connections closed at once because of max_connections_per_client.")
              .with({})) {}

void http_metrics::record(std::string_view route, std::string_view method, unsigned status,
                          double seconds) {
  auto code = std::to_string(status);
  // Built in a per-thread buffer: looking up a known series allocates nothing.
  thread_local std::string key;
  key.clear();
  key.append(route).append(1, '\n').append(method).append(1, '\n').append(code);
  series s{};
  {
    std::shared_lock guard{mtx_};
    if (auto i = cache_.find(key); i != cache_.end())
      s = i->second;
  }
  if (s.requests == nullptr) {
    observability::label_values labels{std::string{route}, std::string{method}, code};
    auto& requests = requests_.with(labels);
    labels.back() = status_class(status);
    s = series{&requests, &durations_.with(labels)};
    std::unique_lock guard{mtx_};
    cache_.emplace(key, s);
  }
  s.requests->inc();
  s.duration->observe(seconds);
}

} // namespace troupe::http
