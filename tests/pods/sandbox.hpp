#pragma once

#include <map>
#include <string>
#include <vector>

#include "pods/manifests.hpp"

namespace troupe::testing {

/// A network namespace of the test's own with one podman network in it, which the calling
/// thread enters (so the test reaches pod addresses and nothing else does). Pods run on that
/// network; destroying the sandbox removes every pod, the network, the namespace and the
/// volume folders, whatever happened before.
class pod_sandbox {
public:
  /// Makes namespace and network `name` with addresses 198.18.`subnet`.0/24.
  pod_sandbox(std::string name, int subnet);
  ~pod_sandbox();
  pod_sandbox(const pod_sandbox&) = delete;
  pod_sandbox& operator=(const pod_sandbox&) = delete;

  /// The `host`-th address of the network.
  std::string address(int host) const;

  /// Folder for the pods' volumes.
  const std::string& volumes() const { return volumes_; }

  /// Starts `plan` as container `plan.name` at `ip`, reachable under each of `aliases` in
  /// the network's DNS (what a Service name resolves to in Kubernetes).
  void run(const pod_plan& plan, const std::string& ip, const std::vector<std::string>& aliases);

  /// podman `verb` (kill, start, ...) on pod `name` with `extra` arguments; returns stdout.
  std::string podman(const std::vector<std::string>& args) const;

  /// The exit code of pod `name` after it stopped.
  int exit_code(const std::string& name) const;

private:
  std::string name_;
  int subnet_;
  std::string volumes_;
  std::vector<std::string> pods_;
  bool network_ = false;
};

} // namespace troupe::testing
