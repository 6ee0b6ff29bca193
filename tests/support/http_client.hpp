#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace troupe::testing {

/// One HTTP exchange as a test sees it.
struct http_reply {
  /// Status code, or 0 if the exchange failed.
  int status = 0;
  /// Response headers (lower-case names).
  std::map<std::string, std::string> headers;
  /// Response body.
  std::string body;
  /// Why the exchange failed, if it did.
  std::string error;
};

/// Sends one request to `host`:`port` on a fresh connection, bounded by `timeout`.
http_reply http_call(const std::string& host, uint16_t port, const std::string& method,
                     const std::string& target,
                     const std::map<std::string, std::string>& headers = {},
                     const std::string& body = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Sends one request to 127.0.0.1:`port` on a fresh connection, bounded by `timeout`.
http_reply http_call(uint16_t port, const std::string& method, const std::string& target,
                     const std::map<std::string, std::string>& headers = {},
                     const std::string& body = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

} // namespace troupe::testing
