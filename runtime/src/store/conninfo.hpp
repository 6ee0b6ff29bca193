#pragma once

// libpq URL handling that must never leak the password.

#include <chrono>
#include <string>

namespace troupe::store::detail {

/// Returns "host:port" of a libpq URL (port 5432 if absent), without user or password.
std::string endpoint_of(const std::string& url);

/// Returns `url` with libpq's connect_timeout set to `timeout` in whole seconds (at least 1).
std::string with_connect_timeout(const std::string& url, std::chrono::milliseconds timeout);

/// Shortens a libpq error message to its reason, on one line, e.g. "Connection refused".
std::string short_reason(const std::string& what);

} // namespace troupe::store::detail
