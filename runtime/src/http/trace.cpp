#include "troupe/http/trace.hpp"

#include <algorithm>
#include <random>

#include "troupe/core/ids.hpp"

namespace troupe::http {

namespace {

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

// Request ids end up in logs and headers: only visible ASCII, bounded.
bool sane_request_id(std::string_view s) {
  return !s.empty() && s.size() <= 128 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Trace and span ids must be unique, not secret: a per-thread generator seeded from
// the CSPRNG saves two system calls per request on the io thread.
std::string fast_hex(size_t bytes) {
  thread_local std::mt19937_64 gen{std::stoull(random_hex(8), nullptr, 16)};
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes);
  while (out.size() < 2 * bytes) {
    auto word = gen();
    for (int i = 0; i < 16 && out.size() < 2 * bytes; ++i, word >>= 4)
      out += digits[word & 0xf];
  }
  return out;
}

} // namespace

std::string trace_info::traceparent() const {
  std::string out;
  append_traceparent(out);
  return out;
}

void trace_info::append_traceparent(std::string& out) const {
  out.append("00-").append(trace_id).append(1, '-').append(span_id).append(1, '-').append(flags);
}

std::optional<traceparent_parts> parse_traceparent(std::string_view v) {
  // version(2) - trace-id(32) - parent-id(16) - flags(2)
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-')
    return std::nullopt;
  auto version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16),
       flags = v.substr(53, 2);
  if (version != "00" || !lower_hex(trace) || !lower_hex(parent) || !lower_hex(flags) ||
      all_zero(trace) || all_zero(parent))
    return std::nullopt;
  return traceparent_parts{std::string{trace}, std::string{parent}, std::string{flags}};
}

trace_info trace_for(const request& req) {
  trace_info t;
  if (auto i = req.find("traceparent"); i != req.end())
    if (auto parts = parse_traceparent(std_view(i->value()))) {
      t.trace_id = std::move(parts->trace_id);
      t.parent_id = std::move(parts->parent_id);
      t.flags = std::move(parts->flags);
    }
  if (t.trace_id.empty())
    t.trace_id = fast_hex(16);
  t.span_id = fast_hex(8);
  if (auto i = req.find("x-request-id"); i != req.end() && sane_request_id(std_view(i->value())))
    t.request_id = std::string{std_view(i->value())};
  else
    t.request_id = t.span_id;
  // Both ids are lower-case hex by now: the parse cannot fail.
  if (auto binary = observability::trace_from_hex(t.trace_id, t.span_id, t.flags))
    t.trace = *binary;
  return t;
}

} // namespace troupe::http
