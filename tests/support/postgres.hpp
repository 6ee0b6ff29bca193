#pragma once

#include <cstdint>
#include <string>

namespace troupe::testing {

/// A private PostgreSQL server in a temporary directory on a free loopback port; the
/// destructor stops it and removes every file, even when the test failed.
class throwaway_postgres {
public:
  /// Creates the cluster, starts it and creates database "troupe_test"; throws on failure.
  /// `durable` keeps fsync on (for durability tests); otherwise fsync is off for speed.
  explicit throwaway_postgres(bool durable = false);
  ~throwaway_postgres();
  throwaway_postgres(const throwaway_postgres&) = delete;
  throwaway_postgres& operator=(const throwaway_postgres&) = delete;

  /// Returns whether the PostgreSQL server binaries (initdb) are installed.
  static bool available();

  /// Returns the libpq URL of the test database,
  /// "postgresql://postgres@127.0.0.1:PORT/troupe_test".
  std::string url() const;

  /// Returns the port the server listens on.
  uint16_t port() const noexcept { return port_; }

  /// Stops the server at once (immediate mode: connections die as in a crash).
  void stop();

  /// Starts the server again on the same data directory and port.
  void start();

  /// Returns whether the server is running.
  bool running() const noexcept { return running_; }

  /// Returns the server log, for failure messages.
  std::string log() const;

private:
  bool try_start();

  std::string bin_dir_;
  std::string dir_;
  uint16_t port_ = 0;
  bool durable_ = false;
  bool running_ = false;
};

} // namespace troupe::testing
