#include <vector>

#include <gtest/gtest.h>

#include "troupe/http/trace.hpp"

namespace troupe::http {
namespace {

const std::string valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(trace, a_valid_traceparent_is_parsed) {
  auto parts = parse_traceparent(valid);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(parts->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(parts->flags, "01");
}

TEST(trace, malformed_traceparents_are_rejected) {
  for (auto bad : std::vector<std::string>{
           "", "00-abc-def-01",
           "ff" + valid.substr(2),                                // version ff
           "00-" + std::string(32, '0') + "-00f067aa0ba902b7-01", // zero trace
           "00-4bf92f3577b34da6a3ce929d0e0e4736-" + std::string(16, '0') + "-01",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", // upper case
           valid + "-extra", "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01"})
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
}

TEST(trace, a_request_continues_the_callers_trace_with_a_new_span) {
  request req;
  req.set("traceparent", valid);
  req.set("x-request-id", "client-42");
  auto t = trace_for(req);
  EXPECT_EQ(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t.parent_id, "00f067aa0ba902b7");
  EXPECT_NE(t.span_id, "00f067aa0ba902b7");
  EXPECT_EQ(t.span_id.size(), 16u);
  EXPECT_EQ(t.request_id, "client-42");
  EXPECT_TRUE(parse_traceparent(t.traceparent()));
  // What requests to actors carry on: the trace, with this server's span as their parent.
  EXPECT_EQ(t.trace.trace_id(), t.trace_id);
  EXPECT_EQ(t.trace.traceparent(t.trace.span_id), t.traceparent());
}

TEST(trace, without_headers_a_new_trace_and_request_id_start) {
  auto a = trace_for(request{});
  auto b = trace_for(request{});
  EXPECT_EQ(a.trace_id.size(), 32u);
  EXPECT_NE(a.trace_id, b.trace_id);
  EXPECT_EQ(a.trace.trace_id(), a.trace_id);
  EXPECT_FALSE(a.request_id.empty());
  EXPECT_TRUE(parse_traceparent(a.traceparent()));
}

TEST(trace, unsafe_request_ids_are_replaced) {
  request req;
  req.set("x-request-id", std::string(200, 'a'));
  EXPECT_NE(trace_for(req).request_id.size(), 200u);
  req.set("x-request-id", "has space");
  EXPECT_NE(trace_for(req).request_id, "has space");
}

} // namespace
} // namespace troupe::http
