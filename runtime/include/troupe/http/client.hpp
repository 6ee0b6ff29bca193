#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::http {

/// The parts of an `http://host[:port][/path][?query]` URL a client needs.
struct http_url {
  /// Host name or address, without the brackets of an IPv6 literal.
  std::string host;
  /// Port, 80 unless the URL names one.
  uint16_t port = 80;
  /// Request target: path and query, "/" at least; the fragment is dropped.
  std::string target = "/";
};

/// Splits an http:// URL; `errc::invalid_argument` says what is wrong (https is not supported).
caf::expected<http_url> parse_http_url(std::string_view url);

/// What a server answered; any status, 2xx or not.
struct client_response {
  /// The status code, e.g. 200 or 503.
  unsigned status = 0;
  /// The body, cut at `client_config::body_limit` bytes.
  std::string body;
  /// Whether the body was longer than the limit and cut.
  bool truncated = false;
};

/// Limits of a `client`.
struct client_config {
  /// Bytes of a response body kept; the rest is not read.
  size_t body_limit = 64 * 1024;
  /// Bytes allowed in a response's status line and headers.
  uint32_t header_limit = 16 * 1024;
};

/// An asynchronous HTTP/1.1 client for POSTing JSON, one connection per request, on its
/// own io thread.
///
/// Completions run on that thread and must not block: an actor just sends itself the result.
class client {
public:
  /// Receives the outcome of one request, exactly once.
  using callback = std::function<void(caf::expected<client_response>)>;
  /// Header fields sent besides the client's own (name, value), e.g. `traceparent`.
  using fields = std::vector<std::pair<std::string, std::string>>;

  /// Starts the io thread; fails only if the thread cannot be started.
  static caf::expected<std::unique_ptr<client>> start(client_config cfg = {});

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Stops the client (see `stop`).
  ~client();

  /// POSTs `body` as application/json to `url`; `done` gets the response or an error.
  ///
  /// `timeout` bounds everything from this call to the last byte read: `errc::timeout`
  /// past it, `errc::io_failure` when the host cannot be resolved, reached or understood,
  /// `errc::invalid_argument` for a bad URL or timeout, each on the io thread. Only once
  /// stopped is `done` called at once on the caller's thread, with `errc::shutting_down`.
  /// `extra` fields go with the request. A `delay` holds the request back that long before it
  /// connects, within the timeout (a slow dependency, for fault injection).
  void post(std::string url, std::string body, std::chrono::milliseconds timeout, callback done,
            fields extra = {}, std::chrono::milliseconds delay = {});

  /// Fails requests in flight with `errc::shutting_down` and joins the io thread; idempotent.
  /// From a completion it cannot join, so the thread ends by itself when the completion returns.
  void stop();

private:
  struct impl;

  explicit client(std::shared_ptr<impl> p);

  // Shared with the io thread, which outlives the client when stopped from a completion.
  std::shared_ptr<impl> impl_;
};

} // namespace troupe::http
