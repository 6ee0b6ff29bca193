#include "support/loopback_server.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <random>

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

namespace troupe::testing {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

struct loopback_server::session {
  explicit session(tcp::socket s) : socket(std::move(s)) {}

  tcp::socket socket;
  boost::beast::flat_buffer buffer;
  bhttp::request<bhttp::string_body> req;
  std::string out;
};

loopback_server::loopback_server(script answer)
    : answer_(std::move(answer)),
      acceptor_(ioc_, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}) {
  port_ = acceptor_.local_endpoint().port();
  accept();
  thread_ = std::thread{[this] { ioc_.run(); }};
}

loopback_server::~loopback_server() {
  ioc_.stop();
  thread_.join();
}

std::string loopback_server::url(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + target;
}

void loopback_server::accept() {
  acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec)
      return;
    serve(std::make_shared<session>(std::move(socket)));
    accept();
  });
}

void loopback_server::serve(std::shared_ptr<session> s) {
  bhttp::async_read(s->socket, s->buffer, s->req, [this, s](error_code ec, size_t) {
    if (ec)
      return;
    received_request got;
    got.method = std::string{s->req.method_string()};
    got.target = std::string{s->req.target()};
    for (const auto& f : s->req) {
      std::string name{f.name_string()};
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      got.headers[name] = std::string{f.value()};
    }
    got.body = s->req.body();
    auto answer = answer_(got);
    {
      std::lock_guard guard{mtx_};
      requests_.push_back(std::move(got));
    }
    arrived_.notify_all();
    if (!answer) {
      held_.push_back(s);
      return;
    }
    s->out = std::move(*answer);
    asio::async_write(s->socket, asio::buffer(s->out), [s](error_code, size_t) {
      error_code ignored;
      s->socket.shutdown(tcp::socket::shutdown_both, ignored);
      s->socket.close(ignored);
    });
  });
}

std::vector<received_request> loopback_server::wait_for_requests(size_t n,
                                                                 std::chrono::milliseconds limit) {
  std::unique_lock guard{mtx_};
  arrived_.wait_for(guard, limit, [&] { return requests_.size() >= n; });
  return requests_;
}

std::string loopback_server::reply(unsigned status, const std::string& body,
                                   const std::string& content_type) {
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string{reason} +
         "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

uint16_t loopback_server::unused_port() {
  // The kernel's own pick would come from the range it also hands to outgoing connections,
  // and any client socket of a test running beside this one could take the port before the
  // caller binds it. Below that range only another listener can, and a random choice makes
  // two tests picking the same port at once unlikely.
  static std::mt19937 pick{std::random_device{}()};
  static std::mutex mtx;
  asio::io_context ioc;
  for (int attempt = 0; attempt < 200; ++attempt) {
    uint16_t port;
    {
      std::lock_guard guard{mtx};
      port = static_cast<uint16_t>(std::uniform_int_distribution<int>{20000, 32000}(pick));
    }
    boost::system::error_code ec;
    tcp::acceptor probe{ioc};
    probe.open(tcp::v4(), ec);
    if (!ec)
      probe.bind(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port}, ec);
    if (!ec)
      return port;
  }
  tcp::acceptor probe{ioc, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
  return probe.local_endpoint().port();
}

} // namespace troupe::testing
