#include "troupe/ops/routes.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "troupe/cluster/shared_view.hpp"
#include "troupe/core/error.hpp"
#include "troupe/http/actor_bridge.hpp"
#include "troupe/http/admin_auth.hpp"
#include "troupe/http/response.hpp"
#include "troupe/http/router.hpp"
#include "troupe/observability/metrics.hpp"
#include "troupe/supervision/name_registry.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace troupe::ops {

namespace {

using http::status;

// The io thread must not wait on an actor: a short-lived actor asks the root
// supervisor and answers through the responder from a CAF thread.
void answer_with_tree(const ops_context& ctx, http::responder res) {
  auto root = ctx.names->lookup(ctx.root_name);
  if (!root) {
    res(http::problem_response(status::service_unavailable, http::problem::unavailable,
                               "Supervision tree unavailable", describe(root.error())));
    return;
  }
  http::serve_from_actor(
      *ctx.system, std::move(res),
      [root = *root, timeout = ctx.inspect_timeout](caf::event_based_actor* self,
                                                    http::shared_responder res) {
        self->request(root, timeout, supervision::inspect_atom::value)
            .then(
                [res](const std::string& tree) {
                  (*res)(http::text_response(status::ok, tree, "application/json"));
                },
                [res](const caf::error& err) {
                  (*res)(http::problem_response(status::service_unavailable,
                                                http::problem::unavailable,
                                                "Supervision tree unavailable", describe(err)));
                });
      });
}

// This node's view: every member with its state and for how long it has been in it.
nlohmann::json cluster_json(const ops_context& ctx) {
  auto members = nlohmann::json::array();
  auto now = std::chrono::steady_clock::now();
  std::vector<cluster::member> view;
  std::string transport;
  if (ctx.cluster) {
    auto snap = ctx.cluster->get();
    view = snap->members;
    transport = snap->transport;
  }
  for (const auto& m : view)
    members.push_back(
        {{"name", m.name},
         {"incarnation", m.incarnation},
         {"address", m.address},
         {"roles", m.roles},
         {"state", std::string{cluster::to_string(m.state)}},
         {"since_ms",
          std::chrono::duration_cast<std::chrono::milliseconds>(now - m.since).count()}});
  nlohmann::json out{{"members", members}};
  if (!view.empty()) {
    out["node"] = view.front().name;
    out["incarnation"] = view.front().incarnation;
  }
  if (!transport.empty())
    out["transport"] = transport;
  if (transport == "insecure")
    out["warning"] = "the cluster port speaks plain TCP without authentication "
                     "(--cluster-insecure): anyone who reaches it can act as a member";
  return out;
}

} // namespace

void add_ops_routes(http::router& routes, ops_context ctx) {
  auto shared = std::make_shared<const ops_context>(std::move(ctx));
  // Probed every few seconds by every kubelet: the answer never changes, so it is made once.
  nlohmann::json health{{"status", "ok"}};
  if (!shared->version.empty())
    health["version"] = shared->version;
  routes.add(http::verb::get, "/healthz",
             [body = health.dump()](http::request_context, http::responder res) {
               res(http::text_response(status::ok, body, "application/json"));
             });
  routes.add(http::verb::get, "/readyz", [shared](http::request_context, http::responder res) {
    auto r = shared->ready ? shared->ready() : readiness{true, {}};
    if (r.ready)
      res(http::json_response(status::ok, {{"status", "ready"}}));
    else
      res(http::problem_response(status::service_unavailable, http::problem::unavailable,
                                 "Not ready", r.reason));
  });
  routes.add(http::verb::get, "/metrics", [shared](http::request_context, http::responder res) {
    res(http::text_response(status::ok, shared->metrics->render(),
                            observability::prometheus_content_type));
  });
  routes.add(
      http::verb::get, "/admin/supervision",
      http::admin_only(shared->admin_token, [shared](http::request_context, http::responder res) {
        answer_with_tree(*shared, std::move(res));
      }));
  routes.add(
      http::verb::get, "/admin/cluster",
      http::admin_only(shared->admin_token, [shared](http::request_context, http::responder res) {
        res(http::json_response(status::ok, cluster_json(*shared)));
      }));
}

} // namespace troupe::ops
