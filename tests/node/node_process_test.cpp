// troupe-node as an operator meets it: a real process, real sockets, signals.

#include <csignal>
#include <fstream>
#include <sstream>

#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/node.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;

TEST(node_process, serves_ops_endpoints_and_stops_cleanly_on_sigterm) {
  running_node node{{"--http-port", "0", "--admin-token", "t0ken", "--node-name", "n1"}};
  ASSERT_NE(node.port, 0) << node.proc.err();

  auto health = node.get("/healthz");
  EXPECT_EQ(health.status, 200) << health.error;

  auto ready = node.get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;

  auto metrics = node.get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("troupe_http_requests_total{route=\"/healthz\",method=\"GET\","
                              "status=\"200\"} 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("troupe_http_request_duration_seconds_bucket"), std::string::npos);

  auto denied = node.get("/admin/supervision");
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.headers["content-type"], "application/problem+json");
  auto wrong = node.get("/admin/supervision", {{"Authorization", "Bearer t0ken-not"}});
  EXPECT_EQ(wrong.status, 401);

  auto tree = node.get("/admin/supervision", {{"Authorization", "Bearer t0ken"}});
  ASSERT_EQ(tree.status, 200) << tree.body;
  auto json = nlohmann::json::parse(tree.body);
  EXPECT_EQ(json["name"], "root");
  EXPECT_EQ(json["state"], "running");
  ASSERT_FALSE(json["children"].empty());
  EXPECT_EQ(json["children"].back()["name"], "http");
  EXPECT_EQ(json["children"].back()["state"], "running");

  auto missing = node.get("/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.headers["content-type"], "application/problem+json");

  node.proc.signal(SIGTERM);
  auto code = node.proc.wait_exit(5s);
  ASSERT_TRUE(code) << "still running 5 s after SIGTERM";
  EXPECT_EQ(*code, 0) << node.proc.err();
}

TEST(node_process, sigint_also_stops_with_exit_code_zero) {
  running_node node{{"--http-port", "0"}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  node.proc.signal(SIGINT);
  auto code = node.proc.wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << node.proc.err();
}

TEST(node_process, admin_endpoints_without_a_token_say_how_to_enable_them) {
  running_node node{{"--http-port", "0"}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  auto res = node.get("/admin/supervision", {{"Authorization", "Bearer anything"}});
  EXPECT_EQ(res.status, 403);
  EXPECT_NE(res.body.find("--admin-token"), std::string::npos) << res.body;
}

TEST(node_process, flags_are_read_from_troupe_env_vars) {
  running_node node{{}, {{"TROUPE_HTTP_PORT", "0"}, {"TROUPE_ADMIN_TOKEN", "envtok"}}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  EXPECT_EQ(node.get("/admin/supervision", {{"Authorization", "Bearer envtok"}}).status, 200);
}

TEST(node_process, json_logs_are_one_object_per_line) {
  running_node node{{"--http-port", "0", "--log-format", "json", "--node-name", "j1"}};
  ASSERT_NE(node.port, 0) << node.proc.err();
  node.proc.signal(SIGTERM);
  ASSERT_TRUE(node.proc.wait_exit(5s));
  std::istringstream lines{node.proc.err()};
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    auto obj = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(obj.is_object()) << line;
    EXPECT_TRUE(obj.contains("ts") && obj.contains("level") && obj.contains("msg")) << line;
    EXPECT_EQ(obj["node"], "j1");
    ++count;
  }
  EXPECT_GE(count, 3);
}

struct bad_flag_case {
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string names;
};

class node_bad_flags : public ::testing::TestWithParam<bad_flag_case> {};

TEST_P(node_bad_flags, exit_2_with_one_line_naming_the_flag) {
  auto c = GetParam();
  process proc{running_node::with_binary(c.args), c.env};
  auto code = proc.wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 2);
  auto err = proc.err();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find(c.names), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(
    all, node_bad_flags,
    ::testing::Values(
        bad_flag_case{{"--http-port", "abc"}, {}, "--http-port"},
        bad_flag_case{{"--http-port", "70000"}, {}, "--http-port"},
        bad_flag_case{{"--bogus"}, {}, "--bogus"},
        bad_flag_case{{"--log-level", "loud"}, {}, "--log-level"},
        bad_flag_case{{}, {{"TROUPE_LOG_FORMAT", "xml"}}, "--log-format"},
        bad_flag_case{{"--http-threads", "0"}, {}, "--http-threads"},
        bad_flag_case{{}, {{"TROUPE_ACTOR_SCHEDULER", "fifo"}}, "--actor-scheduler"},
        bad_flag_case{{"--store", "postgres"}, {}, "--database-url"},
        bad_flag_case{{"--jwt-secret", "short"}, {}, "--jwt-secret"},
        bad_flag_case{{"--admin-email", "a@b.c"}, {}, "--admin-password"},
        bad_flag_case{{"--cluster-port", "7000"}, {}, "--cluster-secret"},
        bad_flag_case{
            {"--cluster-port", "7000"}, {{"TROUPE_CLUSTER_SECRET", "short"}}, "--cluster-secret"},
        bad_flag_case{{"--cluster-port", "7000", "--cluster-secret", "a-cluster-secret-of-length"},
                      {},
                      "--cluster-tls-cert"},
        bad_flag_case{{"--cluster-port", "7000", "--cluster-secret", "a-cluster-secret-of-length",
                       "--cluster-tls-cert", "/nonexistent.pem", "--cluster-tls-key",
                       "/nonexistent.key", "--cluster-tls-ca", "/nonexistent-ca.pem"},
                      {},
                      "--cluster-tls-cert"},
        bad_flag_case{{"--cluster-port", "7000", "--cluster-secret", "a-cluster-secret-of-length",
                       "--cluster-insecure", "--cluster-tls-ca", "/nonexistent-ca.pem"},
                      {},
                      "--cluster-insecure"},
        bad_flag_case{{"--roles", "user,cook"}, {}, "--roles"}),
    [](const auto& info) {
      auto name = info.param.names.substr(2) + "_" + std::to_string(info.index);
      std::replace(name.begin(), name.end(), '-', '_');
      return name;
    });

// In a container the node is pid 1, and the kernel drops signals to pid 1 that it neither
// handles nor blocks; the node blocks SIGTERM and waits for it, so the orchestrator's
// SIGTERM must still stop it gracefully.
TEST(node_process, as_pid_1_of_its_namespace_it_still_stops_on_sigterm) {
  auto pid_one = pid_one_wrapper();
  if (!pid_one)
    GTEST_SKIP() << "no pid namespaces here";
  running_node node{{"--http-host", "127.0.0.1", "--node-name", "pid1"}, {}, *pid_one};
  ASSERT_NE(node.port, 0) << node.proc.err();
  // The node is unshare's only child; signal it from this (the parent) namespace, as the
  // container runtime does.
  std::ifstream children{"/proc/" + std::to_string(node.proc.pid()) + "/task/" +
                         std::to_string(node.proc.pid()) + "/children"};
  pid_t pid = 0;
  ASSERT_TRUE(children >> pid) << "no child of unshare";
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  EXPECT_TRUE(node.proc.wait_for_line("node pid1 stopped", 10s)) << node.proc.err();
  auto code = node.proc.wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << "unshare passes on the node's exit code";
}

TEST(node_process, help_lists_every_flag_and_exits_zero) {
  process proc{running_node::with_binary({"--help"})};
  auto code = proc.wait_exit(5s);
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  for (auto flag : {"--node-name", "--http-host", "--http-port", "--admin-token", "--log-level",
                    "--log-format", "TROUPE_HTTP_PORT"})
    EXPECT_NE(proc.out().find(flag), std::string::npos) << flag;
}

TEST(node_process, a_root_that_cannot_start_exits_non_zero_and_says_why) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  auto port = std::to_string(taken.local_endpoint().port());
  process proc{running_node::with_binary({"--http-host", "127.0.0.1", "--http-port", port})};
  auto code = proc.wait_exit(10s);
  ASSERT_TRUE(code) << "a node whose root failed kept running";
  EXPECT_NE(*code, 0);
  EXPECT_NE(proc.err().find("root supervisor exited"), std::string::npos) << proc.err();
  EXPECT_NE(proc.err().find("127.0.0.1:" + port), std::string::npos) << proc.err();
}

} // namespace
} // namespace troupe::testing
