// Token revocation across a cluster: a token dies with its user's password or the user
// itself on every node, the one that owns the user (local copy) and the others (which ask
// the owner, or believe what it said for --auth-recheck-ms).

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cluster.hpp"
#include "support/postgres_suite.hpp"

namespace troupe::testing {
namespace {

using json = nlohmann::json;
using headers = std::map<std::string, std::string>;

class token_cluster : public postgres_suite {
protected:
  /// How long nodes believe each other on credentials; "0": they always ask.
  virtual std::string recheck_ms() const { return "0"; }

  void SetUp() override {
    cluster_ = std::make_unique<test_cluster>(std::vector<std::string>{
        "--store", "postgres", "--database-url", pg_->url(), "--jwt-secret",
        "token-cluster-test-jwt-secret-0123456789", "--hash-threads", "1", "--db-pool-size", "2",
        "--auth-recheck-ms", recheck_ms()});
    for (auto name : {"n1", "n2"})
      cluster_->start(name);
    auto problem = cluster_->await_all_up();
    ASSERT_FALSE(problem) << *problem;
    for (size_t i = 0; i < 2; ++i) // the store is reachable, not just the peers
      ASSERT_TRUE(node(i).wait_ready()) << node(i).proc.err();
  }

  running_node& node(size_t i) { return *(*cluster_)[i].node; }

  headers login(size_t via, const std::string& email, const std::string& password) {
    auto res = node(via).send("POST", "/v1/auth/login",
                              json{{"email", email}, {"password", password}}.dump());
    EXPECT_EQ(res.status, 200) << res.body;
    auto token = json::parse(res.body, nullptr, false).value("access_token", std::string{});
    return {{"Authorization", "Bearer " + token}};
  }

  // The statuses of the token's reads on every kind of route, through node `via`.
  std::vector<int> reads(size_t via, const std::string& id, const headers& auth) {
    return {node(via).get("/v1/users/" + id, auth).status,
            node(via).get("/v1/users/me", auth).status,
            node(via).get("/v1/users/" + id + "/notification-preferences", auth).status,
            node(via).get("/v1/orders?user_id=" + id, auth).status};
  }

  /// Registers `email` with "password-123", logs in through node 1, reads through both nodes
  /// (so the owner has the user active and its copy published), then changes the password to
  /// "password-456"; returns the user's id and the old token.
  std::pair<std::string, headers> registered_then_repassworded(const std::string& email) {
    auto reg = node(0).send(
        "POST", "/v1/users",
        json{{"email", email}, {"password", "password-123"}, {"display_name", "Roamer"}}.dump());
    EXPECT_EQ(reg.status, 201) << reg.body;
    auto id = json::parse(reg.body, nullptr, false).value("id", std::string{});
    auto old = login(1, email, "password-123");
    for (size_t n = 0; n < 2; ++n)
      EXPECT_EQ(reads(n, id, old), ok) << "node " << n;
    auto changed =
        node(1).send("PATCH", "/v1/users/" + id, json{{"password", "password-456"}}.dump(), old);
    EXPECT_EQ(changed.status, 200) << changed.body;
    return {id, old};
  }

  const std::vector<int> ok = std::vector<int>(4, 200);
  const std::vector<int> refused = std::vector<int>(4, 401);
  std::unique_ptr<test_cluster> cluster_;
};

TEST_F(token_cluster, a_revoked_token_is_refused_by_every_node) {
  auto email = std::string{"cluster-revoke@example.org"};
  auto [id, old] = registered_then_repassworded(email);
  if (HasFailure())
    return;
  for (size_t n = 0; n < 2; ++n) {
    EXPECT_EQ(reads(n, id, old), refused) << "node " << n;
    EXPECT_EQ(
        node(n).send("PATCH", "/v1/users/" + id, json{{"display_name", "x"}}.dump(), old).status,
        401)
        << "node " << n;
  }

  auto fresh = login(0, email, "password-456");
  for (size_t n = 0; n < 2; ++n)
    EXPECT_EQ(reads(n, id, fresh), ok) << "node " << n;
  ASSERT_EQ(node(0).send("DELETE", "/v1/users/" + id, "", fresh).status, 204);
  for (size_t n = 0; n < 2; ++n)
    EXPECT_EQ(reads(n, id, fresh), refused) << "node " << n;
}

// With the default recheck time, a node that does not own the user believes the owner's word
// for a second: the old token dies there within that time, and a new login is never refused.
class token_cluster_cached : public token_cluster {
protected:
  std::string recheck_ms() const override { return "1000"; }
};

TEST_F(token_cluster_cached, a_revoked_token_dies_everywhere_within_the_recheck_time) {
  auto email = std::string{"cluster-cached@example.org"};
  auto [id, old] = registered_then_repassworded(email);
  if (HasFailure())
    return;
  auto fresh = login(0, email, "password-456");
  for (size_t n = 0; n < 2; ++n)
    EXPECT_EQ(reads(n, id, fresh), ok) << "a new login refused on node " << n;
  auto changed_at = std::chrono::steady_clock::now();
  for (size_t n = 0; n < 2; ++n) {
    while (reads(n, id, old) != refused &&
           std::chrono::steady_clock::now() - changed_at < std::chrono::seconds(3))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(reads(n, id, old), refused) << "node " << n;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - changed_at, std::chrono::milliseconds(2500))
      << "the old token lived longer than the recheck time allows";
}

} // namespace
} // namespace troupe::testing
