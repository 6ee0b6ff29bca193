#include "troupe/observability/trace_context.hpp"

#include <gtest/gtest.h>

#include "troupe/observability/log_context.hpp"

namespace troupe::observability {
namespace {

constexpr const char* trace_hex = "4bf92f3577b34da6a3ce929d0e0e4736";

TEST(trace_context, hex_fields_round_trip) {
  auto t = trace_from_hex(trace_hex, "00f067aa0ba902b7", "01");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->valid());
  EXPECT_EQ(t->trace_hi, 0x4bf92f3577b34da6u);
  EXPECT_EQ(t->trace_lo, 0xa3ce929d0e0e4736u);
  EXPECT_EQ(t->span_id, 0x00f067aa0ba902b7u);
  EXPECT_EQ(t->trace_id(), trace_hex);
  EXPECT_EQ(t->traceparent(0xb7ad6b7169203331),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01");
}

TEST(trace_context, malformed_hex_is_refused) {
  EXPECT_FALSE(trace_from_hex("4BF92F3577B34DA6A3CE929D0E0E4736", "00f067aa0ba902b7", "01"))
      << "upper case";
  EXPECT_FALSE(trace_from_hex("4bf92f3577b34da6", "00f067aa0ba902b7", "01")) << "short";
  EXPECT_FALSE(trace_from_hex(trace_hex, "00f067aa0ba902bz", "01"));
  EXPECT_FALSE(trace_from_hex(trace_hex, "00f067aa0ba902b7", "1"));
  EXPECT_FALSE(trace_context{}.valid()) << "all zero names no trace";
}

TEST(trace_context, new_traces_are_valid_sampled_and_distinct) {
  auto a = new_trace(), b = new_trace();
  EXPECT_TRUE(a.valid());
  EXPECT_EQ(a.flags, 0x01);
  EXPECT_NE(a, b);
  EXPECT_NE(new_span_id(), 0u);
}

TEST(trace_context, within_trace_sets_the_trace_only_where_it_is_missing_and_restores) {
  auto t = *trace_from_hex(trace_hex, "00f067aa0ba902b7", "01");
  within_trace(t, [&] {
    EXPECT_EQ(current_log_context().trace, t);
    EXPECT_TRUE(current_log_context().request_id.empty());
  });
  EXPECT_FALSE(current_log_context().trace.valid()) << "restored";
  log_context request{"req-1", t};
  log_scope scope{request};
  within_trace(t, [] { EXPECT_EQ(current_log_context().request_id, "req-1") << "kept"; });
  auto other = new_trace();
  within_trace(other, [&] { EXPECT_EQ(current_log_context().trace, other); });
  EXPECT_EQ(&current_log_context(), &request);
}

} // namespace
} // namespace troupe::observability
