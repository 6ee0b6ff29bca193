#pragma once

#include <string>

namespace troupe::chaos_harness {

/// PostgreSQL (newest installed, fsync on) in a network namespace of the sandbox: listening on
/// `address`:5432 for the nodes and on a unix socket in its temporary folder for the harness
/// (unix sockets work across network namespaces). The destructor stops it and removes its
/// files.
class database {
public:
  /// Creates the cluster and database "troupe" in `dir` (made here) and starts the server in
  /// `ns`, trusting `subnet`; throws on failure.
  database(std::string dir, std::string ns, std::string address, std::string subnet);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// The libpq URL the nodes use.
  std::string node_url() const;
  /// The libpq URL the harness uses (the unix socket).
  std::string local_url() const;

  /// Stops at once (connections die as in a crash); returns whether pg_ctl said so.
  bool stop_immediately();
  /// Starts again on the same data; returns whether it accepts connections.
  bool start();

  /// The server's log.
  std::string log_file() const { return dir_ + "/log"; }

  /// Runs `sql` through psql on the unix socket; the rows, one per line, fields split by '|'.
  std::string query(const std::string& sql) const;

private:
  std::string ns_;
  std::string address_;
  std::string bin_;
  std::string dir_;
  bool running_ = false;
};

} // namespace troupe::chaos_harness
