#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/http/client.hpp"

namespace troupe::ctl {

/// The commands troupectl runs.
enum class command {
  cluster,
  tree,
  entities,
  faults_list,
  faults_add,
  faults_rm,
  faults_reset,
  health
};

/// The fault types the node's chaos API takes.
const std::vector<std::string_view>& fault_types();

/// A fault to inject, as given on the command line of `faults add`.
struct fault_spec {
  /// One of `fault_types()`.
  std::string type;
  /// How long the fault stays (--for).
  int64_t duration_ms = 0;
  /// The share of matching events hit, 0 to 1; the server's default when absent.
  std::optional<double> probability;
  /// The delay a delay-like fault adds (--delay).
  std::optional<int64_t> delay_ms;
  /// Match fields and targets, in the order the JSON names them; unset ones are left out.
  std::optional<std::string> node, kind, key, message, path, dependency;
};

/// A command line understood: where to send what.
struct invocation {
  /// The node as given (--url, TROUPE_URL), for messages.
  std::string url = "http://127.0.0.1:8080";
  /// The node's address taken apart.
  http::http_url node;
  /// The admin token (--token, TROUPE_ADMIN_TOKEN).
  std::string token;
  /// Print the server's JSON instead of tables.
  bool json = false;
  /// The longest wait for each request.
  int64_t timeout_ms = 5000;
  /// What to do.
  command what = command::cluster;
  /// `entities --kind`.
  std::optional<std::string> entity_kind;
  /// `entities --limit`.
  std::optional<int64_t> limit;
  /// `faults add`.
  fault_spec fault;
  /// `faults rm ID`.
  std::string fault_id;
};

/// The outcome of parsing: a command to run, or text to print and an exit code.
struct parse_result {
  /// Set when a command is to run.
  std::optional<invocation> run;
  /// The exit code when nothing runs: 0 after --help or --version, 2 on a usage error.
  int exit_code = 0;
  /// Help or version text (to stdout), or the usage error (to stderr).
  std::string message;
};

/// The line --version prints, e.g. "troupectl 0.1.0-3-gabc1234 (abc1234)".
std::string version_line();

/// Parses troupectl's arguments (and TROUPE_URL, TROUPE_ADMIN_TOKEN from the environment).
parse_result parse_command_line(int argc, const char* const* argv);

} // namespace troupe::ctl
