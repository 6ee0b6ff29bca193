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
///
/// The scope refers to `ctx` rather than copying it (it is entered once per request on
/// the io thread), so `ctx` must outlive the scope; temporaries are refused.
class log_scope {
public:
  /// Installs `ctx`, which must outlive the scope.
  explicit log_scope(const log_context& ctx) noexcept;
  log_scope(log_context&&) = delete;
  /// Restores the previous context.
  ~log_scope();
  log_scope(const log_scope&) = delete;
  log_scope& operator=(const log_scope&) = delete;

private:
  const log_context* previous_;
};

} // namespace troupe::observability
