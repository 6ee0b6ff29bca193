#pragma once

#include <string>

#include "troupe/observability/trace_context.hpp"

namespace troupe::observability {

/// What every log line of the current piece of work carries: the request id and the W3C
/// trace context of the HTTP request that caused it (empty and invalid outside a request).
///
/// The trace context is also what requests to other actors carry from here (see
/// placement's `ask`), so lines on the node that serves them name the same trace.
struct log_context {
  /// The request's id (from `X-Request-Id` or generated); empty on other nodes, where only
  /// the trace travelled.
  std::string request_id;
  /// The trace, with the span of the work in progress.
  trace_context trace;
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

/// Runs `f()` with `trace` as the log context, unless there is none or the work in progress
/// carries it already (keeping that work's richer context, e.g. its request id): for work done
/// on behalf of a request somewhere else, later, or on another thread.
template <class F>
decltype(auto) within_trace(const trace_context& trace, F&& f) {
  if (!trace.valid() || current_log_context().trace == trace)
    return f();
  log_context ctx{{}, trace};
  log_scope scope{ctx};
  return f();
}

} // namespace troupe::observability
