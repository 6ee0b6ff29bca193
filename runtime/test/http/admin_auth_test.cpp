#include "troupe/http/admin_auth.hpp"

#include <optional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "troupe/http/response.hpp"

namespace troupe::http {
namespace {

using boost::beast::http::field;

// Calls `h` with an optional Authorization header and returns the answer.
response call(const handler& h, std::optional<std::string> authorization) {
  request req{verb::get, "/admin/cluster", 11};
  if (authorization)
    req.set(field::authorization, *authorization);
  std::optional<response> got;
  h(request_context{std::move(req), {}, "/admin/cluster", {}, {}},
    responder{[&got](response res) { got = std::move(res); }});
  EXPECT_TRUE(got.has_value());
  return got ? std::move(*got) : response{};
}

handler inner_ok() {
  return [](request_context ctx, responder res) {
    res(text_response(status::ok, std::string{ctx.route}));
  };
}

TEST(http_admin_auth, without_configured_token_every_call_is_403) {
  for (auto token : {std::optional<std::string>{}, std::optional<std::string>{""}}) {
    auto h = admin_only(token, inner_ok());
    auto res = call(h, "Bearer anything");
    EXPECT_EQ(res.result(), status::forbidden);
    EXPECT_EQ(res[field::content_type], "application/problem+json");
    auto body = nlohmann::json::parse(res.body());
    EXPECT_EQ(body["type"], "https://troupe.dev/problems/forbidden");
    auto detail = body["detail"].get<std::string>();
    EXPECT_NE(detail.find("disabled"), std::string::npos) << detail;
    EXPECT_NE(detail.find("--admin-token"), std::string::npos) << detail;
    EXPECT_NE(detail.find("TROUPE_ADMIN_TOKEN"), std::string::npos) << detail;
  }
}

TEST(http_admin_auth, missing_malformed_or_wrong_credentials_are_401_with_challenge) {
  auto h = admin_only(std::string{"s3cret-token"}, inner_ok());
  for (auto header :
       {std::optional<std::string>{}, std::optional<std::string>{"s3cret-token"},
        std::optional<std::string>{"Basic czNjcmV0LXRva2Vu"}, std::optional<std::string>{"Bearer"},
        std::optional<std::string>{"Bearer "}, std::optional<std::string>{"Bearer s3cret token"},
        std::optional<std::string>{"Bearer s3cret-tokem"},
        std::optional<std::string>{"Bearer s3cret-token2"},
        std::optional<std::string>{"Bearer s3cret"}}) {
    auto res = call(h, header);
    EXPECT_EQ(res.result(), status::unauthorized) << header.value_or("<none>");
    EXPECT_EQ(res[field::www_authenticate], R"(Bearer realm="troupe-admin")");
    EXPECT_EQ(nlohmann::json::parse(res.body())["type"],
              "https://troupe.dev/problems/unauthorized");
  }
}

TEST(http_admin_auth, right_token_passes_through) {
  auto h = admin_only(std::string{"s3cret-token"}, inner_ok());
  auto res = call(h, "Bearer s3cret-token");
  EXPECT_EQ(res.result(), status::ok);
  EXPECT_EQ(res.body(), "/admin/cluster");
  EXPECT_EQ(call(h, "bearer   s3cret-token").result(), status::ok); // scheme is case-insensitive
}

TEST(http_admin_auth, constant_time_equals_compares_content_and_length) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
  EXPECT_FALSE(constant_time_equals("abcd", "abc"));
  EXPECT_FALSE(constant_time_equals("", "a"));
  EXPECT_FALSE(constant_time_equals(std::string(1000, 'x'), std::string(999, 'x')));
}

} // namespace
} // namespace troupe::http
