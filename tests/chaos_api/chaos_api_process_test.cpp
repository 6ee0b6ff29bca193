// The fault API of a real node: off without --chaos, behind the admin token with it, faults
// that are created, listed, deleted and reset, a failing store that recovers when its fault
// expires, an activation killed and brought back, a node crashed on request, and the metrics.

#include <algorithm>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/node.hpp"
#include "support/postgres_suite.hpp"

namespace troupe::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using headers = std::map<std::string, std::string>;
using steady = std::chrono::steady_clock;

const std::string admin_token = "chaos-admin-token";
const headers admin{{"Authorization", "Bearer " + admin_token}};

class chaos_api : public postgres_suite {
protected:
  void start_node(bool chaos) {
    std::vector<std::string> flags{"--store",        "postgres",
                                   "--database-url", pg_->url(),
                                   "--jwt-secret",   "a-chaos-api-process-test-secret-32+chars",
                                   "--admin-token",  admin_token,
                                   "--hash-threads", "1",
                                   "--node-name",    "c1"};
    if (chaos)
      flags.push_back("--chaos");
    node_ = std::make_unique<running_node>(flags);
    ASSERT_NE(node_->port, 0) << node_->proc.err();
    ASSERT_TRUE(node_->wait_ready()) << node_->proc.err();
  }

  http_reply post(const std::string& target, const json& body, headers h = admin) {
    return node_->send("POST", target, body.dump(), std::move(h));
  }

  json add_fault(const json& body) {
    auto res = post("/admin/chaos/faults", body);
    EXPECT_EQ(res.status, 201) << res.body;
    return json::parse(res.body, nullptr, false);
  }

  size_t fault_count() {
    auto res = node_->get("/admin/chaos/faults", admin);
    EXPECT_EQ(res.status, 200) << res.body;
    return json::parse(res.body, nullptr, false).value("faults", json::array()).size();
  }

  // Registers a user and logs in; returns (id, bearer headers).
  std::pair<std::string, headers> user() {
    auto email =
        "chaos-" + std::to_string(steady::now().time_since_epoch().count()) + "@example.org";
    auto reg =
        post("/v1/users",
             {{"email", email}, {"password", "password-123"}, {"display_name", "Chaos"}}, {});
    EXPECT_EQ(reg.status, 201) << reg.body;
    auto login = post("/v1/auth/login", {{"email", email}, {"password", "password-123"}}, {});
    EXPECT_EQ(login.status, 200) << login.body;
    auto token = json::parse(login.body, nullptr, false).value("access_token", std::string{});
    return {json::parse(reg.body, nullptr, false).value("id", std::string{}),
            {{"Authorization", "Bearer " + token}}};
  }

  std::vector<std::string> user_keys() {
    auto res = node_->get("/admin/entities?kind=user&limit=1000", admin);
    EXPECT_EQ(res.status, 200) << res.body;
    auto body = json::parse(res.body, nullptr, false);
    EXPECT_EQ(body.value("node", std::string{}), "c1");
    return body["kinds"][0]["keys"].get<std::vector<std::string>>();
  }

  std::unique_ptr<running_node> node_;
};

TEST_F(chaos_api, without_the_flag_the_routes_are_404_naming_it_and_entities_still_answer) {
  start_node(false);
  auto res = node_->get("/admin/chaos/faults", admin);
  EXPECT_EQ(res.status, 404) << res.body;
  EXPECT_EQ(res.headers["content-type"], "application/problem+json");
  EXPECT_NE(res.body.find("--chaos"), std::string::npos) << res.body;
  EXPECT_EQ(post("/admin/chaos/faults", {{"type", "crash_node"}, {"duration_ms", 1000}}).status,
            404);
  EXPECT_EQ(node_->get("/admin/entities", admin).status, 200);
  EXPECT_EQ(node_->get("/admin/entities").status, 401);
}

TEST_F(chaos_api, faults_are_created_listed_deleted_and_reset_behind_the_admin_token) {
  start_node(true);
  EXPECT_TRUE(node_->proc.wait_for_line("fault injection is enabled", 5s)) << node_->proc.err();
  EXPECT_EQ(node_->get("/admin/chaos/faults").status, 401);
  EXPECT_EQ(post("/admin/chaos/reset", json::object(), {}).status, 401);
  auto a = add_fault({{"type", "delay"},
                      {"duration_ms", 60000},
                      {"delay_ms", 5},
                      {"match", {{"kind", "user"}, {"message", "fetch"}}}});
  add_fault({{"type", "dependency_slow"},
             {"duration_ms", 60000},
             {"delay_ms", 5},
             {"dependency", "payment"}});
  EXPECT_EQ(fault_count(), 2u);
  auto bad = post("/admin/chaos/faults", {{"type", "drop"}, {"duration_ms", -1}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("duration_ms"), std::string::npos) << bad.body;
  EXPECT_EQ(
      node_->send("DELETE", "/admin/chaos/faults/" + a["id"].get<std::string>(), "", admin).status,
      204);
  EXPECT_EQ(
      node_->send("DELETE", "/admin/chaos/faults/" + a["id"].get<std::string>(), "", admin).status,
      404);
  auto reset = post("/admin/chaos/reset", json::object());
  EXPECT_EQ(json::parse(reset.body, nullptr, false).value("removed", -1), 1) << reset.body;
  EXPECT_EQ(fault_count(), 0u);
  auto metrics = node_->get("/metrics").body;
  EXPECT_NE(metrics.find("troupe_chaos_faults_active 0"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("troupe_chaos_faults_injected_total{type=\"delay\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.find("troupe_chaos_faults_injected_total{type=\"crash_node\"} 0"),
            std::string::npos);
}

TEST_F(chaos_api, a_failing_store_fails_user_writes_and_reads_until_its_fault_expires) {
  start_node(true);
  auto [id, bearer] = user();
  ASSERT_FALSE(id.empty());
  add_fault({{"type", "store_fail"}, {"duration_ms", 3000}});
  EXPECT_NE(node_->get("/metrics").body.find("troupe_chaos_faults_active 1"), std::string::npos);
  auto write =
      node_->send("PATCH", "/v1/users/" + id, json{{"display_name", "Broken"}}.dump(), bearer);
  EXPECT_GE(write.status, 500) << write.body;
  // A fresh activation must load from the store, which fails too.
  auto killed = add_fault(
      {{"type", "kill_entity"}, {"duration_ms", 1000}, {"match", {{"kind", "user"}, {"key", id}}}});
  EXPECT_EQ(killed.value("killed", false), true) << killed.dump();
  // The kill is asynchronous: a read may still reach the old activation for a moment.
  http_reply read;
  for (auto by = steady::now() + 2s;;) {
    read = node_->get("/v1/users/" + id, bearer);
    if (read.status >= 500 || steady::now() >= by)
      break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE(read.status, 500) << read.body;
  // Expiry reverts it by itself: the list empties and the gauge drops.
  auto until = steady::now() + 10s;
  while (fault_count() > 0 && steady::now() < until)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(fault_count(), 0u);
  EXPECT_NE(node_->get("/metrics").body.find("troupe_chaos_faults_active 0"), std::string::npos);
  http_reply again;
  for (until = steady::now() + 10s;;) {
    again =
        node_->send("PATCH", "/v1/users/" + id, json{{"display_name", "Mended"}}.dump(), bearer);
    if (again.status == 200 || steady::now() >= until)
      break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(again.status, 200) << again.body;
  auto back = node_->get("/v1/users/" + id, bearer);
  EXPECT_EQ(back.status, 200) << back.body;
  EXPECT_NE(back.body.find("Mended"), std::string::npos) << back.body;
}

TEST_F(chaos_api, a_killed_activation_comes_back_with_the_next_message) {
  start_node(true);
  auto [id, bearer] = user();
  ASSERT_EQ(node_->get("/v1/users/" + id, bearer).status, 200);
  auto keys = user_keys();
  ASSERT_NE(std::find(keys.begin(), keys.end(), id), keys.end()) << "active after the read";
  auto killed = add_fault(
      {{"type", "kill_entity"}, {"duration_ms", 1000}, {"match", {{"kind", "user"}, {"key", id}}}});
  EXPECT_EQ(killed.value("killed", false), true) << killed.dump();
  auto until = steady::now() + 5s;
  while (steady::now() < until) {
    keys = user_keys();
    if (std::find(keys.begin(), keys.end(), id) == keys.end())
      break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(std::find(keys.begin(), keys.end(), id), keys.end()) << "gone after the kill";
  EXPECT_EQ(node_->get("/v1/users/" + id, bearer).status, 200);
  keys = user_keys();
  EXPECT_NE(std::find(keys.begin(), keys.end(), id), keys.end()) << "reactivated";
}

TEST_F(chaos_api, crash_node_ends_the_process_abruptly_after_answering) {
  start_node(true);
  auto res = post("/admin/chaos/faults", {{"type", "crash_node"}, {"duration_ms", 1000}});
  EXPECT_EQ(res.status, 201) << res.body;
  auto code = node_->proc.wait_exit(10s);
  ASSERT_TRUE(code.has_value()) << "still running";
  EXPECT_EQ(*code, 128 + 9) << node_->proc.err();
}

} // namespace
} // namespace troupe::testing
