// The OpenAPI document and the router must describe the same API, path for path
// and method for method: a route missing from either side fails here.

#include <fstream>
#include <set>
#include <sstream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "components.hpp"
#include "troupe/cluster/shared_view.hpp"
#include "troupe/http/router.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::node {
namespace {

using route_set = std::set<std::pair<std::string, std::string>>;

route_set routes_of_a_node() {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  node_context ctx;
  ctx.system = &sys;
  ctx.metrics = std::make_shared<observability::registry>();
  ctx.names = std::make_shared<supervision::name_registry>();
  ctx.routes = std::make_shared<http::router>();
  ctx.cluster = std::make_shared<cluster::shared_view>();
  ctx.draining = std::make_shared<std::atomic<bool>>(false);
  ctx.options.admin_token = "x";
  start_services(ctx);
  root_spec(ctx);
  stop_services(ctx);
  auto listed = ctx.routes->routes();
  return {listed.begin(), listed.end()};
}

route_set routes_of_the_document() {
  std::ifstream in{TROUPE_OPENAPI_FILE};
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str());
  route_set result;
  for (auto& [path, item] : doc.at("paths").items())
    for (auto& [key, op] : item.items())
      if (key == "get" || key == "post" || key == "put" || key == "patch" || key == "delete") {
        auto method = key;
        std::transform(method.begin(), method.end(), method.begin(), ::toupper);
        result.emplace(method, path);
      }
  return result;
}

TEST(openapi, the_document_and_the_router_list_the_same_operations) {
  auto served = routes_of_a_node();
  auto documented = routes_of_the_document();
  for (auto& r : served)
    EXPECT_TRUE(documented.count(r)) << r.first << " " << r.second << " is not documented";
  for (auto& r : documented)
    EXPECT_TRUE(served.count(r)) << r.first << " " << r.second << " is documented but not served";
  EXPECT_FALSE(served.empty());
}

TEST(openapi, the_document_is_openapi_3_1) {
  std::ifstream in{TROUPE_OPENAPI_FILE};
  auto doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc.at("openapi").get<std::string>().rfind("3.1", 0), 0u);
}

} // namespace
} // namespace troupe::node
