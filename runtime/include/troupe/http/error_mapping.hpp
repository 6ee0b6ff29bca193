#pragma once

#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "troupe/http/message.hpp"

namespace troupe::http {

namespace problem {
/// The request conflicts with the current state, e.g. a duplicate or a stale version.
inline constexpr std::string_view conflict = "conflict";
/// A dependency of the service answered with a failure.
inline constexpr std::string_view bad_gateway = "bad-gateway";
/// The payment was declined; another payment method may succeed.
inline constexpr std::string_view payment_declined = "payment-declined";
} // namespace problem

/// Turns a runtime error into an RFC 9457 problem response for the resource `instance`.
///
/// Client mistakes map to 4xx, unavailability to 503 with `Retry-After` (the error's own retry
/// delay in whole seconds when it carries one, else 1), a failing dependency to 502, timeouts to
/// 504; the detail is `troupe::describe(err)`, except for a 500, whose internals stay private.
response problem_from_error(const caf::error& err, std::string instance);

} // namespace troupe::http
