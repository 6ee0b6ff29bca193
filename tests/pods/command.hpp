#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace troupe::testing {

/// What a finished command left behind.
struct command_result {
  /// Exit code (128+N for signal N; -1 if it did not finish in time and was killed).
  int code = -1;
  /// stdout.
  std::string out;
  /// stderr.
  std::string err;
};

/// Runs `argv` (looked up on PATH) to completion, for at most `limit`.
command_result run_command(const std::vector<std::string>& argv,
                           std::chrono::milliseconds limit = std::chrono::seconds(60));

/// Runs `argv` and throws with its stderr unless it exits 0; returns stdout.
std::string must_run(const std::vector<std::string>& argv,
                     std::chrono::milliseconds limit = std::chrono::seconds(60));

} // namespace troupe::testing
