#include "troupe/notification/provider.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "support/loopback_server.hpp"
#include "troupe/core/error.hpp"
#include "troupe/observability/log_context.hpp"

namespace troupe::notification {
namespace {

using namespace std::chrono_literals;
using testing::loopback_server;
using clock_type = std::chrono::steady_clock;

// Upper bound for anything a test waits on; a hang becomes a failure, not a stuck run.
constexpr auto deadline = 5s;

delivery sample() {
  delivery d;
  d.notification_id = "n-1";
  d.user_id = "u-7";
  d.channel = channel::sms;
  d.recipient = "+15550100";
  d.subject = "Order confirmed";
  d.body = "Your order 42 is confirmed.\nThanks!";
  d.event_id = "e-9";
  d.attempt = 3;
  return d;
}

// The one outcome of a send and how often it came.
struct outcome {
  std::promise<caf::error> promise;
  std::future<caf::error> future = promise.get_future();
  std::atomic<int> calls{0};

  delivery_callback callback(const std::shared_ptr<outcome>& self) {
    return [self](caf::error err) {
      if (self->calls.fetch_add(1) == 0)
        self->promise.set_value(std::move(err));
    };
  }

  // Waits up to `limit`; nullopt if no outcome came.
  std::optional<caf::error> wait(clock_type::duration limit = deadline) {
    if (future.wait_for(limit) != std::future_status::ready)
      return std::nullopt;
    return future.get();
  }
};

// Sends `d` through `p` and waits for the outcome; nullopt if none came in time.
std::optional<caf::error> send(provider& p, const delivery& d) {
  auto o = std::make_shared<outcome>();
  p.send(d, o->callback(o));
  return o->wait();
}

std::shared_ptr<provider> webhook(const std::string& url, std::chrono::milliseconds timeout = 2s) {
  provider_config cfg;
  cfg.kind = "webhook";
  cfg.webhook_url = url;
  cfg.timeout = timeout;
  auto p = make_provider(cfg);
  EXPECT_TRUE(p) << describe(p.error());
  return p ? *p : nullptr;
}

TEST(notification_channel, names_round_trip) {
  for (auto x : {channel::email, channel::push, channel::sms})
    EXPECT_EQ(parse_channel(to_string(x)), x);
  EXPECT_EQ(to_string(channel::push), "push");
  EXPECT_FALSE(parse_channel("fax"));
  EXPECT_FALSE(parse_channel("EMAIL"));
}

TEST(notification_provider, bad_configurations_are_rejected_with_a_reason) {
  std::vector<provider_config> bad{
      {"smtp", "", 1s},
      {"webhook", "", 1s},
      {"webhook", "https://hooks.example.org/x", 1s},
      {"webhook", "hooks.example.org/x", 1s},
      {"webhook", "http://127.0.0.1:9/x", 0ms},
  };
  for (const auto& cfg : bad) {
    auto p = make_provider(cfg);
    ASSERT_FALSE(p) << cfg.kind << " " << cfg.webhook_url;
    EXPECT_TRUE(is(p.error(), errc::invalid_argument)) << describe(p.error());
  }
  auto unknown = make_provider({"smtp", "", 1s});
  EXPECT_NE(describe(unknown.error()).find("unknown notification provider 'smtp'"),
            std::string::npos);
  auto https = make_provider({"webhook", "https://hooks.example.org/x", 1s});
  EXPECT_NE(describe(https.error()).find("https is not supported"), std::string::npos);
}

TEST(notification_log_provider, logs_one_line_and_succeeds_at_once) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  capture->set_pattern("%l %v");
  spdlog::set_default_logger(capture);
  auto p = make_provider({});
  ASSERT_TRUE(p) << describe(p.error());
  std::optional<caf::error> result;
  (*p)->send(sample(), [&](caf::error err) { result = std::move(err); });
  spdlog::set_default_logger(previous);
  ASSERT_TRUE(result) << "the log provider answers before send returns";
  EXPECT_FALSE(*result) << describe(*result);
  auto text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  for (auto part : {"info ", "sms", "+15550100", "Order confirmed", R"(42 is confirmed.\nThanks!)",
                    "n-1", "e-9", "u-7", "attempt 3"})
    EXPECT_NE(text.find(part), std::string::npos) << part << " missing in " << text;
}

TEST(notification_webhook, posts_the_delivery_as_json) {
  loopback_server srv{[](const auto&) { return loopback_server::reply(200, "{}"); }};
  auto p = webhook(srv.url("/hooks/notify"));
  ASSERT_TRUE(p);
  auto result = send(*p, sample());
  ASSERT_TRUE(result) << "no outcome";
  EXPECT_FALSE(*result) << describe(*result);
  auto got = srv.wait_for_requests(1, deadline);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/hooks/notify");
  EXPECT_EQ(got[0].headers["content-type"], "application/json");
  auto expected = nlohmann::json{
      {"notification_id", "n-1"}, {"event_id", "e-9"},
      {"user_id", "u-7"},         {"channel", "sms"},
      {"recipient", "+15550100"}, {"subject", "Order confirmed"},
      {"body", sample().body},    {"attempt", 3},
  };
  EXPECT_EQ(nlohmann::json::parse(got[0].body), expected) << got[0].body;
}

TEST(notification_webhook, sends_the_trace_of_the_work_that_sent_it) {
  loopback_server srv{[](const auto&) { return loopback_server::reply(200, "{}"); }};
  auto p = webhook(srv.url("/hooks/notify"));
  ASSERT_TRUE(p);
  auto trace =
      observability::trace_from_hex("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "01");
  ASSERT_TRUE(trace);
  {
    observability::log_context ctx{{}, *trace};
    observability::log_scope scope{ctx};
    ASSERT_TRUE(send(*p, sample()));
  }
  ASSERT_TRUE(send(*p, sample())) << "outside any trace";
  auto got = srv.wait_for_requests(2, deadline);
  ASSERT_EQ(got.size(), 2u);
  auto traced = got[0].headers["traceparent"];
  ASSERT_EQ(traced.size(), 55u) << traced;
  EXPECT_EQ(traced.substr(0, 36), "00-4bf92f3577b34da6a3ce929d0e0e4736-") << "the same trace";
  EXPECT_NE(traced.substr(36, 16), "00f067aa0ba902b7") << "the call is a span of its own";
  EXPECT_EQ(traced.substr(52), "-01");
  auto fresh = got[1].headers["traceparent"];
  ASSERT_EQ(fresh.size(), 55u) << fresh;
  EXPECT_EQ(fresh.substr(0, 3), "00-");
  EXPECT_NE(fresh.substr(3, 32), "4bf92f3577b34da6a3ce929d0e0e4736") << "a trace of its own";
  EXPECT_NE(fresh.substr(3, 32), std::string(32, '0'));
}

TEST(notification_webhook, any_2xx_is_delivered) {
  loopback_server srv{[](const auto&) { return loopback_server::reply(204, ""); }};
  auto p = webhook(srv.url());
  ASSERT_TRUE(p);
  auto result = send(*p, sample());
  ASSERT_TRUE(result);
  EXPECT_FALSE(*result) << describe(*result);
}

TEST(notification_webhook, a_refusal_is_an_error_naming_the_status) {
  loopback_server srv{
      [](const auto&) { return loopback_server::reply(500, "database\ndown", "text/plain"); }};
  auto p = webhook(srv.url("/secret-token"));
  ASSERT_TRUE(p);
  auto result = send(*p, sample());
  ASSERT_TRUE(result);
  ASSERT_TRUE(*result);
  EXPECT_TRUE(is(*result, errc::io_failure)) << describe(*result);
  auto text = describe(*result);
  EXPECT_NE(text.find("answered 500: database down"), std::string::npos) << text;
  EXPECT_EQ(text.find("secret-token"), std::string::npos) << "the URL path stays out: " << text;
}

TEST(notification_webhook, a_4xx_is_an_error_too) {
  loopback_server srv{[](const auto&) { return loopback_server::reply(404, ""); }};
  auto p = webhook(srv.url());
  ASSERT_TRUE(p);
  auto result = send(*p, sample());
  ASSERT_TRUE(result);
  ASSERT_TRUE(*result);
  EXPECT_NE(describe(*result).find("answered 404"), std::string::npos) << describe(*result);
}

TEST(notification_webhook, a_receiver_that_is_down_is_an_error) {
  auto p = webhook("http://127.0.0.1:" + std::to_string(loopback_server::unused_port()) + "/");
  ASSERT_TRUE(p);
  auto result = send(*p, sample());
  ASSERT_TRUE(result);
  ASSERT_TRUE(*result);
  EXPECT_TRUE(is(*result, errc::io_failure)) << describe(*result);
}

TEST(notification_webhook, a_silent_receiver_times_out_on_time) {
  loopback_server srv{[](const auto&) { return std::nullopt; }};
  auto p = webhook(srv.url(), 300ms);
  ASSERT_TRUE(p);
  auto begin = clock_type::now();
  auto result = send(*p, sample());
  auto took = clock_type::now() - begin;
  ASSERT_TRUE(result);
  ASSERT_TRUE(*result);
  EXPECT_TRUE(is(*result, errc::timeout)) << describe(*result);
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s);
}

TEST(notification_webhook, destroying_the_provider_fails_attempts_in_flight_once) {
  loopback_server srv{[](const auto&) { return std::nullopt; }};
  auto p = webhook(srv.url(), 60s);
  ASSERT_TRUE(p);
  auto o = std::make_shared<outcome>();
  p->send(sample(), o->callback(o));
  ASSERT_EQ(srv.wait_for_requests(1, deadline).size(), 1u);
  p.reset();
  auto result = o->wait(0s);
  ASSERT_TRUE(result) << "the outcome arrives before the provider is gone";
  EXPECT_TRUE(is(*result, errc::shutting_down)) << describe(*result);
  EXPECT_EQ(o->calls.load(), 1);
}

} // namespace
} // namespace troupe::notification
