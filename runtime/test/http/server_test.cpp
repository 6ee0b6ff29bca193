#include "troupe/http/server.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "troupe/core/error.hpp"
#include "troupe/http/response.hpp"
#include "troupe/http/router.hpp"
#include "troupe/observability/metrics.hpp"

namespace troupe::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::beast::http::field;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Upper bound for anything a test waits on; a hang becomes a failure, not a stuck run.
constexpr auto deadline = 3s;

// A small blocking-style client: every operation runs the client's own io_context until it
// completes, bounded by `deadline` through tcp_stream's timeout.
class client {
public:
  // Connects from `source` (any 127/8 address works on Linux) so tests can be several clients.
  explicit client(uint16_t port, const std::string& source = "127.0.0.1") {
    error_code ec;
    stream_.socket().open(asio::ip::tcp::v4(), ec);
    stream_.socket().bind({asio::ip::make_address(source), 0}, ec);
    EXPECT_FALSE(ec) << ec.message();
    stream_.expires_after(deadline);
    run([&](auto done) {
      stream_.async_connect(asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), port},
                            [done](error_code ec) { done(ec); });
    });
  }

  // Sends raw bytes; returns false on error.
  bool send(const std::string& bytes) {
    stream_.expires_after(deadline);
    return !run([&](auto done) {
      asio::async_write(stream_, asio::buffer(bytes), [done](error_code ec, size_t) { done(ec); });
    });
  }

  // Reads one response (of a HEAD request: no body follows); nullopt on error or after the
  // deadline.
  std::optional<response> read(bool to_head = false) {
    stream_.expires_after(deadline);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    parser.skip(to_head);
    auto ec = run([&](auto done) {
      bhttp::async_read(stream_, buffer_, parser, [done](error_code e, size_t) { done(e); });
    });
    if (ec)
      return std::nullopt;
    return parser.release();
  }

  // Sends a request and reads its response.
  std::optional<response> roundtrip(request req) {
    req.set(field::host, "127.0.0.1");
    req.prepare_payload();
    stream_.expires_after(deadline);
    auto ec = run([&](auto done) {
      bhttp::async_write(stream_, req, [done](error_code e, size_t) { done(e); });
    });
    if (ec)
      return std::nullopt;
    return read(req.method() == verb::head);
  }

  // Sends GET `target` and reads the response.
  std::optional<response> get(std::string target) {
    return roundtrip(request{verb::get, target, 11});
  }

  // Waits up to `limit` for the server to close; returns how long that took, or nullopt.
  std::optional<clock_type::duration> wait_closed(clock_type::duration limit = deadline) {
    auto start = clock_type::now();
    stream_.expires_after(limit);
    while (true) {
      auto ec = run([&](auto done) {
        stream_.async_read_some(buffer_.prepare(4096), [&, done](error_code e, size_t n) {
          buffer_.commit(n);
          done(e);
        });
      });
      if (ec == beast::error::timeout)
        return std::nullopt;
      if (ec)
        return clock_type::now() - start;
    }
  }

  // Sends `bytes` one per `gap` until the server closes; returns how long that took, or nullopt.
  std::optional<clock_type::duration> trickle_until_closed(const std::string& bytes,
                                                           clock_type::duration gap) {
    auto start = clock_type::now();
    asio::steady_timer timer{ioc_};
    size_t next = 0;
    std::function<void()> tick = [&] {
      if (next == bytes.size())
        return;
      asio::async_write(stream_, asio::buffer(&bytes[next++], 1), [&](error_code ec, size_t) {
        if (ec)
          return;
        timer.expires_after(gap);
        timer.async_wait([&](error_code) { tick(); });
      });
    };
    stream_.expires_after(deadline);
    auto ec = run([&](auto done) {
      tick();
      stream_.async_read_some(buffer_.prepare(4096), [&, done](error_code e, size_t n) {
        buffer_.commit(n);
        timer.cancel();
        done(e ? e : asio::error::make_error_code(asio::error::operation_aborted));
      });
    });
    if (ec == beast::error::timeout)
      return std::nullopt;
    return clock_type::now() - start;
  }

private:
  // Starts an operation and runs the io_context until it (and anything it left) is done.
  template <class Start>
  error_code run(Start start) {
    error_code result;
    bool finished = false;
    ioc_.restart();
    start([&result, &finished](error_code ec) {
      result = ec;
      finished = true;
    });
    ioc_.run();
    EXPECT_TRUE(finished);
    return result;
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
};

server_config test_config() {
  server_config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.io_threads = 2;
  return cfg;
}

// Polls `pred` until it holds or the deadline passes; for effects that land after a reply.
template <class Pred>
bool eventually(Pred pred) {
  auto until = clock_type::now() + deadline;
  while (!pred()) {
    if (clock_type::now() > until)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

class http_server : public ::testing::Test {
protected:
  void SetUp() override {
    routes->add(verb::get, "/v1/items/{id}", [](request_context ctx, responder res) {
      res(json_response(status::ok, {{"id", ctx.param("id")}}));
    });
    routes->add(verb::post, "/v1/echo", [](request_context ctx, responder res) {
      res(text_response(status::ok, std::move(ctx.req.body())));
    });
    routes->add(verb::get, "/v1/later", [this](request_context ctx, responder res) {
      std::lock_guard guard{threads_mtx};
      threads.emplace_back([ctx = std::move(ctx), res = std::move(res)]() mutable {
        res(text_response(status::accepted, "from another thread " + ctx.route));
      });
    });
    routes->add(verb::get, "/v1/dropped", [](request_context, responder) {});
    routes->add(verb::get, "/v1/throws",
                [](request_context, responder) { throw std::runtime_error("boom"); });
    routes->add(verb::get, "/v1/held", [this](request_context, responder res) {
      std::lock_guard guard{held_mtx};
      held = std::move(res);
      held_count.fetch_add(1);
    });
  }

  void TearDown() override {
    if (srv)
      srv->stop();
    for (auto& t : threads)
      t.join();
  }

  void start(server_config cfg = test_config()) {
    auto result = server::start(std::move(cfg), routes, metrics);
    ASSERT_TRUE(result) << describe(result.error());
    srv = std::move(*result);
    ASSERT_NE(srv->port(), 0);
  }

  std::shared_ptr<router> routes = std::make_shared<router>();
  std::shared_ptr<observability::registry> metrics = std::make_shared<observability::registry>();
  std::unique_ptr<server> srv;
  std::mutex threads_mtx;
  std::vector<std::thread> threads;
  std::mutex held_mtx;
  responder held;
  std::atomic<int> held_count{0};
};

std::string problem_type(const response& res) {
  return nlohmann::json::parse(res.body()).value("type", "");
}

TEST_F(http_server, keep_alive_serves_two_requests_on_one_connection) {
  start();
  EXPECT_EQ(srv->host(), "127.0.0.1");
  client c{srv->port()};
  for (auto id : {"1", "two"}) {
    auto res = c.get(std::string{"/v1/items/"} + id);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), status::ok);
    EXPECT_EQ(nlohmann::json::parse(res->body())["id"], id);
    EXPECT_EQ((*res)[field::server], "troupe");
    EXPECT_EQ((*res)[field::content_length], std::to_string(res->body().size()));
    EXPECT_TRUE(res->keep_alive());
  }
}

TEST_F(http_server, head_answers_like_get_without_a_body_and_the_connection_goes_on) {
  start();
  client c{srv->port()};
  auto got = c.get("/v1/items/7");
  ASSERT_TRUE(got);
  for (int round = 0; round < 2; ++round) {
    auto head = c.roundtrip(request{verb::head, "/v1/items/7", 11});
    ASSERT_TRUE(head);
    EXPECT_EQ(head->result(), status::ok);
    EXPECT_EQ((*head)[field::content_length], std::to_string(got->body().size()));
    EXPECT_EQ((*head)[field::content_type], (*got)[field::content_type]);
    EXPECT_TRUE(head->keep_alive());
    // A body sent after the head would be read here as the start of the next response.
    auto next = c.get("/v1/items/8");
    ASSERT_TRUE(next) << "round " << round;
    EXPECT_EQ(next->result(), status::ok);
    EXPECT_EQ(nlohmann::json::parse(next->body())["id"], "8");
  }
  // Errors to HEAD have no body either.
  auto missing = c.roundtrip(request{verb::head, "/nowhere", 11});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->result(), status::not_found);
  auto after = c.get("/v1/items/9");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->result(), status::ok);
  EXPECT_TRUE(eventually([&] {
    return metrics->render().find(
               R"(troupe_http_requests_total{route="/v1/items/{id}",method="HEAD",status="200"} 2)") !=
           std::string::npos;
  })) << metrics->render();
}

TEST_F(http_server, connection_close_is_honoured) {
  start();
  client c{srv->port()};
  request req{verb::get, "/v1/items/1", 11};
  req.set(field::connection, "close");
  auto res = c.roundtrip(std::move(req));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::ok);
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(http_server, pipelined_requests_are_answered_in_order) {
  start();
  client c{srv->port()};
  ASSERT_TRUE(c.send("GET /v1/later HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /v1/items/2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = c.read();
  auto second = c.read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->result(), status::accepted);
  EXPECT_EQ(nlohmann::json::parse(second->body())["id"], "2");
}

TEST_F(http_server, handler_may_answer_from_another_thread) {
  start();
  client c{srv->port()};
  auto res = c.get("/v1/later");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::accepted);
  EXPECT_EQ(res->body(), "from another thread /v1/later");
}

TEST_F(http_server, dropped_responder_gives_500) {
  start();
  client c{srv->port()};
  auto res = c.get("/v1/dropped");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::internal_server_error);
  EXPECT_EQ((*res)[field::content_type], "application/problem+json");
  EXPECT_EQ(problem_type(*res), "https://troupe.dev/problems/internal");
}

TEST_F(http_server, throwing_handler_gives_500_and_connection_survives) {
  start();
  client c{srv->port()};
  auto res = c.get("/v1/throws");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::internal_server_error);
  EXPECT_EQ(problem_type(*res), "https://troupe.dev/problems/internal");
  auto next = c.get("/v1/items/3");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->result(), status::ok);
}

TEST_F(http_server, unknown_path_and_wrong_method_over_the_wire) {
  start();
  client c{srv->port()};
  auto missing = c.get("/nowhere");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->result(), status::not_found);
  EXPECT_EQ(problem_type(*missing), "https://troupe.dev/problems/not-found");
  auto wrong = c.roundtrip(request{verb::delete_, "/v1/echo", 11});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->result(), status::method_not_allowed);
  EXPECT_EQ((*wrong)[field::allow], "POST");
}

TEST_F(http_server, body_within_limit_is_echoed) {
  start();
  client c{srv->port()};
  request req{verb::post, "/v1/echo", 11};
  req.body() = std::string(1000, 'b');
  auto res = c.roundtrip(std::move(req));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::ok);
  EXPECT_EQ(res->body(), std::string(1000, 'b'));
}

TEST_F(http_server, expect_continue_gets_an_interim_response) {
  start();
  client c{srv->port()};
  ASSERT_TRUE(c.send("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     "Expect: 100-continue\r\n\r\n"));
  auto interim = c.read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->result(), status::continue_);
  ASSERT_TRUE(c.send("hello"));
  auto res = c.read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "hello");
}

TEST_F(http_server, body_over_limit_is_413_then_close) {
  auto cfg = test_config();
  cfg.body_limit = 1024;
  start(cfg);
  client c{srv->port()};
  request req{verb::post, "/v1/echo", 11};
  req.body() = std::string(4096, 'b');
  auto res = c.roundtrip(std::move(req));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::payload_too_large);
  EXPECT_EQ(problem_type(*res), "https://troupe.dev/problems/payload-too-large");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(c.wait_closed());
  // The header was whole, so the refusal counts under the route and method it was sent to.
  EXPECT_TRUE(eventually([&] {
    return metrics->render().find(
               R"(troupe_http_requests_total{route="/v1/echo",method="POST",status="413"} 1)") !=
           std::string::npos;
  })) << metrics->render();
}

TEST_F(http_server, header_over_limit_is_431_then_close) {
  auto cfg = test_config();
  cfg.header_limit = 1024;
  start(cfg);
  client c{srv->port()};
  request req{verb::get, "/v1/items/1", 11};
  req.set("X-Big", std::string(4000, 'h'));
  auto res = c.roundtrip(std::move(req));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::request_header_fields_too_large);
  EXPECT_EQ(problem_type(*res), "https://troupe.dev/problems/header-too-large");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(http_server, garbage_is_400_then_close) {
  start();
  client c{srv->port()};
  ASSERT_TRUE(c.send("THIS IS NOT HTTP\r\n\r\n"));
  auto res = c.read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::bad_request);
  EXPECT_EQ(problem_type(*res), "https://troupe.dev/problems/bad-request");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(http_server, partial_header_is_cut_off_at_read_timeout) {
  auto cfg = test_config();
  cfg.read_timeout = 200ms;
  start(cfg);
  client c{srv->port()};
  ASSERT_TRUE(c.send("GET /v1/items/1 HTTP/1.1\r\nHost: x\r\n"));
  auto closed_after = c.wait_closed();
  ASSERT_TRUE(closed_after) << "the server kept a half-sent request open";
  EXPECT_GE(*closed_after, 100ms);
}

TEST_F(http_server, trickling_header_cannot_extend_the_read_timeout) {
  auto cfg = test_config();
  cfg.read_timeout = 200ms;
  start(cfg);
  client c{srv->port()};
  // 200 bytes at 20 ms each would take 4 s; the whole request has 200 ms.
  auto closed_after =
      c.trickle_until_closed("GET /v1/items/1 HTTP/1.1\r\nX-Slow: " + std::string(200, 'a'), 20ms);
  ASSERT_TRUE(closed_after) << "a trickling client kept the connection open";
  EXPECT_LT(*closed_after, 1500ms);
}

TEST_F(http_server, idle_keep_alive_connection_is_closed_at_idle_timeout) {
  auto cfg = test_config();
  cfg.idle_timeout = 200ms;
  start(cfg);
  client c{srv->port()};
  ASSERT_TRUE(c.get("/v1/items/1"));
  auto closed_after = c.wait_closed();
  ASSERT_TRUE(closed_after);
  EXPECT_GE(*closed_after, 100ms);
}

TEST_F(http_server, connections_over_the_limit_are_closed_and_counted) {
  auto cfg = test_config();
  cfg.max_connections = 1;
  start(cfg);
  client first{srv->port()};
  ASSERT_TRUE(first.get("/v1/items/1")); // now surely accepted and counted
  client second{srv->port()};
  EXPECT_TRUE(second.wait_closed());
  auto& rejected = metrics->counters("troupe_http_connections_rejected_total", "").with({});
  EXPECT_EQ(rejected.value(), 1u);
  auto again = first.get("/v1/items/2");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->result(), status::ok);
}

TEST_F(http_server, one_client_over_its_cap_is_refused_while_others_are_served) {
  auto cfg = test_config();
  cfg.max_connections = 100;
  cfg.max_connections_per_client = 3;
  start(cfg);
  std::vector<std::unique_ptr<client>> hog;
  for (int i = 0; i < 3; ++i) {
    hog.push_back(std::make_unique<client>(srv->port(), "127.0.0.1"));
    ASSERT_TRUE(hog.back()->get("/v1/items/1")); // accepted and counted
  }
  // Idle connections beyond the cap from the same address are closed at once...
  for (int i = 0; i < 5; ++i) {
    client extra{srv->port(), "127.0.0.1"};
    auto closed = extra.wait_closed(1s);
    ASSERT_TRUE(closed) << "connection " << i << " over the per-client cap stayed open";
  }
  auto& refused =
      metrics->counters("troupe_http_connections_rejected_per_client_total", "").with({});
  EXPECT_EQ(refused.value(), 5u);
  // ...while another address is served promptly, and the first client's own connections too.
  auto begin = clock_type::now();
  client other{srv->port(), "127.0.0.2"};
  auto res = other.get("/v1/items/7");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::ok);
  EXPECT_LT(clock_type::now() - begin, 1s);
  ASSERT_TRUE(hog.front()->get("/v1/items/2"));
  // A slot freed by the client is usable again by it.
  hog.pop_back();
  ASSERT_TRUE(eventually([&] {
    client again{srv->port(), "127.0.0.1"};
    auto r = again.get("/v1/items/3");
    return r && r->result() == status::ok;
  }));
}

TEST_F(http_server, http11_without_host_is_400_and_http10_without_it_is_fine) {
  start();
  client c{srv->port()};
  ASSERT_TRUE(c.send("GET /v1/items/1 HTTP/1.1\r\n\r\n"));
  auto res = c.read();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), status::bad_request);
  EXPECT_EQ(std_view((*res)[field::content_type]), problem_content_type);
  EXPECT_EQ(problem_type(*res), "https://troupe.dev/problems/bad-request");
  EXPECT_TRUE(c.wait_closed());
  client old{srv->port()};
  ASSERT_TRUE(old.send("GET /v1/items/1 HTTP/1.0\r\n\r\n"));
  auto ok = old.read();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result(), status::ok);
}

TEST_F(http_server, handlers_see_the_client_address) {
  routes->add(verb::get, "/v1/whoami", [](request_context ctx, responder res) {
    res(text_response(status::ok, ctx.client));
  });
  start();
  client c{srv->port(), "127.0.0.3"};
  auto res = c.get("/v1/whoami");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "127.0.0.3");
}

TEST_F(http_server, stop_is_prompt_with_an_idle_connection) {
  start();
  client c{srv->port()};
  ASSERT_TRUE(c.get("/v1/items/1"));
  auto begin = clock_type::now();
  srv->stop();
  EXPECT_LT(clock_type::now() - begin, 1s);
  EXPECT_TRUE(c.wait_closed());
  srv->stop(); // idempotent
}

TEST_F(http_server, stop_is_prompt_with_an_unanswered_request) {
  start();
  client c{srv->port()};
  ASSERT_TRUE(c.send("GET /v1/held HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(eventually([&] { return held_count.load() == 1; }));
  auto begin = clock_type::now();
  srv->stop();
  EXPECT_LT(clock_type::now() - begin, 1s);
  EXPECT_TRUE(c.wait_closed());
  srv.reset();
  // The server is gone: answering now must be a harmless no-op.
  std::lock_guard guard{held_mtx};
  EXPECT_TRUE(held.pending());
  held(text_response(status::ok, "too late"));
  EXPECT_FALSE(held.pending());
}

TEST_F(http_server, metrics_carry_route_method_and_status) {
  start();
  client c{srv->port()};
  ASSERT_TRUE(c.get("/v1/items/1"));
  ASSERT_TRUE(c.get("/v1/items/2"));
  ASSERT_TRUE(c.get("/nowhere"));
  const std::string ok =
      R"(troupe_http_requests_total{route="/v1/items/{id}",method="GET",status="200"} 2)";
  const std::string missing =
      R"(troupe_http_requests_total{route="unmatched",method="GET",status="404"} 1)";
  const std::string latency =
      R"(troupe_http_request_duration_seconds_count{route="/v1/items/{id}",method="GET",status_class="2xx"} 2)";
  // Metrics are recorded once the write completes, which may be just after the client reads.
  EXPECT_TRUE(eventually([&] {
    auto text = metrics->render();
    return text.find(ok) != std::string::npos && text.find(missing) != std::string::npos &&
           text.find(latency) != std::string::npos;
  })) << metrics->render();
  EXPECT_NE(metrics->render().find("troupe_http_connections_active 1"), std::string::npos);
}

TEST_F(http_server, start_on_a_busy_port_names_the_address) {
  start();
  auto cfg = test_config();
  cfg.port = srv->port();
  auto second = server::start(cfg, routes, metrics);
  ASSERT_FALSE(second);
  EXPECT_TRUE(is(second.error(), errc::io_failure));
  auto text = describe(second.error());
  EXPECT_NE(text.find("127.0.0.1:" + std::to_string(srv->port())), std::string::npos) << text;
  EXPECT_NE(text.find("in use"), std::string::npos) << text;
}

TEST_F(http_server, start_rejects_a_bad_host) {
  auto cfg = test_config();
  cfg.host = "no-such-host.invalid";
  auto result = server::start(cfg, routes, metrics);
  ASSERT_FALSE(result);
  EXPECT_NE(describe(result.error()).find("no-such-host.invalid"), std::string::npos);
}

} // namespace
} // namespace troupe::http
