#pragma once

// The one place that knows libpqxx's exception types.

#include <string>

#include <caf/error.hpp>

namespace troupe::store::detail {

/// Maps the exception being handled (call only inside a catch block) to an `errc` error and
/// sets `broken` when the connection cannot be used any more.
caf::error map_current_exception(bool& broken);

/// Maps a statement's SQLSTATE and message to an `errc` error, as for a libpqxx exception
/// carrying them; sets `broken` when the connection cannot be used any more.
caf::error map_sqlstate(const std::string& state, const std::string& what, bool& broken);

} // namespace troupe::store::detail
