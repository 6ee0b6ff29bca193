#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace troupe::chaos_harness {

/// One answer, or why none came.
struct http_answer {
  /// HTTP status; 0 when no answer came.
  int status = 0;
  std::string body;
  /// Whether the connection could not even be opened (the node is down or unreachable).
  bool connect_failed = false;
  /// Why no answer came, when none did.
  std::string error;
};

/// A keep-alive HTTP/1.1 connection to one node, reopened on demand; every exchange,
/// connect included, is bounded by a deadline (the harness's own threads may block, the
/// nodes' may not).
class http_session {
public:
  http_session(std::string host, std::uint16_t port);
  ~http_session();
  http_session(const http_session&) = delete;
  http_session& operator=(const http_session&) = delete;

  /// Sends one request and waits for its answer, at most `timeout`; drops the connection
  /// after any failure so the next exchange starts clean.
  http_answer exchange(const std::string& method, const std::string& target,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       const std::string& body, std::chrono::milliseconds timeout);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::chaos_harness
