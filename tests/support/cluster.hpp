#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/node.hpp"

namespace troupe::testing {

/// A throwaway certificate authority for a cluster and node certificates it signed, made by
/// scripts/cluster-certs in a temporary folder that goes with the object.
class test_certs {
public:
  test_certs();
  ~test_certs();
  test_certs(const test_certs&) = delete;
  test_certs& operator=(const test_certs&) = delete;

  /// The flags that give node `name` its certificate (made on first use) and the CA.
  std::vector<std::string> flags_for(const std::string& name);
  /// Paths of `name`'s certificate and key (made on first use), and of the CA.
  std::string cert(const std::string& name);
  std::string key(const std::string& name);
  std::string ca() const { return dir_ + "/ca.pem"; }

private:
  void make(const std::string& name);
  std::string dir_;
};

/// troupe-node processes forming one cluster on loopback, each on its own cluster port,
/// seeded with the first node's, over mutual TLS with certificates of one throwaway CA.
/// Every process is killed when the cluster is destroyed.
class test_cluster {
public:
  /// The admin token every node is started with.
  static constexpr const char* admin_token = "cluster-admin";
  /// The cluster secret every node is started with unless told otherwise.
  static constexpr const char* secret = "cluster-test-secret-0123";

  /// One node.
  struct member {
    std::string name;
    uint16_t cluster_port = 0;
    std::vector<std::string> flags;
    std::unique_ptr<running_node> node;
  };

  /// Nodes get `common` on top of the cluster flags (e.g. the store), and run through
  /// `wrapper` if given.
  explicit test_cluster(std::vector<std::string> common = {}, std::vector<std::string> wrapper = {})
      : common_(std::move(common)), wrapper_(std::move(wrapper)) {}

  /// The cluster's certificate authority (e.g. to give a rogue peer a valid certificate).
  test_certs& certs() { return certs_; }

  /// Starts `name` on a fresh cluster port, with `extra` flags and `with_secret`; seeded with
  /// the first node unless `extra` names its own `--seeds`.
  member& start(const std::string& name, std::vector<std::string> extra = {},
                const std::string& with_secret = secret);

  /// Kills `m` and starts it again with the same flags and ports (a new incarnation).
  void restart(member& m);

  /// Node `i` in start order.
  member& operator[](size_t i) { return nodes_[i]; }

  /// The nodes in start order.
  std::deque<member>& nodes() { return nodes_; }

  /// The view of `m` as its /admin/cluster shows it (an empty object if it does not answer).
  static nlohmann::json view(member& m);

  /// The state and incarnation of `name` in the view of `m` ("" if unknown).
  static std::pair<std::string, std::string> state_of(member& m, const std::string& name);

  /// Polls until `m` sees `name` in `state`, for at most `limit`; returns how long it took.
  static std::optional<std::chrono::steady_clock::duration>
  await_state(member& m, const std::string& name, const std::string& state,
              std::chrono::steady_clock::duration limit = std::chrono::seconds(10));

  /// Waits until every node sees every node up; returns an explanation if not.
  std::optional<std::string> await_all_up(std::chrono::seconds limit = std::chrono::seconds(15));

  /// The value of the sample line `series` in the /metrics of `m`; -1 if there is none.
  static double metric(member& m, const std::string& series);

private:
  std::vector<std::string> common_;
  std::vector<std::string> wrapper_;
  std::deque<member> nodes_;
  test_certs certs_;
};

} // namespace troupe::testing
