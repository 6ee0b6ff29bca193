#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cluster.hpp"
#include "support/postgres_suite.hpp"

namespace troupe::testing {

/// Three nodes, n1 to n3, on the suite's throwaway PostgreSQL, all up before each test begins.
class three_node_suite : public postgres_suite {
protected:
  void SetUp() override {
    ASSERT_NE(pg_, nullptr);
    cluster_ = std::make_unique<test_cluster>(std::vector<std::string>{
        "--store", "postgres", "--database-url", pg_->url(), "--jwt-secret",
        "cluster-test-jwt-secret-0123456789abcdef", "--hash-threads", "1", "--db-pool-size", "2"});
    for (auto name : {"n1", "n2", "n3"})
      cluster_->start(name);
    auto problem = cluster_->await_all_up();
    ASSERT_FALSE(problem) << *problem;
  }

  /// Node `i` (0 for n1).
  test_cluster::member& node(size_t i) { return (*cluster_)[i]; }

  /// The reply's JSON object, or an empty one if it has none.
  static nlohmann::json parse(const http_reply& r) {
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    return body.is_object() ? body : nlohmann::json::object();
  }

  std::unique_ptr<test_cluster> cluster_;
};

} // namespace troupe::testing
