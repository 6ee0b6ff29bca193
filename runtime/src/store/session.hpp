#pragma once

// What a job's context pointer refers to: one worker's connection and what it learned.

#include <memory>
#include <string>
#include <unordered_set>

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace troupe::store::detail {

/// One live connection of a worker; replaced as a whole on reconnect.
struct session {
  /// The worker's connection.
  pqxx::connection_base* conn = nullptr;
  /// Statements prepared on this connection through libpqxx.
  std::unordered_set<std::string> prepared;
  /// The connection's libpq handle (a `PGconn*`), kept current by the policy that opens and
  /// closes it; null while closed. For pipelines, which libpqxx 6.4 cannot send.
  std::shared_ptr<void*> raw;
  /// Queries prepared on this connection by pipelines.
  std::unordered_set<std::string> raw_prepared;
  /// Set once the connection was found lost; the worker then reconnects.
  bool broken = false;
};

/// Returns the session of the job running on this thread, if any.
session* current_session() noexcept;

/// Marks `s` as the session of the job running on this thread (nullptr clears it).
void set_current_session(session* s) noexcept;

} // namespace troupe::store::detail
