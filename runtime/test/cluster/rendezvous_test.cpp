// Rendezvous hashing: the same owner everywhere, an even spread, and minimal movement when
// a member joins or leaves.

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "troupe/cluster/rendezvous.hpp"

namespace troupe::cluster {
namespace {

std::vector<std::string> keys(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back("sku-" + std::to_string(i));
  return out;
}

std::map<std::string, std::string> owners(const std::vector<std::string>& ks,
                                          const std::vector<std::string>& members) {
  std::map<std::string, std::string> out;
  for (const auto& k : ks)
    out[k] = *owner_of(k, members);
  return out;
}

TEST(cluster_rendezvous, no_members_means_no_owner) {
  EXPECT_FALSE(owner_of("k", {}).has_value());
}

TEST(cluster_rendezvous, the_owner_does_not_depend_on_the_order_of_members) {
  for (const auto& k : keys(200))
    EXPECT_EQ(owner_of(k, {"a", "b", "c"}), owner_of(k, {"c", "a", "b"})) << k;
}

TEST(cluster_rendezvous, scores_are_fixed_across_processes) {
  // Nodes of different builds and starts must agree: the score is a pure function.
  EXPECT_EQ(rendezvous_score("node-1", "sku-1"), rendezvous_score("node-1", "sku-1"));
  EXPECT_NE(rendezvous_score("ab", "c"), rendezvous_score("a", "bc"));
  EXPECT_NE(rendezvous_score("node-1", "sku-1"), rendezvous_score("node-2", "sku-1"));
}

TEST(cluster_rendezvous, ten_thousand_keys_spread_within_15_percent_over_three_nodes) {
  std::map<std::string, size_t> per_node;
  for (const auto& [k, owner] : owners(keys(10000), {"node-1", "node-2", "node-3"}))
    ++per_node[owner];
  ASSERT_EQ(per_node.size(), 3u);
  for (const auto& [node, n] : per_node) {
    EXPECT_GE(n, 10000 / 3 * 85 / 100) << node;
    EXPECT_LE(n, 10000 / 3 * 115 / 100) << node;
  }
}

TEST(cluster_rendezvous, a_join_moves_only_keys_to_the_new_node_and_about_a_quarter) {
  auto ks = keys(10000);
  auto before = owners(ks, {"node-1", "node-2", "node-3"});
  auto after = owners(ks, {"node-1", "node-2", "node-3", "node-4"});
  size_t moved = 0;
  for (const auto& k : ks) {
    if (before[k] == after[k])
      continue;
    ++moved;
    EXPECT_EQ(after[k], "node-4") << k << " moved between old nodes";
  }
  EXPECT_GE(moved, 10000u / 4 * 85 / 100);
  EXPECT_LE(moved, 10000u / 4 * 115 / 100);
}

TEST(cluster_rendezvous, a_leave_moves_only_the_keys_of_the_node_that_left) {
  auto ks = keys(10000);
  auto before = owners(ks, {"node-1", "node-2", "node-3"});
  auto after = owners(ks, {"node-1", "node-3"});
  for (const auto& k : ks) {
    if (before[k] != "node-2")
      EXPECT_EQ(before[k], after[k]) << k << " moved although its owner stayed";
    else
      EXPECT_NE(after[k], "node-2");
  }
}

} // namespace
} // namespace troupe::cluster
