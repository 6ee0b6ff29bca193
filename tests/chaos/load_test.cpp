// The load generator for a few seconds against one real node on loopback: every request is
// recorded with sane fields, none fails, and the invariants hold afterwards.

#include <atomic>
#include <chrono>
#include <csignal>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "invariants.hpp"
#include "load.hpp"
#include "support/node.hpp"
#include "support/postgres_suite.hpp"

namespace troupe::chaos_harness {
namespace {

using namespace std::chrono_literals;

const std::string admin_email = "root@example.org";
const std::string admin_password = "admin-password-1";

class chaos_load : public testing::postgres_suite {
protected:
  /// A node on the suite's database, on `port` (0: a free one); the caller waits for it.
  std::unique_ptr<testing::running_node> start_node(std::uint16_t port = 0) {
    std::vector<std::string> flags{"--store",          "postgres",
                                   "--database-url",   pg_->url(),
                                   "--jwt-secret",     "a-chaos-load-test-secret-of-32+chars",
                                   "--admin-email",    admin_email,
                                   "--admin-password", admin_password,
                                   "--hash-threads",   "2",
                                   "--node-name",      "n1"};
    if (port != 0) {
      flags.push_back("--http-port");
      flags.push_back(std::to_string(port));
    }
    return std::make_unique<testing::running_node>(std::move(flags));
  }

  static load_config config(std::uint16_t port) {
    load_config cfg;
    cfg.nodes = {{"n1", "127.0.0.1", port}};
    cfg.clients = 4;
    cfg.seed = 7;
    cfg.admin_email = admin_email;
    cfg.admin_password = admin_password;
    cfg.skus = 3;
    cfg.stock_per_sku = 1000;
    cfg.think = 5ms;
    cfg.origin = std::chrono::steady_clock::now();
    return cfg;
  }
};

micros since(std::chrono::steady_clock::time_point origin) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               origin)
      .count();
}

TEST_F(chaos_load, a_few_seconds_of_load_on_one_node_are_recorded_and_keep_every_invariant) {
  ASSERT_NE(pg_, nullptr);
  auto node = start_node();
  ASSERT_TRUE(node->port != 0 && node->wait_ready()) << node->proc.err();
  auto cfg = config(node->port);
  std::atomic<int> threads{0};
  cfg.on_thread_start = [&] { ++threads; };

  load_generator load{cfg};
  std::string why;
  ASSERT_TRUE(load.prepare(20s, why)) << why << node->proc.err();
  load.start();
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(load.error_rate(10s), 0.0);
  auto stopping = std::chrono::steady_clock::now();
  load.stop(5s);
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 9s);
  EXPECT_EQ(threads, 5) << "the preparation and each client run on_thread_start";

  auto ops = load.operations();
  ASSERT_GT(ops.size(), 50u);
  std::set<std::string> kinds;
  auto end = since(cfg.origin);
  for (const auto& op : ops) {
    kinds.insert(op.kind);
    EXPECT_EQ(op.node, "n1");
    EXPECT_FALSE(op.key.empty()) << op.kind;
    EXPECT_GE(op.sent, 0);
    EXPECT_LE(op.sent, op.answered);
    EXPECT_LE(op.answered, end);
    EXPECT_GE(op.attempt, 1);
    EXPECT_TRUE(op.status >= 200 && op.status < 500)
        << op.kind << " " << op.status << " " << op.detail.dump();
    if (op.kind == "update_profile" || (op.kind == "get_profile" && op.status == 200)) {
      EXPECT_TRUE(op.detail.contains("seq")) << op.detail.dump();
    }
    if (op.kind == "create_order") {
      EXPECT_TRUE(op.detail.contains("idempotency_key")) << op.detail.dump();
      EXPECT_TRUE(op.detail.contains("lines")) << op.detail.dump();
      if (op.status == 201) {
        EXPECT_EQ(op.detail.value("order_id", ""), op.key);
      }
    }
  }
  for (const char* kind : {"login", "put_stock", "register", "update_profile", "get_profile",
                           "create_order", "get_order", "list_notifications"})
    EXPECT_TRUE(kinds.count(kind)) << kind << " never ran";

  run_record run;
  run.operations = std::move(ops);
  run.nodes = {"n1"};
  run.converged_after_ms = 0;
  EXPECT_TRUE(check_invariants(run, pg_->url())) << run.figures.dump();
  for (const auto& r : run.invariants)
    EXPECT_TRUE(r.passed) << r.name << ": " << r.detail;
  EXPECT_GT(run.figures.value("orders_acknowledged", 0), 0) << run.figures.dump();
}

TEST_F(chaos_load, a_node_killed_and_restarted_under_load_loses_nothing_acknowledged) {
  ASSERT_NE(pg_, nullptr);
  auto node = start_node();
  ASSERT_TRUE(node->port != 0 && node->wait_ready()) << node->proc.err();
  auto port = node->port;
  auto cfg = config(port);
  load_generator load{cfg};
  std::string why;
  ASSERT_TRUE(load.prepare(20s, why)) << why << node->proc.err();
  load.start();
  std::this_thread::sleep_for(2s);

  fault_window kill{"kill", "n1", since(cfg.origin), 0};
  node->proc.signal(SIGKILL);
  ASSERT_TRUE(node->proc.wait_exit(5s));
  std::this_thread::sleep_for(1s);
  EXPECT_GT(load.error_rate(1s), 0.0);
  node = start_node(port);
  ASSERT_TRUE(node->port != 0 && node->wait_ready()) << node->proc.err();
  kill.end = since(cfg.origin);
  std::this_thread::sleep_for(6s);
  EXPECT_EQ(load.error_rate(1s), 0.0) << "the clients came back";
  load.stop(5s);

  run_record run;
  run.operations = load.operations();
  run.nodes = {"n1"};
  run.faults = {kill};
  run.converged_after_ms = 0;
  bool passed = check_invariants(run, pg_->url());
  for (const auto& r : run.invariants)
    EXPECT_TRUE(r.passed) << r.name << ": " << r.detail;
  EXPECT_TRUE(passed) << run.figures.dump();
  EXPECT_GT(run.figures.value("failed_requests", 0), 0) << run.figures.dump();
  EXPECT_EQ(run.figures["error_window_after_kill_ms"]["count"], 1);
}

TEST(chaos_load_down, a_cluster_that_is_all_down_is_recorded_as_failing_and_not_hammered) {
  load_config cfg;
  // Nothing listens on port 1: every connect is refused at once.
  cfg.nodes = {{"n1", "127.0.0.1", 1}, {"n2", "127.0.0.1", 1}};
  cfg.clients = 4;
  cfg.think = 0ms;
  cfg.origin = std::chrono::steady_clock::now();
  load_generator load{cfg};
  std::string why;
  EXPECT_FALSE(load.prepare(500ms, why));
  EXPECT_EQ(why, "the admin login never succeeded");
  load.start();
  std::this_thread::sleep_for(2s);
  EXPECT_GT(load.error_rate(5s), 0.99);
  auto stopping = std::chrono::steady_clock::now();
  load.stop(5s);
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 5s);
  auto ops = load.operations();
  EXPECT_GT(ops.size(), 4u);
  // Backoff and the pause after failures bound it; a busy loop would send thousands.
  EXPECT_LT(ops.size(), 120u);
  for (const auto& op : ops) {
    EXPECT_EQ(op.status, 0);
    EXPECT_TRUE(op.detail.contains("error")) << op.detail.dump();
  }
}

} // namespace
} // namespace troupe::chaos_harness
