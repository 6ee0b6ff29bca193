#pragma once

#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "troupe/http/message.hpp"
#include "troupe/http/response.hpp"

namespace troupe::http {

/// Turns a runtime error into an RFC 9457 problem response for the resource `instance`.
///
/// Client mistakes map to 4xx, unavailability to 503 with `Retry-After` (the error's own retry
/// delay in whole seconds when it carries one, else 1), a failing dependency to 502, timeouts to
/// 504; the detail is `troupe::describe(err)`, except for a 500, whose internals stay private.
response problem_from_error(const caf::error& err, std::string instance);

} // namespace troupe::http
