#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace troupe::testing {

/// One request as the loopback server read it.
struct received_request {
  /// The method, e.g. "POST".
  std::string method;
  /// The request target, e.g. "/hook?x=1".
  std::string target;
  /// Header fields by lower-case name.
  std::map<std::string, std::string> headers;
  /// The body.
  std::string body;
};

/// A scripted HTTP server on 127.0.0.1 and an ephemeral port, on a thread of its own.
///
/// Each connection carries one request, answered by the script: raw bytes to send before
/// closing, an empty string to close without answering, or nullopt to hold the connection
/// open and silent until the server is destroyed.
class loopback_server {
public:
  /// Decides what a request gets.
  using script = std::function<std::optional<std::string>(const received_request&)>;

  /// Binds and starts serving.
  explicit loopback_server(script answer);

  /// Stops the thread and drops every connection.
  ~loopback_server();

  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  /// Returns the bound port.
  uint16_t port() const noexcept { return port_; }

  /// Returns "http://127.0.0.1:PORT" followed by `target`.
  std::string url(const std::string& target = "/") const;

  /// Waits up to `limit` for `n` requests; returns those read by then.
  std::vector<received_request> wait_for_requests(size_t n, std::chrono::milliseconds limit);

  /// Renders a whole HTTP/1.1 response with `status`, `body` and Connection: close.
  static std::string reply(unsigned status, const std::string& body,
                           const std::string& content_type = "application/json");

  /// Returns a loopback port nothing listens on (bound, then released), below the range
  /// the kernel gives outgoing connections.
  static uint16_t unused_port();

private:
  struct session;

  void accept();
  void serve(std::shared_ptr<session> s);

  script answer_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::vector<std::shared_ptr<session>> held_; // io thread only
  std::mutex mtx_;
  std::condition_variable arrived_;
  std::vector<received_request> requests_;
  std::thread thread_;
};

} // namespace troupe::testing
