#include "troupe/http/error_mapping.hpp"

#include <algorithm>
#include <chrono>

#include <boost/beast/http/field.hpp>
#include <caf/sec.hpp>
#include <spdlog/spdlog.h>

#include "troupe/core/error.hpp"
#include "troupe/http/response.hpp"

namespace troupe::http {

namespace {

// How one kind of failure looks to a client.
struct mapping {
  status code;
  std::string_view type;
  std::string_view title;
};

constexpr mapping bad_request{status::bad_request, problem::bad_request, "The request is invalid."};
constexpr mapping unauthorized{status::unauthorized, problem::unauthorized,
                               "Authentication is required."};
constexpr mapping forbidden{status::forbidden, problem::forbidden,
                            "You are not allowed to do this."};
constexpr mapping not_found{status::not_found, problem::not_found, "The resource does not exist."};
constexpr mapping conflict{status::conflict, problem::conflict,
                           "The request conflicts with the current state of the resource."};
constexpr mapping out_of_stock{status::conflict, problem::out_of_stock,
                               "Not enough stock is available."};
constexpr mapping unprocessable{status::unprocessable_entity, problem::unprocessable,
                                "The request cannot be processed as sent."};
constexpr mapping unavailable{status::service_unavailable, problem::unavailable,
                              "The service is temporarily unavailable; retry shortly."};
constexpr mapping timed_out{status::gateway_timeout, problem::timeout,
                            "The request did not complete in time."};
constexpr mapping bad_gateway{status::bad_gateway, problem::bad_gateway,
                              "A service this request depends on failed."};
constexpr mapping payment_declined{status::payment_required, problem::payment_declined,
                                   "The payment was declined."};
constexpr mapping internal{status::internal_server_error, problem::internal,
                           "The server failed to handle the request."};

mapping map_errc(errc code) {
  switch (code) {
  case errc::invalid_argument:
    return bad_request;
  case errc::unauthenticated:
    return unauthorized;
  case errc::forbidden:
    return forbidden;
  case errc::no_such_record:
  case errc::not_found:
    return not_found;
  case errc::already_exists:
  case errc::version_conflict:
  case errc::invalid_state:
    return conflict;
  case errc::payment_declined:
    return payment_declined;
  case errc::out_of_stock:
    return out_of_stock;
  case errc::idempotency_mismatch:
    return unprocessable;
  case errc::store_unavailable:
  case errc::dependency_unavailable:
  case errc::overloaded:
  case errc::shutting_down:
  case errc::restarting:
  case errc::node_down:
  case errc::not_settled:
    return unavailable;
  case errc::store_timeout:
  case errc::timeout:
    return timed_out;
  case errc::dependency_failed:
    return bad_gateway;
  default:
    return internal;
  }
}

mapping map(const caf::error& err) {
  // CAF 0.17's category() dereferences without checking: an empty error has none.
  if (!err)
    return internal;
  if (err.category() == errc_category)
    return map_errc(static_cast<errc>(err.code()));
  if (err.category() == caf::atom("system")) {
    if (err.code() == static_cast<uint8_t>(caf::sec::request_timeout))
      return timed_out;
    if (err.code() == static_cast<uint8_t>(caf::sec::request_receiver_down))
      return unavailable;
  }
  return internal;
}

// Whole seconds, rounded up so a client never comes back before the hint, and at least 1.
std::string retry_after_seconds(const caf::error& err) {
  auto hint = retry_after_of(err).value_or(std::chrono::seconds{1});
  auto secs = std::max<int64_t>(std::chrono::ceil<std::chrono::seconds>(hint).count(), 1);
  return std::to_string(secs);
}

} // namespace

response problem_from_error(const caf::error& err, std::string instance) {
  auto m = map(err);
  std::string detail;
  if (m.code == status::internal_server_error) {
    // The cause stays in the log: it may name tables, hosts or actors.
    spdlog::error("http: {} failed: {}", instance, describe(err));
    detail = "an unexpected error occurred; it has been logged";
  } else {
    detail = describe(err);
  }
  auto res = problem_response(m.code, m.type, std::string{m.title}, std::move(detail),
                              std::move(instance));
  if (m.code == status::unauthorized)
    res.set(boost::beast::http::field::www_authenticate, "Bearer");
  else if (m.code == status::service_unavailable)
    res.set(boost::beast::http::field::retry_after, retry_after_seconds(err));
  return res;
}

} // namespace troupe::http
