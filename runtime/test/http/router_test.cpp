#include "troupe/http/router.hpp"

#include <optional>
#include <stdexcept>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "troupe/http/response.hpp"

namespace troupe::http {
namespace {

request make_request(verb method, std::string target) {
  request req{method, target, 11};
  req.set(boost::beast::http::field::host, "test");
  return req;
}

// Records what a handler saw, and answers 200 with the route as body.
struct recorder {
  std::optional<request_context> seen;

  handler make(std::string tag) {
    return [this, tag](request_context ctx, responder res) {
      seen = std::move(ctx);
      res(text_response(status::ok, tag));
    };
  }
};

// Dispatches without sockets and returns the answer.
response run(const router& r, verb method, std::string target) {
  std::optional<response> got;
  r.dispatch(make_request(method, std::move(target)),
             responder{[&got](response res) { got = std::move(res); }});
  EXPECT_TRUE(got.has_value());
  return got ? std::move(*got) : response{};
}

TEST(http_router, literal_beats_parameter_at_the_same_position) {
  recorder rec;
  router r;
  r.add(verb::get, "/v1/users/{id}", rec.make("by-id"));
  r.add(verb::get, "/v1/users/me", rec.make("me"));
  EXPECT_EQ(run(r, verb::get, "/v1/users/me").body(), "me");
  EXPECT_EQ(rec.seen->route, "/v1/users/me");
  EXPECT_TRUE(rec.seen->params.empty());
  EXPECT_EQ(run(r, verb::get, "/v1/users/42").body(), "by-id");
  EXPECT_EQ(rec.seen->route, "/v1/users/{id}");
  EXPECT_EQ(rec.seen->param("id"), "42");
}

TEST(http_router, falls_back_to_a_parameter_when_the_literal_branch_dead_ends) {
  recorder rec;
  router r;
  r.add(verb::get, "/users/me/settings", rec.make("settings"));
  r.add(verb::get, "/users/{id}/orders", rec.make("orders"));
  EXPECT_EQ(run(r, verb::get, "/users/me/orders").body(), "orders");
  EXPECT_EQ(rec.seen->param("id"), "me");
}

TEST(http_router, parameters_are_percent_decoded_and_the_query_is_ignored) {
  recorder rec;
  router r;
  r.add(verb::get, "/files/{dir}/{name}", rec.make("file"));
  EXPECT_EQ(run(r, verb::get, "/files/a%2Fb/hello%20world.txt?x=1&y=2").body(), "file");
  EXPECT_EQ(rec.seen->param("dir"), "a/b");
  EXPECT_EQ(rec.seen->param("name"), "hello world.txt");
  EXPECT_EQ(rec.seen->req.target(), "/files/a%2Fb/hello%20world.txt?x=1&y=2");
}

TEST(http_router, malformed_escape_is_a_bad_request) {
  recorder rec;
  router r;
  r.add(verb::get, "/files/{name}", rec.make("file"));
  auto res = run(r, verb::get, "/files/%zz");
  EXPECT_EQ(res.result(), status::bad_request);
  EXPECT_FALSE(rec.seen.has_value());
}

TEST(http_router, nul_or_invalid_utf8_in_a_parameter_is_a_400_naming_it) {
  recorder rec;
  router r;
  r.add(verb::get, "/v1/stock/{sku}", rec.make("stock"));
  for (auto [target, detail] :
       {std::pair{"/v1/stock/ab%00cd", "path parameter 'sku' must not contain U+0000"},
        std::pair{"/v1/stock/%FF%FE", "path parameter 'sku' is not valid UTF-8"},
        std::pair{"/v1/stock/%C0%AF", "path parameter 'sku' is not valid UTF-8"}}) {
    auto res = run(r, verb::get, target);
    EXPECT_EQ(res.result(), status::bad_request) << target;
    EXPECT_EQ(res[boost::beast::http::field::content_type], "application/problem+json");
    auto body = nlohmann::json::parse(res.body());
    EXPECT_EQ(body["type"], "https://troupe.dev/problems/bad-request");
    EXPECT_EQ(body["detail"], detail) << target;
  }
  EXPECT_FALSE(rec.seen.has_value());
  // Multi-byte UTF-8 is fine.
  EXPECT_EQ(run(r, verb::get, "/v1/stock/caf%C3%A9").body(), "stock");
  EXPECT_EQ(rec.seen->param("sku"), "caf\xc3\xa9");
}

TEST(http_router, unknown_path_is_404_problem) {
  router r;
  r.add(verb::get, "/v1/users/{id}",
        [](request_context, responder res) { res(text_response(status::ok, "x")); });
  for (auto target : {"/v1/orders", "/v1/users", "/v1/users/", "/v1/users/1/x", "*"}) {
    auto res = run(r, verb::get, target);
    EXPECT_EQ(res.result(), status::not_found) << target;
    EXPECT_EQ(res[boost::beast::http::field::content_type], "application/problem+json");
    auto body = nlohmann::json::parse(res.body());
    EXPECT_EQ(body["type"], "https://troupe.dev/problems/not-found");
    EXPECT_EQ(body["status"], 404);
  }
  EXPECT_EQ(r.match(verb::get, "/nowhere").route, "unmatched");
}

TEST(http_router, wrong_method_is_405_with_sorted_allow) {
  router r;
  auto ok = [](request_context, responder res) { res(text_response(status::ok, "x")); };
  r.add(verb::put, "/v1/users/{id}", ok);
  r.add(verb::get, "/v1/users/{id}", ok);
  r.add(verb::delete_, "/v1/users/{id}", ok);
  r.add(verb::post, "/v1/users", ok);
  auto res = run(r, verb::patch, "/v1/users/7");
  EXPECT_EQ(res.result(), status::method_not_allowed);
  EXPECT_EQ(res[boost::beast::http::field::allow], "DELETE, GET, HEAD, PUT");
  auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["type"], "https://troupe.dev/problems/method-not-allowed");
  EXPECT_EQ(body["status"], 405);
  EXPECT_EQ(r.match(verb::patch, "/v1/users/7").route, "/v1/users/{id}");
  EXPECT_EQ(run(r, verb::get, "/v1/users").result(), status::method_not_allowed);
}

TEST(http_router, allow_unions_every_matching_pattern) {
  router r;
  auto ok = [](request_context, responder res) { res(text_response(status::ok, "x")); };
  r.add(verb::get, "/users/me", ok);
  r.add(verb::delete_, "/users/{id}", ok);
  // The parameter route has DELETE, so DELETE /users/me reaches it.
  EXPECT_EQ(r.match(verb::delete_, "/users/me").route, "/users/{id}");
  auto res = run(r, verb::post, "/users/me");
  EXPECT_EQ(res[boost::beast::http::field::allow], "DELETE, GET, HEAD");
}

TEST(http_router, head_runs_the_get_handler_unless_the_path_has_its_own) {
  recorder rec;
  router r;
  r.add(verb::get, "/v1/users/{id}", rec.make("get"));
  r.add(verb::get, "/v1/items", rec.make("get items"));
  r.add(verb::head, "/v1/items", rec.make("head items"));
  r.add(verb::post, "/v1/users", rec.make("post"));
  EXPECT_EQ(run(r, verb::head, "/v1/users/7").body(), "get");
  EXPECT_EQ(rec.seen->route, "/v1/users/{id}");
  EXPECT_EQ(rec.seen->param("id"), "7");
  EXPECT_EQ(run(r, verb::head, "/v1/items").body(), "head items");
  // No GET, no HEAD: still 405, and the Allow list does not offer HEAD.
  auto res = run(r, verb::head, "/v1/users");
  EXPECT_EQ(res.result(), status::method_not_allowed);
  EXPECT_EQ(res[boost::beast::http::field::allow], "POST");
}

TEST(http_router, routes_lists_method_and_pattern) {
  router r;
  auto ok = [](request_context, responder res) { res(text_response(status::ok, "x")); };
  r.add(verb::post, "/v1/users", ok);
  r.add(verb::get, "/v1/users/{id}", ok);
  r.add(verb::get, "/healthz", ok);
  r.add(verb::delete_, "/v1/users/{id}", ok);
  using row = std::pair<std::string, std::string>;
  EXPECT_EQ(r.routes(), (std::vector<row>{{"GET", "/healthz"},
                                          {"POST", "/v1/users"},
                                          {"DELETE", "/v1/users/{id}"},
                                          {"GET", "/v1/users/{id}"}}));
}

TEST(http_router, duplicate_route_is_rejected) {
  router r;
  auto ok = [](request_context, responder res) { res(text_response(status::ok, "x")); };
  r.add(verb::get, "/v1/users/{id}", ok);
  EXPECT_THROW(r.add(verb::get, "/v1/users/{id}", ok), std::logic_error);
  // Same shape under another parameter name is the same route.
  EXPECT_THROW(r.add(verb::get, "/v1/users/{user}", ok), std::logic_error);
  EXPECT_NO_THROW(r.add(verb::put, "/v1/users/{user}", ok));
  EXPECT_EQ(r.routes().size(), 2u);
}

TEST(http_router, bad_patterns_are_rejected) {
  router r;
  auto ok = [](request_context, responder res) { res(text_response(status::ok, "x")); };
  for (auto p : {"", "v1/users", "/v1//users", "/v1/us{id}", "/v1/{}", "/v1/{a}/{a}", "/v1?x"})
    EXPECT_THROW(r.add(verb::get, p, ok), std::invalid_argument) << p;
  EXPECT_THROW(r.add(verb::get, "/v1", handler{}), std::invalid_argument);
  EXPECT_TRUE(r.routes().empty());
}

TEST(http_router, root_pattern_matches_only_root) {
  recorder rec;
  router r;
  r.add(verb::get, "/", rec.make("root"));
  EXPECT_EQ(run(r, verb::get, "/?q=1").body(), "root");
  EXPECT_EQ(run(r, verb::get, "/x").result(), status::not_found);
}

} // namespace
} // namespace troupe::http
