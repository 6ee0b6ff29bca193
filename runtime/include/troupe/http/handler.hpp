#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "troupe/http/message.hpp"
#include "troupe/http/responder.hpp"
#include "troupe/http/trace.hpp"

namespace troupe::http {

/// Everything a handler learns about its request; owned, so it may outlive the handler call.
struct request_context {
  /// The request itself; move it away if it must live on.
  request req;
  /// Percent-decoded path parameters, keyed by the names in the pattern.
  std::unordered_map<std::string, std::string> params;
  /// The matched pattern, e.g. "/v1/users/{id}" ("unmatched" when none).
  std::string route;
  /// The request id and trace context, echoed in the response headers.
  trace_info trace;
  /// The address of the peer that sent the request, e.g. "192.0.2.7"; empty without a socket.
  std::string client;

  /// Returns the path parameter `name`, or an empty view if the pattern has none by that name.
  std::string_view param(const std::string& name) const {
    auto i = params.find(name);
    return i == params.end() ? std::string_view{} : std::string_view{i->second};
  }
};

/// Serves one request: runs on an io thread, must not block, answers now or later.
using handler = std::function<void(request_context, responder)>;

} // namespace troupe::http
