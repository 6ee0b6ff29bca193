#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sandbox.hpp"

namespace troupe::chaos_harness {

/// The admin account and token every node is started with.
struct credentials {
  std::string admin_token = "chaos-admin-token-0123456789";
  std::string admin_email = "chaos-admin@example.org";
  std::string admin_password = "chaos-admin-password";
};

/// The campaign's troupe-node processes, one per node namespace, each on its own address with
/// the same ports, over mutual TLS, with --chaos; stdout and stderr of every incarnation are
/// appended to `<logs>/<name>.log`. The calling thread must be able to reach the node
/// addresses (it lives in the client namespace). Safe to call from several threads.
class node_set {
public:
  /// The HTTP and cluster ports every node uses.
  static constexpr std::uint16_t http_port = 8080;
  static constexpr std::uint16_t cluster_port = 7000;

  node_set(const sandbox& box, int count, std::string db_url, std::filesystem::path logs,
           credentials creds);
  ~node_set();
  node_set(const node_set&) = delete;
  node_set& operator=(const node_set&) = delete;

  /// Whether the node binary has the fault API (--chaos).
  static bool has_chaos_api();

  /// Node names ("node-1", ...) in start order.
  const std::vector<std::string>& names() const { return names_; }
  /// Index (1-based) of `name`; 0 if unknown.
  int index(const std::string& name) const;
  /// The address of node `name`.
  std::string address(const std::string& name) const;

  /// Starts `name` (a new incarnation if it ran before).
  void start(const std::string& name);
  /// Sends `sig` to `name`'s process if it runs.
  void signal(const std::string& name, int sig);
  /// Waits up to `limit` for `name` to exit; returns whether it did (or was not running).
  bool wait_exit(const std::string& name, std::chrono::milliseconds limit);
  /// Whether `name`'s process runs (reaps it if it ended).
  bool alive(const std::string& name);
  /// Whether `name` answers /readyz with 200.
  bool ready(const std::string& name) const;
  /// Polls until `name` is ready, for at most `limit`.
  bool wait_ready(const std::string& name, std::chrono::milliseconds limit) const;

  /// The node's view of the cluster (/admin/cluster); an empty object if it does not answer.
  nlohmann::json view(const std::string& name) const;
  /// Whether every node sees every node up.
  bool converged() const;

  /// Sends an admin request to `name`; the status (0: no answer) and body.
  std::pair<int, std::string> admin(const std::string& name, const std::string& method,
                                    const std::string& target, const std::string& body = {}) const;

  /// Kills every process (SIGKILL) and waits for them.
  void kill_all();

private:
  std::vector<std::string> argv_for(int i) const;

  const sandbox& box_;
  std::string db_url_;
  std::filesystem::path logs_;
  credentials creds_;
  std::string certs_;
  std::vector<std::string> names_;
  std::vector<pid_t> pids_;
  mutable std::mutex mtx_;
};

} // namespace troupe::chaos_harness
