#include "troupe/http/responder.hpp"

#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "troupe/http/response.hpp"

namespace troupe::http {
namespace {

struct sink_log {
  std::vector<response> got;
  responder make() {
    return responder{[this](response res) { got.push_back(std::move(res)); }};
  }
};

TEST(http_responder, delivers_exactly_once) {
  sink_log log;
  {
    auto r = log.make();
    EXPECT_TRUE(r.pending());
    r(text_response(status::ok, "first"));
    EXPECT_FALSE(r.pending());
    r(text_response(status::ok, "second"));
  }
  ASSERT_EQ(log.got.size(), 1u);
  EXPECT_EQ(log.got[0].body(), "first");
}

TEST(http_responder, dropping_it_answers_500_problem) {
  sink_log log;
  { auto r = log.make(); }
  ASSERT_EQ(log.got.size(), 1u);
  EXPECT_EQ(log.got[0].result(), status::internal_server_error);
  EXPECT_EQ(log.got[0][boost::beast::http::field::content_type], "application/problem+json");
  EXPECT_EQ(nlohmann::json::parse(log.got[0].body())["type"],
            "https://troupe.dev/problems/internal");
}

TEST(http_responder, moving_transfers_the_obligation) {
  sink_log first;
  sink_log second;
  auto a = first.make();
  auto b = std::move(a);
  EXPECT_FALSE(a.pending()); // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(first.got.empty());
  b = second.make(); // the overwritten obligation is answered, not lost
  ASSERT_EQ(first.got.size(), 1u);
  EXPECT_EQ(first.got[0].result(), status::internal_server_error);
  b(text_response(status::ok, "x"));
  ASSERT_EQ(second.got.size(), 1u);
  EXPECT_EQ(second.got[0].result(), status::ok);
}

TEST(http_responder, can_be_invoked_from_another_thread) {
  sink_log log;
  auto r = log.make();
  std::thread t{[r = std::move(r)]() mutable { r(text_response(status::accepted, "later")); }};
  t.join();
  ASSERT_EQ(log.got.size(), 1u);
  EXPECT_EQ(log.got[0].result(), status::accepted);
}

TEST(http_responder, default_constructed_is_inert) {
  responder r;
  EXPECT_FALSE(r.pending());
  r(text_response(status::ok, "ignored"));
}

} // namespace
} // namespace troupe::http
