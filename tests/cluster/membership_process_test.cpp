// Membership with real node processes on loopback: joining through one seed, a killed
// node, a frozen one that thaws, a restart, and peers that must be refused.

#include <csignal>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/loopback_server.hpp"
#include "support/node.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr const char* secret = "cluster-test-secret-0123";
constexpr const char* admin = "cluster-admin";

/// One node of the test cluster with its cluster port.
struct cluster_node {
  std::string name;
  uint16_t cluster_port = 0;
  std::unique_ptr<running_node> node;
};

class cluster_membership_process : public ::testing::Test {
protected:
  /// Starts `name` on a fresh cluster port, seeded with node 1's (if any).
  cluster_node& start(const std::string& name, std::string with_secret = secret,
                      std::vector<std::string> extra = {}) {
    cluster_node n{name, loopback_server::unused_port(), nullptr};
    std::vector<std::string> flags{"--node-name",      name,
                                   "--admin-token",    admin,
                                   "--cluster-host",   "127.0.0.1",
                                   "--advertise-host", "127.0.0.1",
                                   "--cluster-port",   std::to_string(n.cluster_port),
                                   "--cluster-secret", with_secret};
    if (!nodes_.empty()) {
      flags.push_back("--seeds");
      flags.push_back("127.0.0.1:" + std::to_string(nodes_.front().cluster_port));
    }
    flags.insert(flags.end(), extra.begin(), extra.end());
    n.node = std::make_unique<running_node>(flags);
    EXPECT_NE(n.node->port, 0) << n.node->proc.err();
    nodes_.push_back(std::move(n));
    return nodes_.back();
  }

  /// Restarts `n` on the same ports (a new incarnation of the same name).
  void restart(cluster_node& n) {
    n.node->proc.signal(SIGKILL);
    n.node->proc.wait_exit(5s);
    std::vector<std::string> flags{
        "--node-name",      n.name,
        "--admin-token",    admin,
        "--cluster-host",   "127.0.0.1",
        "--advertise-host", "127.0.0.1",
        "--cluster-port",   std::to_string(n.cluster_port),
        "--cluster-secret", secret,
        "--seeds",          "127.0.0.1:" + std::to_string(nodes_.front().cluster_port)};
    n.node = std::make_unique<running_node>(flags);
  }

  /// The view of `n` as /admin/cluster shows it.
  static nlohmann::json view(cluster_node& n) {
    auto reply = n.node->get("/admin/cluster", {{"Authorization", std::string{"Bearer "} + admin}});
    if (reply.status != 200)
      return nlohmann::json::object();
    return nlohmann::json::parse(reply.body);
  }

  /// The state of `name` in the view of `n` ("" if unknown) and its incarnation.
  static std::pair<std::string, std::string> state_of(cluster_node& n, const std::string& name) {
    auto v = view(n);
    for (const auto& m : v.value("members", nlohmann::json::array()))
      if (m["name"] == name)
        return {m["state"].get<std::string>(), m["incarnation"].get<std::string>()};
    return {"", ""};
  }

  /// Polls until `n` sees `name` in `state`, for at most `limit`; returns how long it took.
  static std::optional<clock::duration> await_state(cluster_node& n, const std::string& name,
                                                    const std::string& state,
                                                    clock::duration limit = 10s) {
    auto start = clock::now();
    while (clock::now() - start < limit) {
      if (state_of(n, name).first == state)
        return clock::now() - start;
      std::this_thread::sleep_for(10ms);
    }
    return std::nullopt;
  }

  /// Starts n1..n3 and waits until every node sees every other up.
  void start_three() {
    start("n1");
    start("n2");
    start("n3");
    for (auto& viewer : nodes_)
      for (auto& seen : nodes_)
        ASSERT_TRUE(await_state(viewer, seen.name, "up"))
            << viewer.name << " never saw " << seen.name << " up: " << view(viewer).dump() << "\n"
            << viewer.node->proc.err();
  }

  static double metric(cluster_node& n, const std::string& series) {
    auto body = n.node->get("/metrics").body;
    auto at = body.find("\n" + series + " "); // a sample line, not its # HELP line
    return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 2));
  }

  std::vector<cluster_node> nodes_;
};

TEST_F(cluster_membership_process, three_nodes_joined_through_one_seed_all_see_each_other) {
  start_three();
  auto v = view(nodes_[1]);
  EXPECT_EQ(v["node"], "n2");
  ASSERT_EQ(v["members"].size(), 3u) << v.dump();
  EXPECT_EQ(v["members"][0]["name"], "n2") << "this node first";
  EXPECT_EQ(v["members"][0]["roles"], (nlohmann::json{"gateway", "user", "order", "notification"}));
  EXPECT_EQ(metric(nodes_[2], "troupe_cluster_members{state=\"up\"}"), 3);
  auto denied = nodes_[0].node->get("/admin/cluster");
  EXPECT_EQ(denied.status, 401) << "the view is admin-only";
}

TEST_F(cluster_membership_process, a_killed_node_is_marked_down_within_a_second) {
  start_three();
  nodes_[2].node->proc.signal(SIGKILL);
  for (int i = 0; i < 2; ++i) {
    auto took = await_state(nodes_[static_cast<size_t>(i)], "n3", "down", 1s);
    ASSERT_TRUE(took) << nodes_[static_cast<size_t>(i)].name << " still sees n3 "
                      << state_of(nodes_[static_cast<size_t>(i)], "n3").first;
  }
  EXPECT_EQ(metric(nodes_[0], "troupe_cluster_node_down_total"), 1);
  EXPECT_EQ(metric(nodes_[0], "troupe_cluster_members{state=\"down\"}"), 1);
}

TEST_F(cluster_membership_process, a_frozen_node_is_marked_down_within_a_second_and_rejoins) {
  start_three();
  auto before = state_of(nodes_[0], "n3").second;
  nodes_[2].node->proc.signal(SIGSTOP);
  auto took = await_state(nodes_[0], "n3", "down", 1s);
  nodes_[2].node->proc.signal(SIGCONT); // before any assertion can leave it frozen
  ASSERT_TRUE(took) << "n1 still sees the frozen n3 " << state_of(nodes_[0], "n3").first;
  ASSERT_TRUE(await_state(nodes_[0], "n3", "up", 10s)) << "n3 did not rejoin after SIGCONT";
  EXPECT_EQ(state_of(nodes_[0], "n3").second, before) << "the same life, back";
  ASSERT_TRUE(await_state(nodes_[2], "n1", "up", 10s)) << "n3 does not see n1 again";
}

TEST_F(cluster_membership_process, a_restarted_node_rejoins_as_a_new_incarnation) {
  start_three();
  auto before = state_of(nodes_[0], "n3").second;
  restart(nodes_[2]);
  auto deadline = clock::now() + 10s;
  std::pair<std::string, std::string> now;
  while (clock::now() < deadline) {
    now = state_of(nodes_[0], "n3");
    if (now.first == "up" && now.second != before)
      break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(now.first, "up");
  EXPECT_NE(now.second, before) << "still the old incarnation";
  EXPECT_TRUE(await_state(nodes_[2], "n2", "up")) << "the new n3 did not learn n2";
}

TEST_F(cluster_membership_process, a_node_with_a_wrong_secret_is_refused_on_both_sides) {
  start("n1");
  auto& intruder = start("n9", "not-the-cluster-secret");
  ASSERT_TRUE(intruder.node->proc.wait_for_line("refused this node", 10s))
      << intruder.node->proc.err();
  ASSERT_TRUE(nodes_[0].node->proc.wait_for_line("wrong cluster secret", 5s));
  EXPECT_EQ(state_of(nodes_[0], "n9").first, "") << "n1 must not list the intruder";
  EXPECT_EQ(state_of(intruder, "n1").first, "") << "the intruder must not list n1";
}

TEST_F(cluster_membership_process, a_node_with_this_nodes_name_is_refused) {
  start("n1");
  auto& twin = start("n1");
  ASSERT_TRUE(twin.node->proc.wait_for_line("refused this node", 10s)) << twin.node->proc.err();
  auto v = view(nodes_[0]);
  EXPECT_EQ(v["members"].size(), 1u) << v.dump();
}

} // namespace
} // namespace troupe::testing
