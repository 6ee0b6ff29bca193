#include "troupe/http/response.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace troupe::http {
namespace {

using boost::beast::http::field;

TEST(http_response, problem_has_rfc9457_members_and_type) {
  auto res = problem_response(status::not_found, problem::not_found, "Not Found", "no user 42",
                              "/v1/users/42");
  EXPECT_EQ(res.result(), status::not_found);
  EXPECT_EQ(res[field::content_type], "application/problem+json");
  EXPECT_EQ(res[field::content_length], std::to_string(res.body().size()));
  auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body, (nlohmann::json{{"type", "https://troupe.dev/problems/not-found"},
                                  {"title", "Not Found"},
                                  {"status", 404},
                                  {"detail", "no user 42"},
                                  {"instance", "/v1/users/42"}}));
}

TEST(http_response, problem_omits_empty_detail_and_instance) {
  auto res = problem_response(status::service_unavailable, problem::unavailable, "Unavailable");
  auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["status"], 503);
  EXPECT_EQ(body["type"], "https://troupe.dev/problems/unavailable");
  EXPECT_FALSE(body.contains("detail"));
  EXPECT_FALSE(body.contains("instance"));
}

TEST(http_response, json_response_serializes_and_survives_bad_utf8) {
  auto res = json_response(status::created, nlohmann::json{{"id", 7}, {"name", "a\xff"}});
  EXPECT_EQ(res.result(), status::created);
  EXPECT_EQ(res[field::content_type], "application/json");
  auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["id"], 7);
  EXPECT_EQ(res[field::content_length], std::to_string(res.body().size()));
}

TEST(http_response, text_response_uses_given_content_type) {
  auto res = text_response(status::ok, "hello");
  EXPECT_EQ(res[field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(res.body(), "hello");
  auto metrics = text_response(status::ok, "m 1\n", "text/plain; version=0.0.4");
  EXPECT_EQ(metrics[field::content_type], "text/plain; version=0.0.4");
  EXPECT_EQ(metrics[field::content_length], "4");
}

TEST(http_response, problem_type_uri_is_stable) {
  EXPECT_EQ(problem_type_uri(problem::payload_too_large),
            "https://troupe.dev/problems/payload-too-large");
  EXPECT_EQ(problem_type_uri(problem::timeout), "https://troupe.dev/problems/timeout");
}

} // namespace
} // namespace troupe::http
