#include "troupe/http/client.hpp"

#include <array>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "troupe/core/error.hpp"

namespace troupe::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

// Bytes of a response body read per step; the body is copied out of it up to the limit.
constexpr size_t chunk_size = 8192;

caf::error stopped_error() {
  return make_error(errc::shutting_down, "the http client is stopped");
}

class exchange;

// Requests accepted and not finished yet: callers add to it, the io thread removes from it,
// and stop fails whatever is left, so every accepted request finishes exactly once.
struct in_flight {
  std::mutex mtx;
  bool stopped = false;
  std::unordered_map<const exchange*, std::shared_ptr<exchange>> live;
};

// One request: resolve, connect, write, read, all under one deadline. Runs on the io thread
// only, so its state needs no lock.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(asio::io_context& ioc, in_flight& owner, const client_config& cfg,
           caf::expected<http_url> url, std::string body, clock_type::time_point deadline,
           std::chrono::milliseconds timeout, client::callback done, client::fields extra,
           std::chrono::milliseconds delay)
      : owner_(owner), cfg_(cfg), url_(std::move(url)), deadline_(deadline), timeout_(timeout),
        delay_(delay), done_(std::move(done)), extra_(std::move(extra)), resolver_(ioc),
        socket_(ioc), timer_(ioc), delay_timer_(ioc) {
    if (url_)
      where_ = url_->host.find(':') == std::string::npos
                   ? url_->host + ":" + std::to_string(url_->port)
                   : "[" + url_->host + "]:" + std::to_string(url_->port);
    body_.swap(body);
  }

  void start() {
    if (!url_) {
      finish(url_.error());
      return;
    }
    if (timeout_ <= std::chrono::milliseconds::zero()) {
      finish(make_error(errc::invalid_argument, "the request timeout must be positive"));
      return;
    }
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec)
        self->finish(make_error(errc::timeout, "no complete answer from " + self->where_ +
                                                   " within " +
                                                   std::to_string(self->timeout_.count()) + " ms"));
    });
    if (delay_ > std::chrono::milliseconds::zero()) {
      delay_timer_.expires_after(delay_);
      delay_timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec && !self->finished_)
          self->connect();
      });
      return;
    }
    connect();
  }

  void connect() {
    prepare_request();
    error_code ec;
    auto addr = asio::ip::make_address(url_->host, ec);
    if (!ec) {
      socket_.async_connect(tcp::endpoint{addr, url_->port},
                            [self = shared_from_this()](error_code cec) { self->on_connect(cec); });
      return;
    }
    resolver_.async_resolve(
        url_->host, std::to_string(url_->port), tcp::resolver::numeric_service,
        [self = shared_from_this()](error_code rec, tcp::resolver::results_type found) {
          if (self->finished_)
            return;
          if (rec) {
            self->fail_io("cannot resolve " + self->url_->host, rec);
            return;
          }
          asio::async_connect(self->socket_, found, [self](error_code cec, const tcp::endpoint&) {
            self->on_connect(cec);
          });
        });
  }

  // Ends the request with `result` unless it has ended already; calls `done` last.
  void finish(caf::expected<client_response> result) {
    if (finished_)
      return;
    finished_ = true;
    auto keep = shared_from_this();
    error_code ignored;
    timer_.cancel();
    delay_timer_.cancel();
    resolver_.cancel();
    socket_.close(ignored);
    {
      std::lock_guard guard{owner_.mtx};
      owner_.live.erase(this);
    }
    auto done = std::move(done_);
    done_ = nullptr;
    try {
      done(std::move(result));
    } catch (const std::exception& e) {
      spdlog::error("http client: a completion threw: {}", e.what());
    } catch (...) {
      spdlog::error("http client: a completion threw a non-exception");
    }
  }

private:
  void prepare_request() {
    request_.method(bhttp::verb::post);
    request_.target(url_->target);
    request_.version(11);
    request_.set(bhttp::field::host,
                 url_->port == 80 ? where_.substr(0, where_.rfind(':')) : where_);
    request_.set(bhttp::field::user_agent, "troupe");
    request_.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : extra_)
      request_.set(name, value);
    request_.keep_alive(false);
    request_.body().swap(body_);
    request_.prepare_payload();
  }

  void fail_io(const std::string& what, const error_code& ec) {
    finish(make_error(errc::io_failure, what + ": " + ec.message()));
  }

  void on_connect(error_code ec) {
    if (finished_)
      return;
    if (ec) {
      fail_io("cannot connect to " + where_, ec);
      return;
    }
    bhttp::async_write(socket_, request_, [self = shared_from_this()](error_code wec, size_t) {
      if (self->finished_)
        return;
      if (wec) {
        self->fail_io("cannot send the request to " + self->where_, wec);
        return;
      }
      self->read_header();
    });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(cfg_.header_limit);
    // The body is bounded by copying at most body_limit bytes out of it, not by the parser.
    // Not boost::none: Beast 1.74 compares a Content-Length against an empty optional and
    // then rejects every body.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    bhttp::async_read_header(
        socket_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) {
          if (self->finished_)
            return;
          if (ec == bhttp::error::end_of_stream) {
            self->finish(make_error(errc::io_failure, self->where_ + " closed the connection "
                                                                     "without answering"));
            return;
          }
          if (ec) {
            self->fail_io("no valid answer from " + self->where_, ec);
            return;
          }
          self->read_body();
        });
  }

  void read_body() {
    if (parser_->is_done()) {
      succeed(false);
      return;
    }
    auto& b = parser_->get().body();
    b.data = chunk_.data();
    b.size = chunk_.size();
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = shared_from_this()](error_code ec, size_t) {
                        if (self->finished_)
                          return;
                        // A full chunk is not an error: copy it out and read on.
                        if (ec && ec != bhttp::error::need_buffer) {
                          self->fail_io("incomplete answer from " + self->where_, ec);
                          return;
                        }
                        auto got = self->chunk_.size() - self->parser_->get().body().size;
                        auto room = self->cfg_.body_limit - self->body_.size();
                        self->body_.append(self->chunk_.data(), std::min(got, room));
                        if (got > room) {
                          self->succeed(true); // the rest is never read: the socket closes
                          return;
                        }
                        self->read_body();
                      });
  }

  void succeed(bool truncated) {
    finish(client_response{parser_->get().result_int(), std::move(body_), truncated});
  }

  in_flight& owner_;
  const client_config& cfg_;
  caf::expected<http_url> url_;
  clock_type::time_point deadline_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds delay_;
  client::callback done_;
  client::fields extra_;
  bool finished_ = false;
  std::string where_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::steady_timer delay_timer_;
  bhttp::request<bhttp::string_body> request_;
  boost::beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
  std::array<char, chunk_size> chunk_;
  // The request body until it is sent, then the response body.
  std::string body_;
};

} // namespace

struct client::impl {
  explicit impl(client_config c) : cfg(c), work(asio::make_work_guard(ioc)) {}

  void run_thread() {
    // Completions catch their own errors; this only keeps the thread alive against surprises.
    while (true) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("http client: io thread caught: {}", e.what());
      } catch (...) {
        spdlog::error("http client: io thread caught a non-exception");
      }
    }
  }

  void fail_all() {
    std::unordered_map<const exchange*, std::shared_ptr<exchange>> left;
    {
      std::lock_guard guard{flight.mtx};
      left.swap(flight.live);
    }
    for (auto& [ptr, x] : left)
      x->finish(stopped_error());
  }

  // First member: destroyed last, after everything that holds its sockets and timers.
  asio::io_context ioc{1};
  client_config cfg;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  in_flight flight;
  std::mutex stop_mtx;
  std::thread thread;
};

caf::expected<std::unique_ptr<client>> client::start(client_config cfg) {
  std::unique_ptr<client> result{new client(std::make_shared<impl>(cfg))};
  auto& p = *result->impl_;
  try {
    p.thread = std::thread{[self = result->impl_] { self->run_thread(); }};
  } catch (const std::system_error& e) {
    return make_error(errc::io_failure,
                      std::string{"cannot start the http client thread: "} + e.what());
  }
  return result;
}

client::client(std::shared_ptr<impl> p) : impl_(std::move(p)) {}

client::~client() {
  stop();
}

void client::post(std::string url, std::string body, std::chrono::milliseconds timeout,
                  callback done, fields extra, std::chrono::milliseconds delay) {
  auto& p = *impl_;
  auto deadline = clock_type::now() + timeout;
  auto parsed = parse_http_url(url);
  std::unique_lock guard{p.flight.mtx};
  if (p.flight.stopped) {
    guard.unlock();
    done(stopped_error());
    return;
  }
  auto x = std::make_shared<exchange>(p.ioc, p.flight, p.cfg, std::move(parsed), std::move(body),
                                      deadline, timeout, std::move(done), std::move(extra), delay);
  p.flight.live.emplace(x.get(), x);
  // Even a bad URL is answered on the io thread: callers never see `done` run inside `post`.
  asio::post(p.ioc, [x] { x->start(); });
}

void client::stop() {
  auto& p = *impl_;
  std::lock_guard guard{p.stop_mtx};
  {
    std::lock_guard lock{p.flight.mtx};
    if (p.flight.stopped)
      return;
    p.flight.stopped = true;
  }
  if (!p.thread.joinable())
    return;
  if (p.thread.get_id() == std::this_thread::get_id()) {
    // Inside a completion, e.g. one that dropped the last owner of the client: joining
    // would deadlock. The thread holds the state and releases it once run() returns.
    p.fail_all();
    p.ioc.stop();
    p.thread.detach();
    return;
  }
  // Requests whose handlers are still queued are failed here too; the queue is then
  // abandoned, and a host lookup still running holds the io_context's destructor at most
  // until the system resolver gives up.
  asio::post(p.ioc, [&p] {
    p.fail_all();
    p.ioc.stop();
  });
  p.thread.join();
}

} // namespace troupe::http
