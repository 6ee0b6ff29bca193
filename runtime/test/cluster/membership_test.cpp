// Membership transitions with simulated time: hello, leave, down, restarts with a new
// incarnation, late notices about an old life, pruning, and the placement candidates.

#include <gtest/gtest.h>

#include "troupe/cluster/membership.hpp"

namespace troupe::cluster {
namespace {

using namespace std::chrono_literals;
using clock = membership::clock;

member node(std::string name, std::string incarnation,
            std::vector<std::string> roles = {"user", "order"}) {
  return member{std::move(name),  std::move(incarnation), "127.0.0.1:7000",
                std::move(roles), member_state::joining,  {}};
}

class cluster_membership : public ::testing::Test {
protected:
  clock::time_point t0{};
  membership view{node("a", "a1")};
};

TEST_F(cluster_membership, this_node_starts_joining_and_owns_nothing_until_up) {
  EXPECT_EQ(view.self().state, member_state::joining);
  EXPECT_TRUE(view.hosts("user").empty());
  auto c = view.set_self(member_state::up, t0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->from, member_state::joining);
  EXPECT_EQ(view.hosts("user"), std::vector<std::string>{"a"});
}

TEST_F(cluster_membership, a_hello_brings_a_peer_up_once) {
  view.set_self(member_state::up, t0);
  auto first = view.on_hello(node("b", "b1"), t0 + 1s);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_FALSE(first[0].from.has_value());
  EXPECT_EQ(first[0].to, member_state::up);
  EXPECT_TRUE(view.on_hello(node("b", "b1"), t0 + 2s).empty()) << "heard again, nothing new";
  EXPECT_EQ(view.hosts("order"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(view.find("b")->since, t0 + 1s);
}

TEST_F(cluster_membership, only_up_members_hosting_the_role_are_candidates) {
  view.set_self(member_state::up, t0);
  view.on_hello(node("b", "b1", {"notification"}), t0);
  view.on_hello(node("c", "c1"), t0);
  view.on_leaving("c", "c1", t0 + 1s);
  EXPECT_EQ(view.hosts("user"), std::vector<std::string>{"a"});
  EXPECT_EQ(view.hosts("notification"), std::vector<std::string>{"b"});
  EXPECT_EQ(view.count(member_state::leaving), 1u);
}

TEST_F(cluster_membership, a_down_peer_comes_back_only_through_a_new_handshake) {
  view.on_hello(node("b", "b1"), t0);
  auto down = view.on_down("b", "b1", t0 + 1s);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->from, member_state::up);
  EXPECT_FALSE(view.on_down("b", "b1", t0 + 2s)) << "a second notice changes nothing";
  EXPECT_EQ(view.hosts("user"), std::vector<std::string>{}) << "this node is still joining";
  // The same life after a freeze: its handshake brings it back.
  auto thawed = view.on_hello(node("b", "b1"), t0 + 3s);
  ASSERT_EQ(thawed.size(), 1u);
  EXPECT_EQ(thawed[0].from, member_state::down);
  EXPECT_EQ(view.find("b")->state, member_state::up);
  // A restart: the new life replaces it.
  view.on_down("b", "b1", t0 + 4s);
  auto back = view.on_hello(node("b", "b2"), t0 + 5s);
  ASSERT_EQ(back.size(), 1u) << "already down: only the new life joins";
  EXPECT_EQ(view.find("b")->incarnation, "b2");
  EXPECT_EQ(view.find("b")->state, member_state::up);
}

TEST_F(cluster_membership, a_leaving_peer_stays_leaving_when_heard_again) {
  view.on_hello(node("b", "b1"), t0);
  view.on_leaving("b", "b1", t0 + 1s);
  EXPECT_TRUE(view.on_hello(node("b", "b1"), t0 + 2s).empty());
  EXPECT_EQ(view.find("b")->state, member_state::leaving);
}

TEST_F(cluster_membership, a_restart_seen_before_the_old_life_went_down_takes_it_down_first) {
  view.on_hello(node("b", "b1"), t0);
  auto changes = view.on_hello(node("b", "b2"), t0 + 1s);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].incarnation, "b1");
  EXPECT_EQ(changes[0].to, member_state::down);
  EXPECT_EQ(changes[1].incarnation, "b2");
  EXPECT_EQ(changes[1].to, member_state::up);
}

TEST_F(cluster_membership, late_notices_about_an_old_life_leave_the_new_one_alone) {
  view.on_hello(node("b", "b1"), t0);
  view.on_hello(node("b", "b2"), t0 + 1s);
  EXPECT_FALSE(view.on_down("b", "b1", t0 + 2s));
  EXPECT_FALSE(view.on_leaving("b", "b1", t0 + 2s));
  EXPECT_EQ(view.find("b")->state, member_state::up);
}

TEST_F(cluster_membership, nobody_can_take_this_node_down_or_replace_it) {
  view.set_self(member_state::up, t0);
  EXPECT_FALSE(view.on_down("a", "a1", t0));
  EXPECT_TRUE(view.on_hello(node("a", "other"), t0).empty());
  EXPECT_EQ(view.self().incarnation, "a1");
  EXPECT_EQ(view.self().state, member_state::up);
}

TEST_F(cluster_membership, leaving_is_one_way_for_this_node) {
  view.set_self(member_state::up, t0);
  ASSERT_TRUE(view.set_self(member_state::leaving, t0 + 1s));
  EXPECT_FALSE(view.set_self(member_state::up, t0 + 2s));
  EXPECT_EQ(view.self().state, member_state::leaving);
  EXPECT_TRUE(view.hosts("user").empty()) << "a leaving node owns nothing new";
}

TEST_F(cluster_membership, down_peers_are_forgotten_after_the_grace_period_only) {
  view.on_hello(node("b", "b1"), t0);
  view.on_hello(node("c", "c1"), t0);
  view.on_down("b", "b1", t0 + 1s);
  view.prune(t0 + 30s, 60s);
  EXPECT_NE(view.find("b"), nullptr) << "still within the grace period";
  view.prune(t0 + 62s, 60s);
  EXPECT_EQ(view.find("b"), nullptr);
  EXPECT_NE(view.find("c"), nullptr) << "up members are never pruned";
  EXPECT_EQ(view.members().size(), 2u);
}

} // namespace
} // namespace troupe::cluster
