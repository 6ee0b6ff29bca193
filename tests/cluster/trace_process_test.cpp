// The W3C trace context across real node processes: a request sent with a known
// `traceparent` through a node that does not own its key is logged under that trace by the
// owner, which only learnt it from the request the first node forwarded.

#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cluster.hpp"
#include "support/postgres_suite.hpp"

namespace troupe::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* trace_id = "0af7651916cd43dd8448eb211c80319c";
constexpr const char* traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

class trace_cluster : public postgres_suite {
protected:
  void SetUp() override {
    ASSERT_NE(pg_, nullptr);
    // Debug: the owner's activation logs each request it takes, which is the line to find.
    cluster_ = std::make_unique<test_cluster>(std::vector<std::string>{
        "--store", "postgres", "--database-url", pg_->url(), "--jwt-secret",
        "cluster-test-jwt-secret-0123456789abcdef", "--hash-threads", "1", "--db-pool-size", "2",
        "--log-level", "debug"});
    for (auto name : {"n1", "n2", "n3"})
      cluster_->start(name);
    auto problem = cluster_->await_all_up();
    ASSERT_FALSE(problem) << *problem;
  }

  test_cluster::member& node(size_t i) { return (*cluster_)[i]; }

  double activations(size_t i) {
    return test_cluster::metric(node(i), "troupe_entity_activations_total{kind=\"user\"}");
  }

  std::unique_ptr<test_cluster> cluster_;
};

TEST_F(trace_cluster, the_owner_logs_a_request_under_the_trace_the_caller_sent) {
  std::vector<double> before;
  for (size_t i = 0; i < 3; ++i)
    before.push_back(activations(i));
  auto reg = node(0).node->send(
      "POST", "/v1/users",
      json{{"email", "traced@example.org"}, {"password", "password-123"}, {"display_name", "t"}}
          .dump());
  ASSERT_EQ(reg.status, 201) << reg.body << reg.error;
  auto id = json::parse(reg.body).value("id", "");
  auto login = node(0).node->send(
      "POST", "/v1/auth/login",
      json{{"email", "traced@example.org"}, {"password", "password-123"}}.dump());
  ASSERT_EQ(login.status, 200) << login.body;
  auto token = json::parse(login.body).value("access_token", "");
  // The owner is the node whose user region activated the new user.
  size_t owner = 3;
  for (size_t i = 0; i < 3; ++i)
    if (activations(i) > before[i])
      owner = i;
  ASSERT_LT(owner, 3u) << "no node activated the user";
  auto& via = node((owner + 1) % 3);
  auto read = via.node->get("/v1/users/" + id,
                            {{"Authorization", "Bearer " + token}, {"traceparent", traceparent}});
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_NE(read.headers["traceparent"].find(trace_id), std::string::npos)
      << "the node that took the request continues the caller's trace";
  // Logged by the activation itself while it handles the request from the other node.
  auto line = node(owner).node->proc.wait_for_line(
      std::string{"[trace="} + trace_id + "] user " + id + ": request from another node", 5s);
  EXPECT_TRUE(line) << node(owner).name << " never logged the request under its trace";
  EXPECT_EQ(via.node->proc.err().find("user " + id + ": request"), std::string::npos)
      << "the activation is on the owner only";
}

} // namespace
} // namespace troupe::testing
