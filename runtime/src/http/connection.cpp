#include "http/connection.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <shared_mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "http/server_state.hpp"

namespace troupe::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// Bytes asked for while waiting for the first byte of a request.
constexpr size_t first_read_size = 4096;

// How long a closing connection keeps draining what the client still sends, so that our
// last response is not destroyed by a reset triggered by unread data.
constexpr std::chrono::milliseconds linger_limit{1000};

constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

// Unknown methods share one label so clients cannot blow up metric cardinality.
std::string method_label(verb v) {
  if (v == verb::unknown)
    return "OTHER";
  return std::string{std_view(bhttp::to_string(v))};
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

} // namespace

connection::connection(asio::ip::tcp::socket socket, std::shared_ptr<server_state> state)
    : stream_(std::move(socket)), state_(std::move(state)), route_("unmatched"), method_("OTHER") {
  state_->metrics.track(1);
}

connection::~connection() {
  state_->metrics.track(-1);
}

void connection::start() {
  // The first request's deadline runs from accept: a client that connects and dawdles
  // gets read_timeout in total, not per phase.
  stream_.expires_after(state_->cfg.read_timeout);
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->await_request(); });
}

void connection::close() noexcept {
  error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

void connection::await_request() {
  if (buffer_.size() > 0) { // a pipelined request is already here
    stream_.expires_after(state_->cfg.read_timeout);
    read_header();
    return;
  }
  if (!first_request_)
    stream_.expires_after(state_->cfg.idle_timeout);
  stream_.async_read_some(buffer_.prepare(first_read_size),
                          [self = shared_from_this()](error_code ec, size_t n) {
                            if (ec) {
                              self->finish(); // idle timeout, or the client went away
                              return;
                            }
                            self->buffer_.commit(n);
                            if (!self->first_request_)
                              self->stream_.expires_after(self->state_->cfg.read_timeout);
                            self->read_header();
                          });
}

void connection::read_header() {
  parser_.emplace();
  parser_->header_limit(
      static_cast<uint32_t>(std::min<size_t>(state_->cfg.header_limit, UINT32_MAX)));
  parser_->body_limit(state_->cfg.body_limit);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](error_code ec, size_t) {
                             if (ec || self->parser_->is_done()) {
                               self->on_read(ec);
                               return;
                             }
                             auto& req = self->parser_->get();
                             auto expect = req.find(bhttp::field::expect);
                             if (req.version() >= 11 && expect != req.end() &&
                                 iequals(std_view(expect->value()), "100-continue")) {
                               // The client waits for our go-ahead before sending the body.
                               asio::async_write(self->stream_, asio::buffer(continue_response),
                                                 [self](error_code wec, size_t) {
                                                   if (wec)
                                                     self->finish();
                                                   else
                                                     self->read_body();
                                                 });
                               return;
                             }
                             self->read_body();
                           });
}

void connection::read_body() {
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
}

void connection::on_read(error_code ec) {
  started_ = clock::now();
  if (!ec) {
    handle();
    return;
  }
  route_ = "unmatched";
  method_ = parser_ && parser_->is_header_done() ? method_label(parser_->get().method()) : "OTHER";
  if (ec == bhttp::error::body_limit) {
    reject(status::payload_too_large, problem::payload_too_large, "Payload Too Large",
           "the request body exceeds " + std::to_string(state_->cfg.body_limit) + " bytes");
  } else if (ec == bhttp::error::header_limit) {
    reject(status::request_header_fields_too_large, problem::header_too_large,
           "Request Header Fields Too Large",
           "the request header exceeds " + std::to_string(state_->cfg.header_limit) + " bytes");
  } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
             ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    reject(status::bad_request, problem::bad_request, "Bad Request",
           "the request is not valid HTTP/1.1: " + ec.message());
  } else {
    // Timeout (the stream closed the socket), reset, or the client left mid-request.
    spdlog::debug("http: connection closed while reading: {}", ec.message());
    finish();
  }
}

void connection::handle() {
  auto req = parser_->release();
  parser_.reset();
  first_request_ = false;
  keep_alive_ = req.keep_alive();
  version_ = req.version();
  method_ = method_label(req.method());
  auto m = state_->routes->match(req.method(), std_view(req.target()));
  route_ = m.route;
  target_ = std::string{std_view(req.target())};
  trace_ = trace_for(req);
  // Every line the handler logs on this thread names the request.
  observability::log_scope scope{trace_.log()};
  awaiting_answer_ = true;
  auto seq = ++seq_;
  // The handler's time is not the client's: no read or write is pending while it works.
  stream_.expires_never();
  try {
    state_->routes->dispatch(std::move(m), std::move(req), make_responder(seq), trace_);
  } catch (const std::exception& e) {
    // The responder died in the unwinding and has already posted a 500, unless the
    // handler kept it to answer later.
    spdlog::error("http: handler of {} {} threw: {}", method_, route_, e.what());
  } catch (...) {
    spdlog::error("http: handler of {} {} threw a non-exception", method_, route_);
  }
}

responder connection::make_responder(uint64_t seq) {
  return responder{[state = state_, weak = weak_from_this(), seq](response res) {
    // Shared lock: many answers may be posted at once, but not while the server stops,
    // so nothing is ever posted to an io_context that is being torn down.
    std::shared_lock guard{state->gate};
    if (!state->open)
      return;
    auto self = weak.lock();
    if (!self)
      return;
    auto ex = self->stream_.get_executor();
    asio::post(ex, [self = std::move(self), seq, res = std::move(res)]() mutable {
      self->deliver(seq, std::move(res));
    });
  }};
}

void connection::deliver(uint64_t seq, response res) {
  if (!awaiting_answer_ || seq != seq_)
    return;
  awaiting_answer_ = false;
  auto close_after = !keep_alive_;
  if (auto hdr = res.find(bhttp::field::connection); hdr != res.end())
    close_after = close_after || bhttp::token_list{hdr->value()}.exists("close");
  write(std::move(res), close_after);
}

void connection::reject(status code, std::string_view type, std::string title, std::string detail) {
  version_ = 11;
  trace_ = trace_for(request{});
  write(problem_response(code, type, std::move(title), std::move(detail)), true);
}

void connection::write(response res, bool close_after) {
  try {
    res.version(version_);
    res.keep_alive(!close_after);
    res.set(bhttp::field::server, "troupe");
    res.set("x-request-id", trace_.request_id);
    res.set("traceparent", trace_.traceparent());
    res.prepare_payload();
  } catch (const std::exception& e) {
    // prepare_payload rejects e.g. a body on a 204; the client still deserves an answer.
    spdlog::error("http: invalid response from {} {}: {}", method_, route_, e.what());
    res = problem_response(status::internal_server_error, problem::internal,
                           "Internal Server Error", "the handler produced an invalid response");
    res.version(version_);
    res.keep_alive(!close_after);
    res.set(bhttp::field::server, "troupe");
  }
  out_ = std::move(res);
  stream_.expires_after(state_->cfg.write_timeout);
  bhttp::async_write(stream_, out_,
                     [self = shared_from_this(), close_after](error_code ec, size_t) {
                       self->on_write(ec, close_after);
                     });
}

void connection::on_write(error_code ec, bool close_after) {
  auto elapsed = std::chrono::duration<double>(clock::now() - started_).count();
  state_->metrics.record(route_, method_, out_.result_int(), elapsed);
  {
    observability::log_scope scope{trace_.log()};
    auto code = out_.result_int();
    spdlog::log(code >= 500 ? spdlog::level::warn : spdlog::level::debug,
                "http: {} {} -> {} in {:.1f} ms", method_, target_, code, elapsed * 1e3);
  }
  out_ = {};
  if (ec) {
    spdlog::debug("http: cannot write a response: {}", ec.message());
    finish();
  } else if (close_after) {
    linger();
  } else {
    await_request();
  }
}

void connection::linger() {
  error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) {
    finish();
    return;
  }
  buffer_.clear();
  stream_.expires_after(
      std::min<std::chrono::milliseconds>(linger_limit, state_->cfg.read_timeout));
  // Reads until the client closes its side or the bound passes; the data is discarded.
  struct drain {
    std::shared_ptr<connection> self;
    void operator()(error_code ec, size_t) {
      self->buffer_.clear();
      if (ec) {
        self->finish();
        return;
      }
      auto& stream = self->stream_;
      stream.async_read_some(self->buffer_.prepare(first_read_size), std::move(*this));
    }
  };
  drain{shared_from_this()}(error_code{}, 0);
}

void connection::finish() {
  error_code ec;
  stream_.socket().close(ec);
  // Released outside the lock: the table's reference may not be the last one, but if it
  // were, destruction must not run under the mutex.
  std::shared_ptr<connection> owned;
  {
    std::lock_guard guard{state_->connections_mtx};
    if (auto i = state_->connections.find(this); i != state_->connections.end()) {
      owned = std::move(i->second);
      state_->connections.erase(i);
    }
  }
}

} // namespace troupe::http
