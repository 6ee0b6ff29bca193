#include "troupe/observability/trace_context.hpp"

#include <random>

namespace troupe::observability {

namespace {

constexpr char digits[] = "0123456789abcdef";

void put_hex(uint64_t v, char* out) noexcept {
  for (int i = 15; i >= 0; --i, v >>= 4)
    out[i] = digits[v & 0xf];
}

// Lower-case only, as W3C trace context demands.
std::optional<uint64_t> parse_hex(std::string_view s) noexcept {
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0)
      return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

} // namespace

void trace_context::trace_hex(char (&out)[32]) const noexcept {
  put_hex(trace_hi, out);
  put_hex(trace_lo, out + 16);
}

std::string trace_context::trace_id() const {
  char hex[32];
  trace_hex(hex);
  return std::string(hex, sizeof(hex));
}

std::string trace_context::traceparent(uint64_t span) const {
  // version(2) - trace-id(32) - parent-id(16) - flags(2)
  std::string out(55, '-');
  out[0] = out[1] = '0';
  put_hex(trace_hi, out.data() + 3);
  put_hex(trace_lo, out.data() + 19);
  put_hex(span, out.data() + 36);
  out[53] = digits[flags >> 4];
  out[54] = digits[flags & 0xf];
  return out;
}

std::optional<trace_context> trace_from_hex(std::string_view trace_id, std::string_view span_id,
                                            std::string_view flags) {
  if (trace_id.size() != 32 || span_id.size() != 16 || flags.size() != 2)
    return std::nullopt;
  auto hi = parse_hex(trace_id.substr(0, 16));
  auto lo = parse_hex(trace_id.substr(16));
  auto span = parse_hex(span_id);
  auto f = parse_hex(flags);
  if (!hi || !lo || !span || !f)
    return std::nullopt;
  return trace_context{*hi, *lo, *span, static_cast<uint8_t>(*f)};
}

uint64_t new_span_id() {
  // Unique, not secret: one seeded generator per thread, no system call per span.
  thread_local std::mt19937_64 gen{[] {
    std::random_device dev;
    std::seed_seq seed{dev(), dev(), dev(), dev()};
    return std::mt19937_64{seed};
  }()};
  uint64_t id = 0;
  while (id == 0)
    id = gen();
  return id;
}

trace_context new_trace() {
  return trace_context{new_span_id(), new_span_id(), new_span_id(), 0x01};
}

} // namespace troupe::observability
