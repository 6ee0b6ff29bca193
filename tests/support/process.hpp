#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace troupe::testing {

/// A child process with its stdout and stderr captured; killed if still running when
/// destroyed, so a failing test never leaves a process behind.
class process {
public:
  /// Starts `argv[0]` with `argv` and the current environment plus `env`.
  process(std::vector<std::string> argv, std::map<std::string, std::string> env = {});
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  /// Returns the process id.
  pid_t pid() const noexcept { return pid_; }

  /// Sends `sig`.
  void signal(int sig) const;

  /// Waits up to `limit` for exit; returns the exit code (128+N for signal N).
  std::optional<int> wait_exit(std::chrono::milliseconds limit);

  /// Waits up to `limit` for a line of stderr containing `needle`; returns that line.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds limit);

  /// Everything written to stderr so far.
  std::string err() const;
  /// Everything written to stdout so far.
  std::string out() const;

private:
  void pump(int fd, std::string& sink);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  mutable std::mutex mtx_;
  std::string out_;
  std::string err_;
  std::thread out_reader_;
  std::thread err_reader_;
};

/// The command prefix that runs a program as pid 1 of a new pid namespace, as in a container
/// (killed when the prefix's own process dies); nothing where the machine does not allow it.
std::optional<std::vector<std::string>> pid_one_wrapper();

/// Parses the port of a "listening on http://HOST:PORT" line.
std::optional<uint16_t> port_from_listening_line(const std::string& line);

} // namespace troupe::testing
