#pragma once

// Statements sent to PostgreSQL in one round trip, in libpq's pipeline mode, on the
// connection of a worker's session. libpqxx 6.4 predates pipeline mode and keeps its libpq
// handle private; the session gets the handle from the connection policy that opened it.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "troupe/store/statement.hpp"

namespace troupe::store::detail {

struct session;

/// What a pipeline gave back: the rows of each statement in order, up to the first that failed.
struct pipeline_result {
  std::vector<store::rows> rows;
  /// Index in the statements of the one that failed; `stmts.size()` if none did.
  size_t failed = 0;
  /// Why it failed, and its SQLSTATE.
  caf::error error;
  std::string sqlstate;
};

/// Sends `lead` (a command without parameters, such as BEGIN; empty for none) and `stmts` in
/// one round trip and reads every result. Queries a connection has not prepared yet are
/// prepared in the same round trip. A failed statement is a value (the rest of the pipeline is
/// then skipped by the server); a lost connection, or one left in a state nobody can tell,
/// throws `pqxx::broken_connection` so its worker reconnects.
pipeline_result run_pipeline(session& s, std::string_view lead,
                             const std::vector<const statement*>& stmts);

/// Runs a command without parameters (COMMIT, ROLLBACK) on `s`; throws as libpqxx would, and
/// `pqxx::in_doubt_error` for a COMMIT whose connection broke.
void run_command(session& s, const char* sql);

} // namespace troupe::store::detail
