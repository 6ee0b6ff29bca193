#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "troupe/http/message.hpp"
#include "troupe/observability/log_context.hpp"

namespace troupe::http {

/// The W3C trace context and request id of one request; `request_id` (from
/// `X-Request-Id`, else generated) and `trace` (this server's span of the trace) are the log
/// context its lines carry, and what requests to actors carry on.
struct trace_info : observability::log_context {
  /// 32 lower-case hex digits, shared by every hop of the trace.
  std::string trace_id;
  /// 16 hex digits naming this server's span.
  std::string span_id;
  /// The caller's span (empty when this server started the trace).
  std::string parent_id;
  /// Trace flags, two hex digits ("01" = sampled).
  std::string flags = "01";

  /// Returns the `traceparent` header value for this span.
  std::string traceparent() const;

  /// Appends the `traceparent` header value for this span to `out`.
  void append_traceparent(std::string& out) const;

  /// Returns what log lines of this request carry.
  const observability::log_context& log() const noexcept { return *this; }
};

/// The parts of a valid version-00 `traceparent`.
struct traceparent_parts {
  /// The trace id.
  std::string trace_id;
  /// The caller's span id.
  std::string parent_id;
  /// The caller's flags.
  std::string flags;
};

/// Parses a `traceparent` header; nullopt for anything the W3C rules reject (bad
/// length or case, an all-zero id, version ff).
std::optional<traceparent_parts> parse_traceparent(std::string_view value);

/// Continues the caller's trace when `req` carries a valid `traceparent`, or starts a
/// new one; keeps a client's `X-Request-Id` of up to 128 visible ASCII characters.
trace_info trace_for(const request& req);

} // namespace troupe::http
