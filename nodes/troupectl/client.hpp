#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <caf/expected.hpp>

#include "troupe/http/client.hpp"

namespace troupe::ctl {

/// One request to the node: method, target (path and query) and a JSON body if any.
struct request {
  /// "GET", "POST" or "DELETE".
  std::string method;
  /// Path and query, e.g. "/admin/entities?kind=user".
  std::string target;
  /// A JSON document, or empty for none.
  std::string body;
};

/// What the node answered, whatever the status.
struct reply {
  /// The HTTP status, e.g. 200 or 401.
  unsigned status = 0;
  /// The body as sent.
  std::string body;
};

/// Sends a request and waits for the reply; an error when the node cannot be reached or
/// does not answer in time. Commands take one of these, so tests can answer without a network.
using transport = std::function<caf::expected<reply>(const request&)>;

/// The human part of a transport or URL error, without its code name.
std::string reason(const caf::error& err);

/// A transport speaking HTTP/1.1 to `node`, one connection per request, with `token` as the
/// bearer and at most `timeout` for each request, from name lookup to the last byte.
transport http_transport(http::http_url node, std::string token, std::chrono::milliseconds timeout);

} // namespace troupe::ctl
