#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pods/manifests.hpp"
#include "pods/sandbox.hpp"

namespace troupe::testing {

/// True if `p` passes for the pod at `ip` now (an HTTP GET answering 2xx-3xx, or a command
/// in container `name` exiting 0).
bool probe_passes(const pod_sandbox& box, const std::string& name, const std::string& ip,
                  const probe& p);

/// Polls `p` until it passes, for at most `limit`; false if it never did.
bool await_probe(const pod_sandbox& box, const std::string& name, const std::string& ip,
                 const probe& p, std::chrono::milliseconds limit);

/// What a Service does for clients: the addresses of the pods whose readiness probe passes,
/// refreshed every `refresh`; a pod marked terminating drops out at the next refresh, as
/// endpoints do when a pod is deleted.
class service_view {
public:
  struct endpoint {
    std::string name;
    std::string ip;
    probe readiness;
  };

  service_view(const pod_sandbox& box, std::vector<endpoint> pods,
               std::chrono::milliseconds refresh);
  ~service_view();

  /// How many pods are ready as of the last refresh.
  size_t ready_count();

  /// The next ready address, round robin ("" if none is ready).
  std::string pick();

  /// Takes `name` out from the next refresh until `ready_again`.
  void terminating(const std::string& name);
  void ready_again(const std::string& name);

private:
  void loop();

  const pod_sandbox& box_;
  std::vector<endpoint> pods_;
  std::chrono::milliseconds refresh_;
  std::mutex mtx_;
  std::vector<std::string> ready_;
  std::vector<std::string> terminating_;
  size_t next_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

} // namespace troupe::testing
