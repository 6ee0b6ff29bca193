#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <caf/meta/type_name.hpp>

namespace troupe::observability {

/// The W3C trace context a piece of work continues: a 128-bit trace id shared by every hop of
/// the trace, the 64-bit id of the span that caused this work, and the trace flags.
///
/// Fixed-size and trivially copyable, so it rides inside actor messages (and across nodes)
/// without a heap allocation; all zero means "no trace".
struct trace_context {
  /// High 64 bits of the trace id (the first 16 hex digits).
  uint64_t trace_hi = 0;
  /// Low 64 bits of the trace id.
  uint64_t trace_lo = 0;
  /// The caller's span id: the `parent-id` for the next hop.
  uint64_t span_id = 0;
  /// Trace flags (bit 0: sampled).
  uint8_t flags = 0;

  /// Whether this names a trace (an all-zero trace id is invalid in W3C trace context).
  bool valid() const noexcept { return (trace_hi | trace_lo) != 0; }

  /// Writes the 32 lower-case hex digits of the trace id to `out`.
  void trace_hex(char (&out)[32]) const noexcept;

  /// Returns the trace id as 32 lower-case hex digits.
  std::string trace_id() const;

  /// Returns the `traceparent` header value naming `span` as the parent (version 00).
  std::string traceparent(uint64_t span) const;

  friend bool operator==(const trace_context&, const trace_context&) = default;
};

/// Builds a context from the hex fields of a `traceparent`; nullopt unless `trace_id` has 32
/// and `span_id` 16 lower-case hex digits, and `flags` 2.
std::optional<trace_context> trace_from_hex(std::string_view trace_id, std::string_view span_id,
                                            std::string_view flags);

/// Returns a fresh non-zero 64-bit span id (unique, not secret).
uint64_t new_span_id();

/// Starts a new sampled trace, for work no request caused (its span is the root).
trace_context new_trace();

/// Serialises the context: 25 bytes on the wire.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trace_context& x) {
  return f(caf::meta::type_name("troupe.trace_context"), x.trace_hi, x.trace_lo, x.span_id,
           x.flags);
}

} // namespace troupe::observability
