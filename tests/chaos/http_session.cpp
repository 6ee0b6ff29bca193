#include "http_session.hpp"

#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace troupe::chaos_harness {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct http_session::impl {
  std::string host;
  tcp::endpoint peer;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  void drop() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->socket().close(ignored);
    }
    stream.reset();
    buffer.clear();
  }

  // Runs the queued asynchronous work to completion; the stream's own timer bounds it.
  void run() {
    io.restart();
    io.run();
  }
};

http_session::http_session(std::string host, std::uint16_t port) : impl_(std::make_unique<impl>()) {
  impl_->host = std::move(host);
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->host, ec);
  impl_->peer = tcp::endpoint{ec ? asio::ip::address_v4::loopback() : address, port};
}

http_session::~http_session() {
  impl_->drop();
}

http_answer http_session::exchange(const std::string& method, const std::string& target,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   const std::string& body, std::chrono::milliseconds timeout) {
  auto& s = *impl_;
  http_answer out;
  beast::error_code ec;
  bool fresh = false;
  if (!s.stream) {
    s.stream.emplace(s.io);
    s.stream->expires_after(timeout);
    s.stream->async_connect(s.peer, [&ec](beast::error_code e) { ec = e; });
    s.run();
    if (ec) {
      out.connect_failed = true;
      out.error = "connect: " + ec.message();
      s.drop();
      return out;
    }
    fresh = true;
  }
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, s.host);
  req.keep_alive(true);
  for (const auto& [name, value] : headers)
    req.set(name, value);
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.body() = body;
    if (!body.empty())
      req.set(bhttp::field::content_type, "application/json");
  }
  req.prepare_payload();
  bhttp::response<bhttp::string_body> res;
  s.stream->expires_after(timeout);
  bhttp::async_write(*s.stream, req, [&](beast::error_code e, std::size_t) {
    ec = e;
    if (!e)
      bhttp::async_read(*s.stream, s.buffer, res,
                        [&ec](beast::error_code e2, std::size_t) { ec = e2; });
  });
  s.run();
  if (ec) {
    s.drop();
    // A kept-alive connection the server closed while idle fails before any answer; like
    // any HTTP client, try once more on a fresh one.
    if (!fresh && ec != beast::error::timeout &&
        (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe))
      return exchange(method, target, headers, body, timeout);
    out.error = ec.message();
    return out;
  }
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  if (!res.keep_alive())
    s.drop();
  return out;
}

} // namespace troupe::chaos_harness
