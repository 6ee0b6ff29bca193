#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace troupe::node {

/// Everything `troupe-node` can be told on its command line or through `TROUPE_*`.
struct node_options {
  /// This node's name in logs and metrics (default: $POD_NAME, else the host name).
  std::string node_name;
  /// Address the HTTP facade binds.
  std::string http_host = "0.0.0.0";
  /// Port of the HTTP facade; 0 picks a free one.
  uint16_t http_port = 8080;
  /// Threads serving HTTP.
  size_t http_threads = 1;
  /// Concurrent HTTP connections before new ones are refused.
  size_t http_max_connections = 1024;
  /// Bearer token for /admin/*; empty disables them.
  std::string admin_token;
  /// spdlog level name.
  std::string log_level = "info";
  /// "text" or "json".
  std::string log_format = "text";
  /// CAF scheduler threads; 0 means one per core.
  size_t actor_threads = 0;
};

/// What parsing decided.
struct parse_result {
  /// The options, valid when `exit_code` is empty.
  node_options options;
  /// Set when the process should exit at once (0 after --help, 2 on a bad flag).
  std::optional<int> exit_code;
  /// What to print before exiting: help text on stdout, or one error line on stderr.
  std::string message;
};

/// Parses argv and the TROUPE_* environment; never throws, never exits.
parse_result parse_options(int argc, const char* const* argv);

} // namespace troupe::node
