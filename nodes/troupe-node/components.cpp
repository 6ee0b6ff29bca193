#include "components.hpp"

#include <spdlog/spdlog.h>

#include "troupe/http/router.hpp"
#include "troupe/http/server.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/ops/routes.hpp"
#include "troupe/supervision/name_registry.hpp"
#include "troupe/supervision/resource.hpp"

namespace troupe::node {

namespace {

// The HTTP facade. A restart rebinds the port the first start got, so a node
// started with --http-port 0 keeps one address for its whole life.
supervision::child_spec http_component(const node_context& ctx) {
  http::server_config cfg;
  cfg.host = ctx.options.http_host;
  cfg.port = ctx.options.http_port;
  cfg.io_threads = ctx.options.http_threads;
  cfg.max_connections = ctx.options.http_max_connections;
  auto pinned = std::make_shared<uint16_t>(ctx.options.http_port);
  auto routes = ctx.routes;
  auto metrics = ctx.metrics;
  return supervision::resource_child(
      "http", [cfg, pinned, routes, metrics]() mutable -> caf::expected<std::shared_ptr<void>> {
        cfg.port = *pinned;
        auto srv = http::server::start(cfg, routes, metrics);
        if (!srv)
          return std::move(srv.error());
        *pinned = (*srv)->port();
        spdlog::info("listening on http://{}:{}", (*srv)->host(), (*srv)->port());
        return std::shared_ptr<void>{std::move(*srv)};
      });
}

void add_ops(const node_context& ctx) {
  ops::ops_context ops;
  ops.system = ctx.system;
  ops.names = ctx.names;
  ops.metrics = ctx.metrics;
  if (!ctx.options.admin_token.empty())
    ops.admin_token = ctx.options.admin_token;
  ops.ready = [draining = ctx.draining, names = ctx.names] {
    if (draining->load())
      return ops::readiness{false, "the node is shutting down"};
    if (!names->lookup("root"))
      return ops::readiness{false, "the supervision tree is not running"};
    return ops::readiness{true, {}};
  };
  ops::add_ops_routes(*ctx.routes, std::move(ops));
}

} // namespace

supervision::supervisor_spec root_spec(const node_context& ctx) {
  add_ops(ctx);
  supervision::supervisor_spec spec;
  spec.name = "root";
  spec.strategy = supervision::restart_strategy::one_for_one;
  spec.names = ctx.names;
  spec.metrics = ctx.metrics;
  spec.children.push_back(http_component(ctx));
  return spec;
}

} // namespace troupe::node
