// HTTP ↔ SKU and order entities. Handlers validate on the io thread, then hand the
// request to a short-lived actor that talks to the entity; nothing here blocks.

#include "troupe/order/routes.hpp"

#include <algorithm>
#include <map>

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include "digest.hpp"
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
#include "troupe/order/payment_gateway.hpp"
#include "troupe/placement/ask.hpp"

namespace troupe::order {

namespace {

using http::status;
using api_ptr = std::shared_ptr<const order_api>;

constexpr size_t max_sku = 100;
constexpr size_t max_lines = 100;
constexpr int64_t max_quantity = 10'000;
constexpr int64_t max_on_hand = 1'000'000'000;
constexpr size_t max_key = 200;
constexpr size_t max_page = 100;

nlohmann::json to_json(const stock_record& s) {
  return {{"sku", s.sku},
          {"on_hand", s.on_hand},
          {"reserved", s.reserved},
          {"available", s.on_hand - s.reserved},
          {"version", s.version}};
}

/// The public view of an order: never the payment token.
nlohmann::json to_json(const order_record& r) {
  auto items = nlohmann::json::array();
  for (const auto& i : r.items)
    items.push_back({{"sku", i.sku}, {"quantity", i.quantity}});
  nlohmann::json out{{"id", r.id},
                     {"user_id", r.user_id},
                     {"status", to_string(r.status)},
                     {"items", std::move(items)},
                     {"payment", {{"method", r.payment_method}}},
                     {"version", r.version},
                     {"created_at", format_iso8601(r.created_at_ms)},
                     {"updated_at", format_iso8601(r.updated_at_ms)}};
  if (!r.reason.empty())
    out["reason"] = r.reason;
  return out;
}

http::response bad_field(const std::string& detail, const std::string& instance) {
  return http::problem_response(status::bad_request, http::problem::bad_request,
                                "Invalid request body", detail, instance);
}

/// Answers `err` as problem+json.
auto fail_with(http::shared_responder res, std::string instance) {
  return
      [res, instance](const caf::error& err) { (*res)(http::problem_from_error(err, instance)); };
}

/// Sends `msg` to entity `key` of `kind`, wherever it lives (straight to it if `known` lists
/// it on this node), and hands the reply to `on_reply`.
template <class OnReply, class... Ts>
void ask_entity(const api_ptr& api, caf::event_based_actor* self, http::shared_responder res,
                const std::string& instance, const char* kind,
                const std::shared_ptr<const placement::directory>& known, const std::string& key,
                OnReply on_reply, Ts... msg) {
  // Every request to an order or a SKU is idempotent (keyed, absolute or a read), so one
  // whose node went down mid-request is sent once more to the key's new owner.
  placement::ask_owner(self, api->locator, kind, key, api->request_timeout, std::make_tuple(msg...),
                       on_reply, fail_with(res, instance), placement::retry_policy{true}, known);
}

/// Runs `then()` inside `self` once `who`'s token is confirmed to still stand.
template <class Then>
void confirmed(const api_ptr& api, caf::event_based_actor* self, http::shared_responder res,
               std::string instance, const auth::jwt_claims& who, Then then) {
  if (!api->sessions)
    return then();
  api->sessions->confirm(self, who, [res, instance, then](const caf::error& err) mutable {
    if (err)
      return fail_with(res, instance)(err);
    then();
  });
}

/// Runs `fn(self, res, claims)` in a bridging actor once the bearer is known; `admin_only`
/// refuses everyone else with 403.
template <class Fn>
void authenticated(const api_ptr& api, const http::request_context& ctx, http::responder res,
                   bool admin_only, Fn fn) {
  auto instance = std::string{ctx.req.target()};
  auto claims = auth::authenticate(*api->tokens, ctx.req);
  if (!claims)
    return res(http::problem_from_error(claims.error(), instance));
  if (admin_only && claims->role != "admin")
    return res(http::problem_from_error(
        make_error(errc::forbidden, "only an admin may manage inventory"), instance));
  http::serve_from_actor(
      *api->system, std::move(res),
      [api, instance, fn, who = *claims](caf::event_based_actor* self,
                                         http::shared_responder res) mutable {
        confirmed(api, self, res, instance, who, [=]() mutable { fn(self, res, who); });
      },
      ctx.trace.log());
}

bool may_see(const auth::jwt_claims& who, const order_record& r) {
  return who.role == "admin" || who.subject == r.user_id;
}

void put_stock(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  auto sku = std::string{ctx.param("sku")};
  auto body = http::read_json_object(ctx.req);
  if (auto problem = http::first_problem(body))
    return res(std::move(*problem));
  auto& json = std::get<nlohmann::json>(body);
  if (auto problem = http::reject_unknown_fields(json, {"on_hand"}))
    return res(std::move(*problem));
  auto on_hand = json.find("on_hand");
  if (on_hand == json.end() || !on_hand->is_number_integer() || *on_hand < 0 ||
      *on_hand > max_on_hand)
    return res(bad_field(
        "field 'on_hand' must be an integer from 0 to " + std::to_string(max_on_hand), instance));
  if (sku.empty() || sku.size() > max_sku)
    return res(bad_field("a SKU has 1 to " + std::to_string(max_sku) + " characters", instance));
  authenticated(
      api, ctx, std::move(res), true,
      [api, instance, sku, n = on_hand->get<int64_t>()](caf::event_based_actor* self,
                                                        http::shared_responder res, const auto&) {
        ask_entity(
            api, self, res, instance, stock_kind_name, api->stock_known, sku,
            [res](const stock_record& s) { (*res)(http::json_response(status::ok, to_json(s))); },
            set_stock_atom::value, n);
      });
}

void get_stock(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  auto sku = std::string{ctx.param("sku")};
  authenticated(
      api, ctx, std::move(res), true,
      [api, instance, sku](caf::event_based_actor* self, http::shared_responder res, const auto&) {
        ask_entity(
            api, self, res, instance, stock_kind_name, api->stock_known, sku,
            [res](const stock_record& s) { (*res)(http::json_response(status::ok, to_json(s))); },
            fetch_atom::value);
      });
}

/// Parses `items`: one line per SKU (repeats are summed), sorted by SKU.
std::variant<std::vector<order_item>, http::response> parse_items(const nlohmann::json& json,
                                                                  const std::string& instance) {
  auto items = json.find("items");
  if (items == json.end() || !items->is_array() || items->empty() || items->size() > max_lines)
    return bad_field(
        "field 'items' must be an array of 1 to " + std::to_string(max_lines) + " lines", instance);
  std::map<std::string, int64_t> lines;
  for (const auto& line : *items) {
    if (!line.is_object())
      return bad_field("each line of 'items' must be an object", instance);
    auto sku = http::required_string(line, "sku", 1, max_sku);
    if (auto problem = http::first_problem(sku))
      return std::move(*problem);
    auto q = line.find("quantity");
    if (q == line.end() || !q->is_number_integer() || *q < 1 || *q > max_quantity)
      return bad_field("field 'quantity' must be an integer from 1 to " +
                           std::to_string(max_quantity),
                       instance);
    auto& sum = lines[std::get<std::string>(sku)];
    sum += q->get<int64_t>();
    if (sum > max_quantity)
      return bad_field("at most " + std::to_string(max_quantity) + " units per SKU", instance);
  }
  std::vector<order_item> out;
  for (auto& [sku, quantity] : lines)
    out.push_back({sku, quantity});
  return out;
}

void place_order(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  auto key_field = ctx.req.find("Idempotency-Key");
  auto key =
      key_field == ctx.req.end() ? std::string{} : std::string{http::std_view(key_field->value())};
  if (key.empty() || key.size() > max_key)
    return res(http::problem_response(
        status::bad_request, http::problem::bad_request, "Idempotency-Key required",
        "send a unique Idempotency-Key header (1 to " + std::to_string(max_key) +
            " characters) with every new order; repeat it to retry safely",
        instance));
  auto body = http::read_json_object(ctx.req);
  if (auto problem = http::first_problem(body))
    return res(std::move(*problem));
  auto& json = std::get<nlohmann::json>(body);
  if (auto problem = http::reject_unknown_fields(json, {"items", "payment"}))
    return res(std::move(*problem));
  auto items = parse_items(json, instance);
  if (auto problem = http::first_problem(items))
    return res(std::move(*problem));
  auto payment = json.find("payment");
  if (payment == json.end() || !payment->is_object())
    return res(bad_field("field 'payment' must be an object {method, token}", instance));
  auto method = http::required_string(*payment, "method", 1, 50);
  auto token = http::required_string(*payment, "token", 1, 200);
  if (auto problem = http::first_problem(method, token))
    return res(std::move(*problem));
  order_record req;
  req.items = std::move(std::get<std::vector<order_item>>(items));
  req.payment_method = std::get<std::string>(method);
  req.payment_token = std::get<std::string>(token);
  req.idempotency_key = key;
  req.request_hash = request_digest(req.items, req.payment_method, req.payment_token);
  authenticated(
      api, ctx, std::move(res), false,
      [api, instance, req](caf::event_based_actor* self, http::shared_responder res,
                           const auth::jwt_claims& who) mutable {
        req.user_id = who.subject;
        auto id = order_id_for(req.user_id, req.idempotency_key);
        auto place = [=] {
          ask_entity(
              api, self, res, instance, order_kind_name, api->orders_known, id,
              [res](const order_record& r, bool created) {
                auto out = http::json_response(created ? status::created : status::ok, to_json(r));
                out.set(boost::beast::http::field::location, "/v1/orders/" + r.id);
                (*res)(std::move(out));
              },
              place_atom::value, req);
        };
        // While payments fail fast a new order would only be rejected: refuse it
        // now, with the breaker's Retry-After, and store nothing.
        if (auto wait = api->payments ? api->payments->open_at(self->clock().now()) : std::nullopt)
          return fail_with(res, instance)(
              make_error(errc::dependency_unavailable,
                         "payments are failing; new orders are refused for now", *wait));
        place();
      });
}

void get_order(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  auto id = std::string{ctx.param("id")};
  if (!is_uuid(id))
    return res(
        http::problem_from_error(make_error(errc::no_such_record, "no such order"), instance));
  authenticated(api, ctx, std::move(res), false,
                [api, instance, id](caf::event_based_actor* self, http::shared_responder res,
                                    const auth::jwt_claims& who) {
                  ask_entity(
                      api, self, res, instance, order_kind_name, api->orders_known, id,
                      [res, instance, who](const order_record& r) {
                        if (!may_see(who, r))
                          return fail_with(res, instance)(make_error(
                              errc::forbidden, "only the owner or an admin may see an order"));
                        (*res)(http::json_response(status::ok, to_json(r)));
                      },
                      fetch_atom::value);
                });
}

void cancel_order(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  auto id = std::string{ctx.param("id")};
  if (!is_uuid(id))
    return res(
        http::problem_from_error(make_error(errc::no_such_record, "no such order"), instance));
  authenticated(api, ctx, std::move(res), false,
                [api, instance, id](caf::event_based_actor* self, http::shared_responder res,
                                    const auth::jwt_claims& who) {
                  // The owner check needs the order; the cancel itself is decided by its entity.
                  ask_entity(
                      api, self, res, instance, order_kind_name, api->orders_known, id,
                      [=](const order_record& r) {
                        if (!may_see(who, r))
                          return fail_with(res, instance)(make_error(
                              errc::forbidden, "only the owner or an admin may cancel an order"));
                        ask_entity(
                            api, self, res, instance, order_kind_name, api->orders_known, id,
                            [res](const order_record& cancelled) {
                              (*res)(http::json_response(status::ok, to_json(cancelled)));
                            },
                            cancel_atom::value);
                      },
                      fetch_atom::value);
                });
}

/// Reads `?user_id=&status=&limit=&cursor=` into a query; a 400 names the bad parameter.
std::variant<order_query, http::response> parse_query(const http::request& req,
                                                      const auth::jwt_claims& who) {
  auto instance = std::string{req.target()};
  auto bad = [&](const std::string& detail) {
    return http::problem_response(status::bad_request, http::problem::bad_request, "Invalid query",
                                  detail, instance);
  };
  order_query q;
  q.user_id = who.subject;
  for (const auto& [name, value] : http::parse_query(http::std_view(req.target()))) {
    if (name == "user_id") {
      if (!is_uuid(value))
        return bad("'user_id' must be a user id");
      q.user_id = value;
    } else if (name == "status") {
      order_status s;
      if (!parse(value, s))
        return bad("'status' must be one of pending, reserved, authorized, confirmed, "
                   "rejecting, rejected, cancelling, cancelled");
      q.status = s;
    } else if (name == "limit") {
      auto n = std::atoll(value.c_str());
      if (n < 1 || n > static_cast<long long>(max_page) || std::to_string(n) != value)
        return bad("'limit' must be an integer from 1 to " + std::to_string(max_page));
      q.limit = static_cast<size_t>(n);
    } else if (name == "cursor") {
      auto cut = value.find('_');
      if (cut == std::string::npos || !is_uuid(value.substr(cut + 1)) ||
          std::to_string(std::atoll(value.substr(0, cut).c_str())) != value.substr(0, cut))
        return bad("'cursor' must be a next_cursor from an earlier page");
      q.before = std::make_pair(std::atoll(value.substr(0, cut).c_str()), value.substr(cut + 1));
    } else {
      return bad("unknown query parameter '" + name + "'");
    }
  }
  if (q.user_id != who.subject && who.role != "admin")
    return http::problem_from_error(
        make_error(errc::forbidden, "only an admin may list another user's orders"), instance);
  return q;
}

void list_orders(const api_ptr& api, http::request_context ctx, http::responder res) {
  auto instance = std::string{ctx.req.target()};
  auto claims = auth::authenticate(*api->tokens, ctx.req);
  if (!claims)
    return res(http::problem_from_error(claims.error(), instance));
  auto query = parse_query(ctx.req, *claims);
  if (auto problem = http::first_problem(query))
    return res(std::move(*problem));
  http::serve_from_actor(
      *api->system, std::move(res),
      [api, instance, who = *claims, q = std::get<order_query>(query)](caf::event_based_actor* self,
                                                                       http::shared_responder res) {
        confirmed(api, self, res, instance, who, [=] {
          api->orders->list(
              self, q,
              [res, instance, limit = q.limit](caf::expected<std::vector<order_record>> found) {
                if (!found)
                  return fail_with(res, instance)(found.error());
                nlohmann::json out{{"items", nlohmann::json::array()}};
                for (const auto& r : *found)
                  out["items"].push_back(to_json(r));
                if (found->size() == limit)
                  out["next_cursor"] =
                      std::to_string(found->back().created_at_ms) + "_" + found->back().id;
                (*res)(http::json_response(status::ok, out));
              });
        });
      },
      ctx.trace.log());
}

} // namespace

void add_order_routes(http::router& routes, std::shared_ptr<const order_api> api) {
  using http::verb;
  auto bind = [&](verb v, const char* pattern, auto fn) {
    routes.add(v, pattern, [api, fn](http::request_context ctx, http::responder res) {
      fn(api, std::move(ctx), std::move(res));
    });
  };
  bind(verb::put, "/v1/inventory/{sku}", put_stock);
  bind(verb::get, "/v1/inventory/{sku}", get_stock);
  bind(verb::post, "/v1/orders", place_order);
  bind(verb::get, "/v1/orders", list_orders);
  bind(verb::get, "/v1/orders/{id}", get_order);
  bind(verb::post, "/v1/orders/{id}/cancel", cancel_order);
}

} // namespace troupe::order
