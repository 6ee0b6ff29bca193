#pragma once

// The one place that knows libpqxx's exception types.

#include <caf/error.hpp>

namespace troupe::store::detail {

/// Maps the exception being handled (call only inside a catch block) to an `errc` error and
/// sets `broken` when the connection cannot be used any more.
caf::error map_current_exception(bool& broken);

} // namespace troupe::store::detail
