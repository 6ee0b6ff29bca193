#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe::testing {

/// The objects `kubectl kustomize` rendered, as JSON.
class manifests {
public:
  explicit manifests(nlohmann::json objects);

  /// The object of `kind` named `name`; throws if there is none.
  const nlohmann::json& get(const std::string& kind, const std::string& name) const;

  /// Every object of `kind`.
  std::vector<const nlohmann::json*> all(const std::string& kind) const;

  /// The keys and decoded values of Secret or ConfigMap `name`.
  std::map<std::string, std::string> data_of(const std::string& kind,
                                             const std::string& name) const;

private:
  nlohmann::json objects_;
};

/// A probe as the kubelet runs it: an HTTP GET or a command in the container.
struct probe {
  std::string path;
  uint16_t port = 0;
  std::vector<std::string> exec;
  int period_seconds = 10;
  int failure_threshold = 3;
};

/// Where a pod runs and what the downward API tells it.
struct pod_identity {
  std::string name;
  std::string ip;
  std::string ns = "default";
};

/// The first container of a pod template, turned into what `podman run` needs, with every
/// reference (ConfigMap, Secret, downward API, volumes) resolved as the kubelet would.
struct pod_plan {
  std::string name;
  std::string image;
  /// Command and arguments (empty: the image's entrypoint).
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  /// podman run flags for security settings, mounts and limits.
  std::vector<std::string> flags;
  std::optional<probe> startup, liveness, readiness;
  /// terminationGracePeriodSeconds.
  int grace_seconds = 30;
  /// Seconds of a preStop sleep (0 if there is none).
  int pre_stop_seconds = 0;
  /// The effective user (nullopt: the image's) and whether it must not be root.
  std::optional<int64_t> run_as_user;
  bool run_as_non_root = false;
  bool read_only_root = false;
  /// Named container ports.
  std::map<std::string, uint16_t> ports;
};

/// Plans the pod of `workload` (a Deployment or StatefulSet) for `id`; files the pod's
/// volumes need (Secrets, claims) are written below `volumes`.
pod_plan plan_pod(const manifests& m, const nlohmann::json& workload, const pod_identity& id,
                  const std::string& volumes);

} // namespace troupe::testing
