// HTTP ↔ the notification store: a user's notifications and channel preferences.

#include "troupe/notification/routes.hpp"

#include <nlohmann/json.hpp>

#include "troupe/auth/bearer.hpp"
#include "troupe/auth/session.hpp"
#include "troupe/core/clock.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"
#include "troupe/http/actor_bridge.hpp"
#include "troupe/http/error_mapping.hpp"
#include "troupe/http/json_body.hpp"
#include "troupe/http/response.hpp"
#include "troupe/http/router.hpp"
#include "troupe/http/url.hpp"

namespace troupe::notification {

namespace {

using http::status;
using api_ptr = std::shared_ptr<const notification_api>;

constexpr size_t max_page = 100;

nlohmann::json to_json(const notification_record& r) {
  nlohmann::json out{{"id", r.id},
                     {"event_id", r.event_id},
                     {"channel", to_string(r.channel)},
                     {"recipient", r.recipient},
                     {"subject", r.subject},
                     {"status", to_string(r.status)},
                     {"attempts", r.attempts},
                     {"created_at", format_iso8601(r.created_at_ms)},
                     {"updated_at", format_iso8601(r.updated_at_ms)}};
  if (!r.last_error.empty())
    out["last_error"] = r.last_error;
  return out;
}

nlohmann::json to_json(const preferences& p) {
  return {{"user_id", p.user_id}, {"email", p.email}, {"push", p.push}, {"sms", p.sms}};
}

/// Runs `fn(self, res)` in a bridging actor if the bearer is user `id` or an admin and its
/// token still stands.
template <class Fn>
void as_owner_or_admin(const api_ptr& api, const http::request_context& ctx, http::responder res,
                       Fn fn) {
  auto instance = std::string{ctx.req.target()};
  auto id = std::string{ctx.param("id")};
  auto claims = auth::authenticate(*api->tokens, ctx.req);
  if (!claims)
    return res(http::problem_from_error(claims.error(), instance));
  if (!is_uuid(id))
    return res(
        http::problem_from_error(make_error(errc::no_such_record, "no such user"), instance));
  if (claims->subject != id && claims->role != "admin")
    return res(http::problem_from_error(
        make_error(errc::forbidden, "only the user or an admin may do this"), instance));
  http::serve_from_actor(
      *api->system, std::move(res),
      [api, fn, id, instance, who = *claims](caf::event_based_actor* self,
                                             http::shared_responder res) mutable {
        if (!api->sessions)
          return fn(self, res, id, instance);
        // A deleted user's or an old password's token stops here.
        api->sessions->confirm(self, who, [=](const caf::error& err) mutable {
          if (err)
            return (*res)(http::problem_from_error(err, instance));
          fn(self, res, id, instance);
        });
      },
      ctx.trace.log());
}

template <class T, class ToJson>
auto answer(http::shared_responder res, std::string instance, ToJson to_json_fn) {
  return [res, instance, to_json_fn](caf::expected<T> x) {
    if (!x)
      return (*res)(http::problem_from_error(x.error(), instance));
    (*res)(http::json_response(status::ok, to_json_fn(*x)));
  };
}

void list_notifications(const api_ptr& api, http::request_context ctx, http::responder res) {
  size_t limit = 20;
  for (const auto& [name, value] : http::parse_query(http::std_view(ctx.req.target()))) {
    auto n = std::atoll(value.c_str());
    if (name != "limit" || n < 1 || n > static_cast<long long>(max_page) ||
        std::to_string(n) != value)
      return res(http::problem_response(
          status::bad_request, http::problem::bad_request, "Invalid query",
          "the only parameter is 'limit', from 1 to " + std::to_string(max_page),
          std::string{ctx.req.target()}));
    limit = static_cast<size_t>(n);
  }
  as_owner_or_admin(api, ctx, std::move(res),
                    [api, limit](caf::event_based_actor* self, http::shared_responder res,
                                 const std::string& id, const std::string& instance) {
                      api->store->list(
                          self, id, limit,
                          answer<std::vector<notification_record>>(
                              res, instance, [](const std::vector<notification_record>& found) {
                                nlohmann::json out{{"items", nlohmann::json::array()}};
                                for (const auto& r : found)
                                  out["items"].push_back(to_json(r));
                                return out;
                              }));
                    });
}

void get_preferences(const api_ptr& api, http::request_context ctx, http::responder res) {
  as_owner_or_admin(api, ctx, std::move(res),
                    [api](caf::event_based_actor* self, http::shared_responder res,
                          const std::string& id, const std::string& instance) {
                      api->store->preferences_of(
                          self, id, answer<preferences>(res, instance, [](const preferences& p) {
                            return to_json(p);
                          }));
                    });
}

void put_preferences(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  // Who asks comes first: a stranger learns nothing, not even what a valid body is.
  if (auto claims = auth::authenticate(*api->tokens, ctx.req); !claims)
    return res(http::problem_from_error(claims.error(), instance));
  auto body = http::read_json_object(ctx.req);
  if (auto problem = http::first_problem(body))
    return res(std::move(*problem));
  auto& json = std::get<nlohmann::json>(body);
  if (auto problem = http::reject_unknown_fields(json, {"email", "push", "sms"}))
    return res(std::move(*problem));
  preferences p;
  for (auto [name, slot] : {std::pair{"email", &p.email}, {"push", &p.push}, {"sms", &p.sms}}) {
    auto i = json.find(name);
    if (i == json.end() || !i->is_boolean())
      return res(http::problem_response(
          status::bad_request, http::problem::bad_request, "Invalid request body",
          std::string{"field '"} + name + "' must be true or false", instance));
    *slot = i->get<bool>();
  }
  as_owner_or_admin(api, ctx, std::move(res),
                    [api, p](caf::event_based_actor* self, http::shared_responder res,
                             const std::string& id, const std::string& instance) mutable {
                      p.user_id = id;
                      api->store->set_preferences(
                          self, p, answer<preferences>(res, instance, [](const preferences& q) {
                            return to_json(q);
                          }));
                    });
}

} // namespace

void add_notification_routes(http::router& routes, std::shared_ptr<const notification_api> api) {
  using http::verb;
  auto bind = [&](verb v, const char* pattern, auto fn) {
    routes.add(v, pattern, [api, fn](http::request_context ctx, http::responder res) {
      fn(api, std::move(ctx), std::move(res));
    });
  };
  bind(verb::get, "/v1/users/{id}/notifications", list_notifications);
  bind(verb::get, "/v1/users/{id}/notification-preferences", get_preferences);
  bind(verb::put, "/v1/users/{id}/notification-preferences", put_preferences);
}

} // namespace troupe::notification
