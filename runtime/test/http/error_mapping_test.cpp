#include "troupe/http/error_mapping.hpp"

#include <boost/beast/http/field.hpp>
#include <caf/sec.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "troupe/core/error.hpp"
#include "troupe/http/response.hpp"

namespace troupe::http {
namespace {

using boost::beast::http::field;

struct expectation {
  caf::error err;
  status code;
  std::string type;
};

TEST(http_error_mapping, codes_map_to_status_and_type) {
  std::vector<expectation> cases{
      {make_error(errc::invalid_argument, "bad id"), status::bad_request, "bad-request"},
      {make_error(errc::unauthenticated), status::unauthorized, "unauthorized"},
      {make_error(errc::forbidden), status::forbidden, "forbidden"},
      {make_error(errc::no_such_record), status::not_found, "not-found"},
      {make_error(errc::not_found), status::not_found, "not-found"},
      {make_error(errc::already_exists), status::conflict, "conflict"},
      {make_error(errc::version_conflict), status::conflict, "conflict"},
      {make_error(errc::store_unavailable), status::service_unavailable, "unavailable"},
      {make_error(errc::overloaded), status::service_unavailable, "unavailable"},
      {make_error(errc::shutting_down), status::service_unavailable, "unavailable"},
      {make_error(errc::restarting), status::service_unavailable, "unavailable"},
      {make_error(errc::dependency_unavailable), status::service_unavailable, "unavailable"},
      {make_error(errc::not_settled), status::service_unavailable, "unavailable"},
      {make_error(errc::dependency_failed, "provider said 500"), status::bad_gateway,
       "bad-gateway"},
      {make_error(errc::payment_declined, "card declined"), status::payment_required,
       "payment-declined"},
      {make_error(errc::store_timeout), status::gateway_timeout, "timeout"},
      {make_error(errc::timeout, "webhook"), status::gateway_timeout, "timeout"},
      {caf::make_error(caf::sec::request_timeout), status::gateway_timeout, "timeout"},
      {caf::make_error(caf::sec::request_receiver_down), status::service_unavailable,
       "unavailable"},
      {make_error(errc::store_failure, "relation users"), status::internal_server_error,
       "internal"},
      {make_error(errc::escalated), status::internal_server_error, "internal"},
      {caf::make_error(caf::sec::unexpected_message), status::internal_server_error, "internal"},
      {caf::error{}, status::internal_server_error, "internal"},
  };
  for (const auto& c : cases) {
    auto res = problem_from_error(c.err, "/v1/users/7");
    SCOPED_TRACE(describe(c.err));
    EXPECT_EQ(res.result(), c.code);
    EXPECT_EQ(std_view(res[field::content_type]), problem_content_type);
    auto body = nlohmann::json::parse(res.body());
    EXPECT_EQ(body["type"], problem_type_uri(c.type));
    EXPECT_EQ(body["status"], static_cast<unsigned>(c.code));
    EXPECT_EQ(body["instance"], "/v1/users/7");
    EXPECT_FALSE(body["title"].get<std::string>().empty());
    bool retry = c.code == status::service_unavailable;
    EXPECT_EQ(res.find(field::retry_after) != res.end(), retry);
    if (retry) {
      EXPECT_EQ(res[field::retry_after], "1");
    }
  }
}

TEST(http_error_mapping, retry_after_comes_from_the_error_in_whole_seconds_rounded_up) {
  auto retry_after = [](caf::timespan hint) {
    auto err = make_error(errc::dependency_unavailable, "payment provider failing", hint);
    auto res = problem_from_error(err, "/v1/orders");
    EXPECT_EQ(res.result(), status::service_unavailable);
    auto body = nlohmann::json::parse(res.body());
    EXPECT_EQ(body["detail"], "dependency_unavailable: payment provider failing");
    return std::string{std_view(res[field::retry_after])};
  };
  EXPECT_EQ(retry_after(std::chrono::seconds{5}), "5");
  EXPECT_EQ(retry_after(std::chrono::milliseconds{2001}), "3");
  EXPECT_EQ(retry_after(std::chrono::milliseconds{10}), "1");
  EXPECT_EQ(retry_after(caf::timespan{0}), "1");
}

TEST(http_error_mapping, unauthorized_carries_a_bearer_challenge) {
  auto res = problem_from_error(make_error(errc::unauthenticated, "token expired"), "/v1/users/me");
  EXPECT_EQ(res[field::www_authenticate], "Bearer");
  auto body = nlohmann::json::parse(res.body());
  EXPECT_EQ(body["detail"], "unauthenticated: token expired");
}

TEST(http_error_mapping, detail_is_the_description_for_client_errors) {
  auto err = make_error(errc::already_exists, "email already registered");
  auto body = nlohmann::json::parse(problem_from_error(err, "/v1/users").body());
  EXPECT_EQ(body["detail"], describe(err));
}

TEST(http_error_mapping, internal_errors_do_not_leak) {
  auto err = make_error(errc::store_failure, "password authentication failed for db-7.internal");
  auto res = problem_from_error(err, "/v1/users");
  EXPECT_EQ(res.body().find("db-7"), std::string::npos);
  EXPECT_EQ(res.body().find("store_failure"), std::string::npos);
}

} // namespace
} // namespace troupe::http
