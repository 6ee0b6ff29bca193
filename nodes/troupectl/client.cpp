#include "client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "build_info.hpp"
#include "troupe/core/error.hpp"

namespace troupe::ctl {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// Beast's blocking calls ignore a stream's deadline, so the exchange runs as a chain of
// asynchronous steps on a private io_context with one timer that cancels whatever is pending.
class exchange {
public:
  exchange(const http::http_url& node, const std::string& token, const request& r)
      : resolver_(ioc_), stream_(ioc_), timer_(ioc_) {
    req_.method_string(r.method);
    req_.target(base_path(node.target) + r.target);
    req_.version(11);
    req_.set(bhttp::field::host, node.host + ":" + std::to_string(node.port));
    req_.set(bhttp::field::user_agent, "troupectl/" + std::string{node::build_version()});
    req_.set(bhttp::field::accept, "application/json, application/problem+json");
    req_.set(bhttp::field::connection, "close");
    if (!token.empty())
      req_.set(bhttp::field::authorization, "Bearer " + token);
    if (!r.body.empty()) {
      req_.set(bhttp::field::content_type, "application/json");
      req_.body() = r.body;
    }
    req_.prepare_payload();
  }

  caf::expected<reply> run(const http::http_url& node, std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([this](error_code ec) {
      if (ec)
        return;
      timed_out_ = true;
      resolver_.cancel();
      stream_.cancel();
    });
    resolver_.async_resolve(node.host, std::to_string(node.port),
                            [this](error_code ec, tcp::resolver::results_type found) {
                              if (!step(ec, "name lookup"))
                                return;
                              stream_.async_connect(found, [this](error_code ec, auto&&) {
                                if (step(ec, "connect"))
                                  write();
                              });
                            });
    ioc_.run();
    if (timed_out_)
      return make_error(errc::timeout,
                        "no answer within " + std::to_string(timeout.count()) + "ms");
    if (failure_)
      return make_error(errc::io_failure, failed_step_ + ": " + failure_.message());
    auto res = parser_.release();
    return reply{res.result_int(), std::move(res.body())};
  }

private:
  // A URL given with a path ("http://host/prefix") puts every target under it.
  static std::string base_path(std::string path) {
    while (!path.empty() && path.back() == '/')
      path.pop_back();
    return path;
  }

  void write() {
    bhttp::async_write(stream_, req_, [this](error_code ec, size_t) {
      if (!step(ec, "send"))
        return;
      bhttp::async_read(stream_, buffer_, parser_, [this](error_code ec, size_t) {
        if (step(ec, "receive"))
          timer_.cancel();
      });
    });
  }

  // Records the first failure and stops the chain there.
  bool step(error_code ec, const char* name) {
    if (!ec)
      return true;
    if (!failure_) {
      failure_ = ec;
      failed_step_ = name;
    }
    timer_.cancel();
    return false;
  }

  asio::io_context ioc_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> req_;
  bhttp::response_parser<bhttp::string_body> parser_;
  bool timed_out_ = false;
  error_code failure_;
  std::string failed_step_;
};

} // namespace

std::string reason(const caf::error& err) {
  auto text = describe(err);
  auto prefix = to_string(static_cast<errc>(err.code())) + ": ";
  return text.starts_with(prefix) ? text.substr(prefix.size()) : text;
}

transport http_transport(http::http_url node, std::string token,
                         std::chrono::milliseconds timeout) {
  return [node = std::move(node), token = std::move(token), timeout](const request& r) {
    exchange x{node, token, r};
    return x.run(node, timeout);
  };
}

} // namespace troupe::ctl
