#include "troupe/http/client.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/loopback_server.hpp"
#include "troupe/core/error.hpp"

namespace troupe::http {
namespace {

using namespace std::chrono_literals;
using testing::loopback_server;
using testing::received_request;
using clock_type = std::chrono::steady_clock;

// Upper bound for anything a test waits on; a hang becomes a failure, not a stuck run.
constexpr auto deadline = 5s;

// The one completion of a request: its result, how often it came, and on which thread.
struct completion {
  std::promise<caf::expected<client_response>> promise;
  std::future<caf::expected<client_response>> future = promise.get_future();
  std::atomic<int> calls{0};
  std::thread::id thread;

  // Waits up to `limit`; nullopt if no result came.
  std::optional<caf::expected<client_response>> wait(clock_type::duration limit = deadline) {
    if (future.wait_for(limit) != std::future_status::ready)
      return std::nullopt;
    return future.get();
  }
};

client::callback capture(const std::shared_ptr<completion>& c) {
  return [c](caf::expected<client_response> result) {
    if (c->calls.fetch_add(1) == 0) {
      c->thread = std::this_thread::get_id();
      c->promise.set_value(std::move(result));
    }
  };
}

class http_client : public ::testing::Test {
protected:
  void SetUp() override { start(); }

  void start(client_config cfg = {}) {
    auto started = client::start(cfg);
    ASSERT_TRUE(started) << describe(started.error());
    cli = std::move(*started);
  }

  // POSTs and waits for the result; fails the test if none comes in time.
  caf::expected<client_response> post(const std::string& url, std::string body = "{}",
                                      std::chrono::milliseconds timeout = 2s) {
    auto c = std::make_shared<completion>();
    cli->post(url, std::move(body), timeout, capture(c));
    auto result = c->wait();
    EXPECT_TRUE(result) << "no completion for " << url;
    EXPECT_NE(c->thread, std::this_thread::get_id());
    if (!result)
      return make_error(errc::timeout, "test gave up waiting");
    return std::move(*result);
  }

  std::unique_ptr<client> cli;
};

TEST(http_client_url, splits_host_port_and_target) {
  auto u = parse_http_url("http://hooks.example.org:8081/v1/notify?key=a#frag");
  ASSERT_TRUE(u) << describe(u.error());
  EXPECT_EQ(u->host, "hooks.example.org");
  EXPECT_EQ(u->port, 8081);
  EXPECT_EQ(u->target, "/v1/notify?key=a");
  auto bare = parse_http_url("HTTP://127.0.0.1");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->target, "/");
  auto query = parse_http_url("http://h?x=1");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->target, "/?x=1");
  auto v6 = parse_http_url("http://[::1]:9000/hook");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
}

TEST(http_client_url, rejects_what_it_cannot_send) {
  for (auto bad : {"", "garbage", "https://example.org/hook", "ftp://example.org/", "http://",
                   "http:///path", "http://:80/", "http://user:pw@host/", "http://host:/",
                   "http://host:0/", "http://host:65536/", "http://host:8o/", "http://ho st/",
                   "http://host/a b", "http://host/\r\nX-Evil: 1", "http://[::1/", "http://[nope]/",
                   "http://[::1]x/", "http://ho$t/"}) {
    auto u = parse_http_url(bad);
    ASSERT_FALSE(u) << bad;
    EXPECT_TRUE(is(u.error(), errc::invalid_argument)) << bad << ": " << describe(u.error());
  }
  auto https = parse_http_url("https://example.org/hook");
  EXPECT_NE(describe(https.error()).find("https is not supported"), std::string::npos);
}

TEST_F(http_client, posts_json_and_reads_the_answer) {
  loopback_server srv{[](const auto&) { return loopback_server::reply(200, R"({"ok":true})"); }};
  auto res = post(srv.url("/hook?x=1"), R"({"hello":"world"})");
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body, R"({"ok":true})");
  EXPECT_FALSE(res->truncated);
  auto got = srv.wait_for_requests(1, deadline);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/hook?x=1");
  EXPECT_EQ(got[0].headers["host"], "127.0.0.1:" + std::to_string(srv.port()));
  EXPECT_EQ(got[0].headers["content-type"], "application/json");
  EXPECT_EQ(got[0].headers["connection"], "close");
  EXPECT_EQ(got[0].body, R"({"hello":"world"})");
}

TEST_F(http_client, a_server_error_is_a_response_not_an_error) {
  loopback_server srv{
      [](const auto&) { return loopback_server::reply(500, "broken", "text/plain"); }};
  auto res = post(srv.url());
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 500u);
  EXPECT_EQ(res->body, "broken");
}

TEST_F(http_client, host_names_are_resolved) {
  loopback_server srv{[](const auto&) { return loopback_server::reply(204, ""); }};
  auto res = post("http://localhost:" + std::to_string(srv.port()) + "/");
  ASSERT_TRUE(res) << describe(res.error());
  EXPECT_EQ(res->status, 204u);
  EXPECT_EQ(srv.wait_for_requests(1, deadline)[0].headers["host"],
            "localhost:" + std::to_string(srv.port()));
}

TEST_F(http_client, a_long_body_is_cut_at_the_limit) {
  client_config cfg;
  cfg.body_limit = 20000;
  start(cfg);
  loopback_server srv{[](const received_request& req) {
    return loopback_server::reply(200, std::string(std::stoul(req.target.substr(1)), 'x'));
  }};
  auto exact = post(srv.url("/20000"));
  ASSERT_TRUE(exact) << describe(exact.error());
  EXPECT_EQ(exact->body.size(), 20000u);
  EXPECT_FALSE(exact->truncated);
  auto longer = post(srv.url("/20001"));
  ASSERT_TRUE(longer) << describe(longer.error());
  EXPECT_EQ(longer->status, 200u);
  EXPECT_EQ(longer->body, std::string(20000, 'x'));
  EXPECT_TRUE(longer->truncated);
}

TEST_F(http_client, a_refused_connection_is_an_error) {
  auto res = post("http://127.0.0.1:" + std::to_string(loopback_server::unused_port()) + "/");
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::io_failure)) << describe(res.error());
  EXPECT_NE(describe(res.error()).find("cannot connect"), std::string::npos);
}

TEST_F(http_client, a_close_without_answer_is_an_error) {
  loopback_server srv{[](const auto&) { return std::string{}; }};
  auto res = post(srv.url());
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::io_failure)) << describe(res.error());
}

TEST_F(http_client, a_silent_server_times_out_on_time) {
  loopback_server srv{[](const auto&) { return std::nullopt; }};
  auto begin = clock_type::now();
  auto res = post(srv.url(), "{}", 300ms);
  auto took = clock_type::now() - begin;
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::timeout)) << describe(res.error());
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(srv.wait_for_requests(1, deadline).size(), 1u);
}

TEST_F(http_client, bad_urls_and_timeouts_fail_on_the_io_thread) {
  for (auto bad : {"https://127.0.0.1/hook", "not a url"}) {
    auto res = post(bad);
    ASSERT_FALSE(res);
    EXPECT_TRUE(is(res.error(), errc::invalid_argument)) << describe(res.error());
  }
  auto res = post("http://127.0.0.1:9/", "{}", 0ms);
  ASSERT_FALSE(res);
  EXPECT_TRUE(is(res.error(), errc::invalid_argument)) << describe(res.error());
}

TEST_F(http_client, parallel_requests_complete_once_each) {
  loopback_server srv{
      [](const received_request& req) { return loopback_server::reply(200, req.body); }};
  std::vector<std::shared_ptr<completion>> all;
  for (int i = 0; i < 20; ++i) {
    all.push_back(std::make_shared<completion>());
    cli->post(srv.url(), std::to_string(i), 2s, capture(all.back()));
  }
  for (int i = 0; i < 20; ++i) {
    auto res = all[i]->wait();
    ASSERT_TRUE(res);
    ASSERT_TRUE(*res) << describe(res->error());
    EXPECT_EQ((*res)->body, std::to_string(i));
  }
  for (auto& c : all)
    EXPECT_EQ(c->calls.load(), 1);
}

TEST_F(http_client, stop_fails_requests_in_flight_once) {
  loopback_server srv{[](const auto&) { return std::nullopt; }};
  auto first = std::make_shared<completion>();
  auto second = std::make_shared<completion>();
  cli->post(srv.url(), "{}", 60s, capture(first));
  cli->post(srv.url(), "{}", 60s, capture(second));
  ASSERT_EQ(srv.wait_for_requests(2, deadline).size(), 2u);
  auto begin = clock_type::now();
  cli->stop();
  EXPECT_LT(clock_type::now() - begin, 2s);
  for (auto& c : {first, second}) {
    // stop joins the io thread, so the completion has already run.
    auto res = c->wait(0s);
    ASSERT_TRUE(res);
    ASSERT_FALSE(*res);
    EXPECT_TRUE(is(res->error(), errc::shutting_down)) << describe(res->error());
    EXPECT_EQ(c->calls.load(), 1);
  }
  cli->stop();
  EXPECT_EQ(first->calls.load(), 1);
}

TEST_F(http_client, a_completion_may_destroy_the_client) {
  loopback_server srv{[](const auto&) { return std::nullopt; }};
  auto first = std::make_shared<completion>();
  auto second = std::make_shared<completion>();
  cli->post(srv.url(), "{}", 100ms, [this, first](caf::expected<client_response> res) {
    cli.reset(); // the io thread cannot join itself: the client must not wait for it
    capture(first)(std::move(res));
  });
  cli->post(srv.url(), "{}", 60s, capture(second));
  auto res = second->wait();
  ASSERT_TRUE(res);
  ASSERT_FALSE(*res);
  EXPECT_TRUE(is(res->error(), errc::shutting_down)) << describe(res->error());
  auto timed_out = first->wait();
  ASSERT_TRUE(timed_out);
  EXPECT_TRUE(!*timed_out && is(timed_out->error(), errc::timeout));
}

TEST_F(http_client, a_stopped_client_refuses_at_once) {
  cli->stop();
  auto c = std::make_shared<completion>();
  cli->post("http://127.0.0.1:9/", "{}", 1s, capture(c));
  EXPECT_EQ(c->calls.load(), 1);
  EXPECT_EQ(c->thread, std::this_thread::get_id());
  auto res = c->wait(0s);
  ASSERT_TRUE(res);
  ASSERT_FALSE(*res);
  EXPECT_TRUE(is(res->error(), errc::shutting_down));
}

} // namespace
} // namespace troupe::http
