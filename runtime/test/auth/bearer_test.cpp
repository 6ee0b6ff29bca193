#include "troupe/auth/bearer.hpp"

#include <gtest/gtest.h>

namespace troupe::auth {
namespace {

std::optional<std::string_view> parse(const http::request& req) {
  return bearer_token(req);
}

http::request with_authorization(std::string value) {
  http::request req{http::verb::get, "/v1/users/me", 11};
  req.set(boost::beast::http::field::authorization, value);
  return req;
}

TEST(auth_bearer, extracts_the_token) {
  auto req = with_authorization("Bearer abc.def-ghi_jkl");
  EXPECT_EQ(parse(req), "abc.def-ghi_jkl");
}

TEST(auth_bearer, scheme_is_case_insensitive_and_spaces_are_trimmed) {
  auto a = with_authorization("bearer tok");
  EXPECT_EQ(parse(a), "tok");
  auto b = with_authorization("BEARER    tok==");
  EXPECT_EQ(parse(b), "tok==");
  auto c = with_authorization("  BeArEr tok  ");
  EXPECT_EQ(parse(c), "tok");
}

TEST(auth_bearer, missing_or_malformed_is_nullopt) {
  http::request none{http::verb::get, "/", 11};
  EXPECT_EQ(parse(none), std::nullopt);
  for (auto value :
       {"", "Bearer", "Bearer ", "Bearer    ", "Basic dXNlcjpwdw==", "Bearertok", "Bearer a b",
        "Bearer a\tb", "Bearer ==", "Bearer tok=x", "Bearer t\xc3\xa9"}) {
    auto req = with_authorization(value);
    EXPECT_EQ(parse(req), std::nullopt) << '"' << value << '"';
  }
}

} // namespace
} // namespace troupe::auth
