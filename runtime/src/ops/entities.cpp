#include "troupe/ops/entities.hpp"

#include <algorithm>

#include <caf/event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "troupe/core/error.hpp"
#include "troupe/http/actor_bridge.hpp"
#include "troupe/http/admin_auth.hpp"
#include "troupe/http/response.hpp"
#include "troupe/http/router.hpp"
#include "troupe/http/url.hpp"
#include "troupe/placement/region.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::ops {

namespace {

using http::status;

constexpr uint64_t default_limit = 100;

std::optional<uint64_t> parse_limit(const std::string& text) {
  if (text.empty() || text.size() > 7)
    return std::nullopt;
  uint64_t n = 0;
  for (auto c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

// Asks every region at once from a short-lived actor and answers when the last one did; a
// region that does not answer is reported with its error rather than failing the rest.
void gather(std::shared_ptr<const entities_context> ctx, std::vector<std::string> kinds,
            uint64_t limit, http::responder res) {
  http::serve_from_actor(
      *ctx->system, std::move(res),
      [ctx, kinds = std::move(kinds), limit](caf::event_based_actor* self,
                                             http::shared_responder res) {
        auto out = std::make_shared<nlohmann::json>(nlohmann::json::array());
        for (const auto& kind : kinds)
          out->push_back({{"kind", kind}, {"active", 0}, {"keys", nlohmann::json::array()}});
        auto left = std::make_shared<size_t>(kinds.size());
        auto finish_one = [ctx, out, left, res] {
          if (--*left == 0)
            (*res)(http::json_response(status::ok, {{"node", ctx->node}, {"kinds", *out}}));
        };
        if (kinds.empty()) {
          ++*left;
          finish_one();
          return;
        }
        for (size_t i = 0; i < kinds.size(); ++i) {
          auto region = ctx->names->lookup(kinds[i]);
          if (!region) {
            (*out)[i]["error"] = "not running on this node";
            finish_one();
            continue;
          }
          self->request(*region, ctx->ask_timeout, placement::entities_atom::value, limit)
              .then(
                  [out, i, finish_one](uint64_t active, std::vector<std::string>& keys) {
                    (*out)[i]["active"] = active;
                    (*out)[i]["keys"] = std::move(keys);
                    finish_one();
                  },
                  [out, i, finish_one](caf::error& err) {
                    (*out)[i]["error"] = describe(err);
                    finish_one();
                  });
        }
      });
}

} // namespace

void add_entity_routes(http::router& routes, entities_context ctx) {
  auto shared = std::make_shared<const entities_context>(std::move(ctx));
  routes.add(http::verb::get, "/admin/entities",
             http::admin_only(shared->admin_token, [shared](http::request_context rc,
                                                            http::responder res) {
               auto query = http::parse_query(http::std_view(rc.req.target()));
               uint64_t limit = default_limit;
               if (auto i = query.find("limit"); i != query.end()) {
                 auto n = parse_limit(i->second);
                 if (!n || *n > max_entity_keys)
                   return res(http::problem_response(
                       status::bad_request, http::problem::bad_request, "Invalid query",
                       "limit: must be an integer from 0 to " + std::to_string(max_entity_keys)));
                 limit = *n;
               }
               auto kinds = shared->kinds;
               if (auto i = query.find("kind"); i != query.end()) {
                 if (std::find(kinds.begin(), kinds.end(), i->second) == kinds.end())
                   return res(http::problem_response(status::bad_request,
                                                     http::problem::bad_request, "Invalid query",
                                                     "kind: not an entity kind of this node"));
                 kinds = {i->second};
               }
               gather(shared, std::move(kinds), limit, std::move(res));
             }));
}

} // namespace troupe::ops
