#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <gtest/gtest.h>

#include "pods/command.hpp"
#include "sandbox.hpp"

namespace troupe::chaos_harness {
namespace {

bool can_make_namespaces() {
  return ::geteuid() == 0 && testing::run_command({"ip", "netns", "list"}).code == 0;
}

std::string links_in_root() {
  return testing::run_command({"ip", "-o", "link"}).out;
}

TEST(sandbox, is_wired_and_leaves_nothing_behind) {
  if (!can_make_namespaces())
    GTEST_SKIP() << "needs root and ip netns";
  auto root_links = links_in_root();
  std::string prefix;
  std::string scratch;
  {
    sandbox box{2};
    prefix = "troupe-chaos-" + std::to_string(box.run()) + "-";
    scratch = box.scratch();
    auto made = sandbox::leftovers();
    EXPECT_EQ(std::count_if(made.begin(), made.end(),
                            [&](const std::string& n) { return n.rfind(prefix, 0) == 0; }),
              5); // switch, db, client, two nodes
    EXPECT_TRUE(std::filesystem::is_directory(scratch));
    EXPECT_EQ(links_in_root(), root_links) << "nothing goes into the root namespace";
    // The client's way to a node is the bridge; nothing routes beyond the subnet.
    auto to_node =
        testing::run_command({"ip", "-n", box.client_ns(), "route", "get", box.node_ip(2)});
    EXPECT_NE(to_node.out.find("dev eth0"), std::string::npos) << to_node.out << to_node.err;
    EXPECT_NE(testing::run_command({"ip", "-n", box.node_ns(1), "route", "get", "192.0.2.1"}).code,
              0);
  }
  for (const auto& n : sandbox::leftovers())
    EXPECT_NE(n.rfind(prefix, 0), 0u) << n << " is left";
  EXPECT_FALSE(std::filesystem::exists(scratch));
  EXPECT_EQ(links_in_root(), root_links);
}

TEST(sandbox, removes_what_a_crashed_run_left) {
  if (!can_make_namespaces())
    GTEST_SKIP() << "needs root and ip netns";
  // A crashed campaign holds no lock: its namespaces are stale for whoever takes its number.
  std::vector<std::string> stale;
  for (int run = 160; run <= 199; ++run)
    stale.push_back("troupe-chaos-" + std::to_string(run) + "-node-9");
  for (const auto& n : stale)
    testing::run_command({"ip", "netns", "add", n});
  {
    sandbox box{1};
    auto mine = "troupe-chaos-" + std::to_string(box.run()) + "-node-9";
    auto left = sandbox::leftovers();
    EXPECT_EQ(std::count(left.begin(), left.end(), mine), 0);
  }
  for (const auto& n : stale)
    testing::run_command({"ip", "netns", "delete", n});
}

TEST(sandbox, two_at_once_get_different_subnets) {
  if (!can_make_namespaces())
    GTEST_SKIP() << "needs root and ip netns";
  sandbox a{1};
  sandbox b{1};
  EXPECT_NE(a.run(), b.run());
  EXPECT_NE(a.subnet(), b.subnet());
}

} // namespace
} // namespace troupe::chaos_harness
