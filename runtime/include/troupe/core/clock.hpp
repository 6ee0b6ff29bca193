#pragma once

#include <cstdint>
#include <string>

namespace troupe {

/// Returns the wall-clock time in milliseconds since the Unix epoch (for stored timestamps).
int64_t unix_now_ms() noexcept;

/// Formats milliseconds since the Unix epoch as RFC 3339 UTC, e.g. "2026-11-27T17:31:24.110Z".
std::string format_iso8601(int64_t unix_ms);

} // namespace troupe
