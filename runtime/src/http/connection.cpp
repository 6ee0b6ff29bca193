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
#include <spdlog/spdlog.h>

#include "http/server_state.hpp"
#include "http/wire.hpp"

namespace troupe::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

// Bytes asked for per read; most requests arrive whole in one.
constexpr size_t read_size = 4096;

// How long a closing connection keeps draining what the client still sends, so that our
// last response is not destroyed by a reset triggered by unread data.
constexpr std::chrono::milliseconds linger_limit{1000};

constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

// Larger response buffers are released after their write rather than kept per connection.
constexpr size_t kept_wire_capacity = 64 * 1024;

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

connection::connection(asio::ip::tcp::socket socket, std::shared_ptr<server_state> state,
                       std::string client)
    : stream_(std::move(socket)), state_(std::move(state)), client_(std::move(client)),
      route_("unmatched"), method_("OTHER") {
  if (auto* strand = stream_.get_executor().target<strand_type>())
    strand_ = *strand;
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
  parser_.emplace();
  parser_->header_limit(
      static_cast<uint32_t>(std::min<size_t>(state_->cfg.header_limit, UINT32_MAX)));
  parser_->body_limit(state_->cfg.body_limit);
  // Eager: a body that arrived with its header is parsed in the same call.
  parser_->eager(true);
  continue_sent_ = false;
  request_started_ = buffer_.size() > 0; // a pipelined request is already here
  if (request_started_)
    stream_.expires_after(state_->cfg.read_timeout);
  else if (!first_request_)
    stream_.expires_after(state_->cfg.idle_timeout);
  parse_buffered();
}

void connection::parse_buffered() {
  // The parser runs right here on what is buffered: a request that arrived whole (the
  // usual case) costs one read and no further asynchronous steps.
  while (buffer_.size() > 0 && !parser_->is_done()) {
    error_code ec;
    auto used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more)
      break;
    if (ec) {
      on_read(ec);
      return;
    }
  }
  if (parser_->is_done()) {
    on_read({});
    return;
  }
  if (parser_->is_header_done() && !continue_sent_ && expects_continue()) {
    // The client waits for our go-ahead before sending the body.
    continue_sent_ = true;
    asio::async_write(stream_, asio::buffer(continue_response),
                      [self = shared_from_this()](error_code ec, size_t) {
                        if (ec)
                          self->finish();
                        else
                          self->read_more();
                      });
    return;
  }
  read_more();
}

bool connection::expects_continue() const {
  auto& req = parser_->get();
  auto expect = req.find(bhttp::field::expect);
  return req.version() >= 11 && expect != req.end() &&
         iequals(std_view(expect->value()), "100-continue");
}

void connection::read_more() {
  // The parser bounds the header and the body; unparsed bytes are at most one header.
  stream_.async_read_some(
      buffer_.prepare(read_size), [self = shared_from_this()](error_code ec, size_t n) {
        if (ec) {
          // Idle timeout, reset, or the client left; mid-request it is the same to us.
          if (ec != asio::error::eof && self->request_started_)
            spdlog::debug("http: connection closed while reading: {}", ec.message());
          self->finish();
          return;
        }
        self->buffer_.commit(n);
        if (!self->request_started_) {
          self->request_started_ = true;
          // From its first byte on, a request has read_timeout to arrive whole.
          if (!self->first_request_)
            self->stream_.expires_after(self->state_->cfg.read_timeout);
        }
        self->parse_buffered();
      });
}

void connection::on_read(error_code ec) {
  started_ = clock::now();
  if (!ec) {
    handle();
    return;
  }
  // A request refused for its size usually had its request line read: its labels are then
  // the route's, so a dashboard shows which route is sent too much (the target is empty when
  // the request line never arrived).
  if (parser_)
    label(parser_->get().method(), std_view(parser_->get().target()));
  else
    label(verb::unknown, {});
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
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is malformed; without it virtual
  // hosting and absolute-URI checks downstream guess.
  if (req.version() >= 11 && req.find(bhttp::field::host) == req.end()) {
    label(req.method(), {});
    reject(status::bad_request, problem::bad_request, "Bad Request",
           "an HTTP/1.1 request needs a Host header");
    return;
  }
  keep_alive_ = req.keep_alive();
  version_ = req.version();
  auto m = state_->routes->match(req.method(), std_view(req.target()));
  method_ = method_label(req.method());
  head_ = req.method() == verb::head;
  route_ = m.route;
  trace_ = trace_for(req);
  // Every line the handler logs on this thread names the request.
  observability::log_scope scope{trace_.log()};
  awaiting_answer_ = true;
  auto seq = ++seq_;
  // The handler's time is not the client's: no read or write is pending while it works.
  stream_.expires_never();
  try {
    state_->routes->dispatch(std::move(m), std::move(req), make_responder(seq), trace_, client_);
  } catch (const std::exception& e) {
    // The responder died in the unwinding and has already posted a 500, unless the
    // handler kept it to answer later.
    spdlog::error("http: handler of {} {} threw: {}", method_, route_, e.what());
  } catch (...) {
    spdlog::error("http: handler of {} {} threw a non-exception", method_, route_);
  }
}

void connection::label(verb method, std::string_view target) {
  method_ = method_label(method);
  head_ = method == verb::head;
  route_ = target.empty() ? "unmatched" : state_->routes->match(method, target).route;
}

responder connection::make_responder(uint64_t seq) {
  return responder{[state = state_, weak = weak_from_this(), seq](response res) {
    // An answer given on the connection's own strand (the handler answered at once) is
    // written right away instead of taking another trip through the queue.
    if (auto self = weak.lock(); self && self->strand_ && self->strand_->running_in_this_thread()) {
      self->deliver(seq, std::move(res));
      return;
    }
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
    res.prepare_payload();
  } catch (const std::exception& e) {
    // prepare_payload rejects e.g. a body on a 204; the client still deserves an answer.
    spdlog::error("http: invalid response from {} {}: {}", method_, route_, e.what());
    res = problem_response(status::internal_server_error, problem::internal,
                           "Internal Server Error", "the handler produced an invalid response");
    res.version(version_);
    res.keep_alive(!close_after);
  }
  status_ = res.result_int();
  wire_.clear();
  append_head(res, wire_);
  wire_.append("Server: troupe\r\nx-request-id: ")
      .append(trace_.request_id)
      .append("\r\ntraceparent: ");
  trace_.append_traceparent(wire_);
  wire_.append("\r\n\r\n");
  // A response to HEAD keeps GET's Content-Length but sends no body: a client reads none,
  // and bytes it did not expect would be taken for the next response on the connection.
  if (!head_)
    wire_.append(res.body());
  stream_.expires_after(state_->cfg.write_timeout);
  asio::async_write(stream_, asio::buffer(wire_),
                    [self = shared_from_this(), close_after](error_code ec, size_t) {
                      self->on_write(ec, close_after);
                    });
}

void connection::on_write(error_code ec, bool close_after) {
  auto elapsed = std::chrono::duration<double>(clock::now() - started_).count();
  state_->metrics.record(route_, method_, status_, elapsed);
  if (auto level = access_level(); spdlog::should_log(level)) {
    // The route, not the target: a path may hold ids or tokens, and the route is what the
    // metrics are labelled with. The scope adds the request and trace ids.
    observability::log_scope scope{trace_.log()};
    spdlog::log(level, "http: {} {} -> {} in {:.3f} ms", method_, route_, status_, elapsed * 1e3);
  }
  // The buffer is kept for the next response unless a large one inflated it.
  if (wire_.capacity() > kept_wire_capacity)
    wire_ = std::string{};
  if (ec) {
    spdlog::debug("http: cannot write a response: {}", ec.message());
    finish();
  } else if (close_after) {
    linger();
  } else {
    await_request();
  }
}

spdlog::level::level_enum connection::access_level() const {
  if (state_->cfg.access_log)
    return spdlog::level::info;
  // Without access lines a server failure still deserves a warning; a 503 is shedding or
  // not being ready yet, which the metrics count and probes expect.
  if (status_ >= 500 && status_ != 503)
    return spdlog::level::warn;
  return spdlog::level::debug;
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
      stream.async_read_some(self->buffer_.prepare(read_size), std::move(*this));
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
      if (auto c = state_->per_client.find(client_);
          c != state_->per_client.end() && --c->second == 0)
        state_->per_client.erase(c);
    }
  }
}

} // namespace troupe::http
