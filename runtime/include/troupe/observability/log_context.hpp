#pragma once

#include <string>

namespace troupe::observability {

/// What every log line of the current piece of work carries: the request id and the
/// W3C trace id of the HTTP request that caused it (both empty outside a request).
struct log_context {
  /// The request's id (from `X-Request-Id` or generated).
  std::string request_id;
  /// The 32-hex-digit W3C trace id.
  std::string trace_id;
};

/// Returns this thread's current context.
const log_context& current_log_context() noexcept;

/// Makes `ctx` this thread's context until destroyed, then restores the previous one;
/// nests, so a handler may run inside another's scope.
class log_scope {
public:
  /// Installs `ctx`.
  explicit log_scope(log_context ctx);
  /// Restores the previous context.
  ~log_scope();
  log_scope(const log_scope&) = delete;
  log_scope& operator=(const log_scope&) = delete;

private:
  log_context previous_;
};

} // namespace troupe::observability
