#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace troupe::testing {

/// A troupe-node process on a free port; waits (bounded) until it listens.
struct running_node {
  /// Starts TROUPE_NODE_BINARY with `flags` (plus `--http-port 0` unless the flags or
  /// `env` choose a port), through `wrapper` if given (e.g. `unshare ... --`).
  explicit running_node(std::vector<std::string> flags, std::map<std::string, std::string> env = {},
                        std::vector<std::string> wrapper = {});

  /// The command line for `flags`, the binary first.
  static std::vector<std::string> with_binary(std::vector<std::string> flags);

  /// GET `target` with `headers`.
  http_reply get(const std::string& target, std::map<std::string, std::string> headers = {});

  /// Sends `method` `target` with a JSON body (Content-Type set unless given).
  http_reply send(const std::string& method, const std::string& target, const std::string& body,
                  std::map<std::string, std::string> headers = {});

  /// Waits until /readyz answers 200 (bounded); returns whether it did.
  bool wait_ready(std::chrono::milliseconds limit = std::chrono::seconds(20));

  process proc;
  uint16_t port = 0;
};

} // namespace troupe::testing
