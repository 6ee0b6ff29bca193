#include "troupe/http/json_body.hpp"

#include <boost/beast/http/field.hpp>
#include <gtest/gtest.h>

#include "troupe/http/response.hpp"

namespace troupe::http {
namespace {

using boost::beast::http::field;
using json = nlohmann::json;

request post(std::string body, std::string content_type = "application/json") {
  request req{verb::post, "/v1/users", 11};
  if (!content_type.empty())
    req.set(field::content_type, content_type);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

// The problem body of a response that must be one.
json problem_of(const response& res) {
  EXPECT_EQ(std_view(res[field::content_type]), problem_content_type);
  return json::parse(res.body());
}

json expect_problem(const std::variant<json, response>& out, status code) {
  auto* res = std::get_if<response>(&out);
  if (res == nullptr) {
    ADD_FAILURE() << "expected a problem, got " << std::get<json>(out).dump();
    return {};
  }
  EXPECT_EQ(res->result(), code);
  return problem_of(*res);
}

TEST(http_json_body, accepts_a_json_object) {
  auto out = read_json_object(post(R"({"email":"a@b.c","n":1})"));
  ASSERT_TRUE(std::holds_alternative<json>(out));
  EXPECT_EQ(std::get<json>(out)["email"], "a@b.c");
}

TEST(http_json_body, content_type_parameters_and_case_are_accepted) {
  for (auto ct : {"application/json; charset=utf-8", "Application/JSON", " application/json ;x=y"})
    EXPECT_TRUE(std::holds_alternative<json>(read_json_object(post("{}", ct)))) << ct;
}

TEST(http_json_body, other_media_types_get_415) {
  for (auto ct : {"", "text/plain", "application/jsonx", "application/problem+json",
                  "application/x-www-form-urlencoded"}) {
    auto body = expect_problem(read_json_object(post("{}", ct)), status::unsupported_media_type);
    EXPECT_EQ(body["type"], "https://troupe.dev/problems/unsupported-media-type") << ct;
    EXPECT_EQ(body["instance"], "/v1/users");
  }
}

TEST(http_json_body, nul_anywhere_in_a_string_gets_400_naming_the_field) {
  for (auto [body, detail] : {
           std::pair{R"({"display_name":"a\u0000b"})",
                     "field 'display_name' must not contain U+0000"},
           std::pair{R"({"items":[{"sku":"x"},{"sku":"y\u0000"}]})",
                     "field 'items[1].sku' must not contain U+0000"},
           std::pair{R"({"a":{"b":["\u0000"]}})", "field 'a.b[0]' must not contain U+0000"},
           std::pair{R"({"k\u0000":1})", "a member name contains U+0000"},
       }) {
    auto problem = expect_problem(read_json_object(post(body)), status::bad_request);
    EXPECT_EQ(problem["type"], "https://troupe.dev/problems/bad-request");
    EXPECT_EQ(problem["detail"], detail) << body;
  }
  // Other control characters and escapes stay allowed.
  EXPECT_TRUE(std::holds_alternative<json>(read_json_object(post(R"({"a":"x\u0001\n"})"))));
}

TEST(http_json_body, string_helpers_refuse_nul_too) {
  json obj{{"name", std::string{"a\0b", 3}}};
  auto out = required_string(obj, "name", 1, 10);
  ASSERT_TRUE(std::holds_alternative<response>(out));
  EXPECT_EQ(problem_of(std::get<response>(out))["detail"], "field 'name' must not contain U+0000");
}

TEST(http_json_body, malformed_json_gets_400_with_position) {
  auto body = expect_problem(read_json_object(post(R"({"a": tru})")), status::bad_request);
  EXPECT_EQ(body["type"], "https://troupe.dev/problems/bad-request");
  EXPECT_NE(body["detail"].get<std::string>().find("not valid JSON"), std::string::npos);
  EXPECT_NE(body["detail"].get<std::string>().find("byte"), std::string::npos);
}

TEST(http_json_body, empty_and_non_object_bodies_get_400) {
  expect_problem(read_json_object(post("")), status::bad_request);
  expect_problem(read_json_object(post("  \n")), status::bad_request);
  auto arr = expect_problem(read_json_object(post("[1,2]")), status::bad_request);
  EXPECT_EQ(arr["detail"], "the request body must be a JSON object, not an array");
  auto str = expect_problem(read_json_object(post(R"("x")")), status::bad_request);
  EXPECT_EQ(str["detail"], "the request body must be a JSON object, not a string");
  expect_problem(read_json_object(post("null")), status::bad_request);
  expect_problem(read_json_object(post("{} {}")), status::bad_request);
}

TEST(http_json_body, huge_input_is_not_echoed) {
  std::string big = R"({"a":")" + std::string(100000, 'x') + "\"";
  auto res = std::get<response>(read_json_object(post(big)));
  EXPECT_LT(res.body().size(), 512u);
}

TEST(http_json_body, deep_nesting_is_refused) {
  std::string deep = R"({"a":)" + std::string(10000, '[') + std::string(10000, ']') + "}";
  auto body = expect_problem(read_json_object(post(deep)), status::bad_request);
  EXPECT_NE(body["detail"].get<std::string>().find("nests deeper"), std::string::npos);
  // Brackets inside strings do not count.
  auto ok = read_json_object(post(R"({"a":")" + std::string(100, '[') + "\"}"));
  EXPECT_TRUE(std::holds_alternative<json>(ok));
}

TEST(http_json_body, invalid_utf8_in_body_gets_400) {
  expect_problem(read_json_object(post("{\"a\":\"\xff\"}")), status::bad_request);
}

json detail_of(const std::variant<std::string, response>& out) {
  auto* res = std::get_if<response>(&out);
  if (res == nullptr) {
    ADD_FAILURE() << "expected a problem, got " << std::get<std::string>(out);
    return {};
  }
  EXPECT_EQ(res->result(), status::bad_request);
  return problem_of(*res)["detail"];
}

TEST(http_json_body, required_string_checks_presence_type_and_length) {
  json obj{{"name", "Zoë"}, {"n", 5}, {"nil", nullptr}, {"long", std::string(11, 'a')}};
  auto ok = required_string(obj, "name", 3, 3);
  ASSERT_TRUE(std::holds_alternative<std::string>(ok));
  EXPECT_EQ(std::get<std::string>(ok), "Zoë");
  EXPECT_EQ(detail_of(required_string(obj, "missing", 1, 10)), "field 'missing' is required");
  EXPECT_EQ(detail_of(required_string(obj, "nil", 1, 10)), "field 'nil' is required");
  EXPECT_EQ(detail_of(required_string(obj, "n", 1, 10)), "field 'n' must be a string");
  EXPECT_EQ(detail_of(required_string(obj, "name", 4, 10)),
            "field 'name' must be at least 4 characters long");
  EXPECT_EQ(detail_of(required_string(obj, "long", 1, 10)),
            "field 'long' must be at most 10 characters long");
}

TEST(http_json_body, required_string_rejects_invalid_utf8) {
  json obj{{"s", "a\xc3"}};
  EXPECT_EQ(detail_of(required_string(obj, "s", 0, 10)), "field 's' is not valid UTF-8");
}

TEST(http_json_body, optional_string_allows_absence) {
  json obj{{"a", "x"}, {"b", nullptr}, {"c", true}};
  auto a = optional_string(obj, "a", 1, 5);
  ASSERT_TRUE(std::holds_alternative<std::optional<std::string>>(a));
  EXPECT_EQ(std::get<std::optional<std::string>>(a), "x");
  EXPECT_EQ(std::get<std::optional<std::string>>(optional_string(obj, "b", 1, 5)), std::nullopt);
  EXPECT_EQ(std::get<std::optional<std::string>>(optional_string(obj, "z", 1, 5)), std::nullopt);
  auto c = optional_string(obj, "c", 1, 5);
  ASSERT_TRUE(std::holds_alternative<response>(c));
  EXPECT_EQ(problem_of(std::get<response>(c))["detail"], "field 'c' must be a string");
  EXPECT_TRUE(std::holds_alternative<response>(optional_string(obj, "a", 2, 5)));
}

TEST(http_json_body, unknown_fields_are_named) {
  json obj{{"email", "x"}, {"admin", true}};
  EXPECT_FALSE(reject_unknown_fields(obj, {"email", "admin"}));
  auto res = reject_unknown_fields(obj, {"email"});
  ASSERT_TRUE(res);
  EXPECT_EQ(problem_of(*res)["detail"], "field 'admin' is not allowed here");
  auto huge = reject_unknown_fields(json{{std::string(1000, 'k'), 1}}, {});
  ASSERT_TRUE(huge);
  EXPECT_LT(huge->body().size(), 512u);
}

TEST(http_json_body, utf8_length_counts_code_points) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("Zoë"), 3u);
  EXPECT_EQ(utf8_length("\xe2\x82\xac"), 1u);               // €
  EXPECT_EQ(utf8_length("\xf0\x9f\x98\x80"), 1u);           // U+1F600
  EXPECT_EQ(utf8_length("\xc0\xaf"), std::nullopt);         // overlong '/'
  EXPECT_EQ(utf8_length("\xed\xa0\x80"), std::nullopt);     // surrogate
  EXPECT_EQ(utf8_length("\xf4\x90\x80\x80"), std::nullopt); // > U+10FFFF
  EXPECT_EQ(utf8_length("\xe2\x82"), std::nullopt);         // truncated
  EXPECT_EQ(utf8_length("\x80"), std::nullopt);
}

} // namespace
} // namespace troupe::http
