// Membership with real node processes on loopback: joining through one seed, a killed
// node, a frozen one that thaws, a restart, and peers that must be refused.

#include <csignal>
#include <memory>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cluster.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

class cluster_membership_process : public ::testing::Test {
protected:
  /// Starts n1..n3 and waits until every node sees every other up.
  void start_three() {
    cluster_.start("n1");
    cluster_.start("n2");
    cluster_.start("n3");
    auto problem = cluster_.await_all_up();
    ASSERT_FALSE(problem) << *problem;
  }

  test_cluster::member& node(size_t i) { return cluster_[i]; }

  test_cluster cluster_;
};

TEST_F(cluster_membership_process, three_nodes_joined_through_one_seed_all_see_each_other) {
  start_three();
  auto v = test_cluster::view(node(1));
  EXPECT_EQ(v["node"], "n2");
  ASSERT_EQ(v["members"].size(), 3u) << v.dump();
  EXPECT_EQ(v["members"][0]["name"], "n2") << "this node first";
  EXPECT_EQ(v["members"][0]["roles"], (nlohmann::json{"gateway", "user", "order", "notification"}));
  EXPECT_EQ(test_cluster::metric(node(2), "troupe_cluster_members{state=\"up\"}"), 3);
  auto denied = node(0).node->get("/admin/cluster");
  EXPECT_EQ(denied.status, 401) << "the view is admin-only";
}

TEST_F(cluster_membership_process, a_killed_node_is_marked_down_within_a_second) {
  start_three();
  node(2).node->proc.signal(SIGKILL);
  for (int i = 0; i < 2; ++i) {
    auto took = test_cluster::await_state(node(static_cast<size_t>(i)), "n3", "down", 1s);
    ASSERT_TRUE(took) << node(static_cast<size_t>(i)).name << " still sees n3 "
                      << test_cluster::state_of(node(static_cast<size_t>(i)), "n3").first;
  }
  EXPECT_EQ(test_cluster::metric(node(0), "troupe_cluster_members{state=\"down\"}"), 1);
  // The dead peer's broken TLS session must not take the survivors' connection with it: watch
  // them for a while after the loss.
  std::this_thread::sleep_for(1s);
  for (size_t i = 0; i < 2; ++i)
    EXPECT_EQ(test_cluster::metric(node(i), "troupe_cluster_node_down_total"), 1)
        << node(i).name << " lost more than n3";
}

TEST_F(cluster_membership_process, a_frozen_node_is_marked_down_within_a_second_and_rejoins) {
  start_three();
  auto before = test_cluster::state_of(node(0), "n3").second;
  node(2).node->proc.signal(SIGSTOP);
  auto took = test_cluster::await_state(node(0), "n3", "down", 1s);
  node(2).node->proc.signal(SIGCONT); // before any assertion can leave it frozen
  ASSERT_TRUE(took) << "n1 still sees the frozen n3 "
                    << test_cluster::state_of(node(0), "n3").first;
  ASSERT_TRUE(test_cluster::await_state(node(0), "n3", "up", 10s))
      << "n3 did not rejoin after SIGCONT";
  EXPECT_EQ(test_cluster::state_of(node(0), "n3").second, before) << "the same life, back";
  ASSERT_TRUE(test_cluster::await_state(node(2), "n1", "up", 10s)) << "n3 does not see n1 again";
}

TEST_F(cluster_membership_process, a_restarted_node_rejoins_as_a_new_incarnation) {
  start_three();
  auto before = test_cluster::state_of(node(0), "n3").second;
  cluster_.restart(node(2));
  auto deadline = clock::now() + 10s;
  std::pair<std::string, std::string> now;
  while (clock::now() < deadline) {
    now = test_cluster::state_of(node(0), "n3");
    if (now.first == "up" && now.second != before)
      break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(now.first, "up");
  EXPECT_NE(now.second, before) << "still the old incarnation";
  EXPECT_TRUE(test_cluster::await_state(node(2), "n2", "up")) << "the new n3 did not learn n2";
}

TEST_F(cluster_membership_process, a_node_is_not_ready_until_it_has_tried_every_peer_it_knows) {
  // A seed that takes connections and never speaks: the handshake with it runs into its
  // timeout (2 s), and until then the node must not serve as if it were alone.
  int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(silent, 8), 0);
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto seed = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto& n = cluster_.start("n1", {"--seeds", seed});
  auto first = n.node->get("/readyz");
  EXPECT_EQ(first.status, 503) << first.body;
  EXPECT_NE(first.body.find("cluster: "), std::string::npos) << first.body;
  auto deadline = clock::now() + 10s;
  auto r = first;
  while (r.status != 200 && clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
    r = n.node->get("/readyz");
  }
  EXPECT_EQ(r.status, 200) << "still not ready once the silent seed timed out: " << r.body;
  ::close(silent);
}

TEST_F(cluster_membership_process, a_node_with_a_wrong_secret_is_refused_on_both_sides) {
  cluster_.start("n1");
  auto& intruder = cluster_.start("n9", {}, "not-the-cluster-secret");
  ASSERT_TRUE(intruder.node->proc.wait_for_line("refused this node", 10s))
      << intruder.node->proc.err();
  ASSERT_TRUE(node(0).node->proc.wait_for_line("wrong cluster secret", 5s));
  EXPECT_EQ(test_cluster::state_of(node(0), "n9").first, "") << "n1 must not list the intruder";
  EXPECT_EQ(test_cluster::state_of(intruder, "n1").first, "") << "the intruder must not list n1";
}

TEST_F(cluster_membership_process, a_node_with_this_nodes_name_is_refused) {
  cluster_.start("n1");
  auto& twin = cluster_.start("n1");
  ASSERT_TRUE(twin.node->proc.wait_for_line("refused this node", 10s)) << twin.node->proc.err();
  auto v = test_cluster::view(node(0));
  EXPECT_EQ(v["members"].size(), 1u) << v.dump();
}

// CAF derives its node id from the MAC addresses, a disk id and the pid: two processes that
// are pid 1 in their own pid namespaces on one host (as containers from one image are)
// collide. CAF would answer the peer locally, as if it were this node.
TEST(cluster_membership_collision, two_nodes_with_the_same_caf_node_id_are_refused) {
  auto pid_one = pid_one_wrapper();
  if (!pid_one)
    GTEST_SKIP() << "no pid namespaces here";
  test_cluster cluster{{}, *pid_one};
  cluster.start("c1");
  auto& c2 = cluster.start("c2");
  ASSERT_NE(c2.node->port, 0) << c2.node->proc.err();
  auto line = c2.node->proc.wait_for_line("refusing the peer", 10s);
  ASSERT_TRUE(line) << c2.node->proc.err();
  EXPECT_NE(line->find("CAF node id"), std::string::npos) << *line;
  EXPECT_EQ(test_cluster::state_of(c2, "c1").first, "");
  EXPECT_EQ(test_cluster::state_of(cluster[0], "c2").first, "");
}

} // namespace
} // namespace troupe::testing
