#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

namespace troupe {

/// Error codes of the runtime; carried in `caf::error` under the `troupe` category.
enum class errc : uint8_t {
  /// A supervisor exceeded its restart intensity and stopped its children.
  escalated = 1,
  /// A child's start function failed while its supervisor was starting.
  start_failed,
  /// The named actor is between incarnations; retry shortly.
  restarting,
  /// No actor is registered under the name.
  not_found,
  /// The receiver is shutting down and takes no new work.
  shutting_down,
  /// An argument or configuration value is invalid.
  invalid_argument,
  /// An I/O operation (bind, connect, read) failed.
  io_failure,
  /// The database cannot be reached now; the caller may retry later (HTTP 503).
  store_unavailable,
  /// A database statement ran past its timeout (HTTP 504).
  store_timeout,
  /// The database rejected the statement for a reason retrying will not fix.
  store_failure,
  /// A conditional write found a newer version than the one it was based on (fencing).
  version_conflict,
  /// A uniqueness rule was violated, e.g. an email already registered (HTTP 409).
  already_exists,
  /// The record does not exist.
  no_such_record,
  /// A bounded queue is full; the work was shed, not queued (HTTP 503).
  overloaded,
  /// Credentials are missing, malformed or wrong.
  unauthenticated,
  /// The caller is known but not allowed.
  forbidden,
  /// A dependency (e.g. a payment provider) is failing and calls to it fail fast for now; the
  /// error may carry when to retry (HTTP 503 with that `Retry-After`).
  dependency_unavailable,
  /// A dependency answered with a technical failure instead of a decision (HTTP 502).
  dependency_failed,
  /// The payment provider declined the payment: a business outcome, not a fault (HTTP 402).
  payment_declined,
  /// Not enough units are available to reserve (HTTP 409, type out-of-stock).
  out_of_stock,
  /// The request cannot apply in the resource's current state, e.g. cancelling a
  /// rejected order (HTTP 409).
  invalid_state,
  /// An idempotency key was reused with a different request (HTTP 422).
  idempotency_mismatch,
  /// An operation other than a database statement ran past its deadline (HTTP 504).
  timeout,
  /// The node a request went to left or died before answering (HTTP 503); whether it was
  /// processed is unknown, so only an idempotent request may be sent again.
  node_down,
  /// The owner of the key does not hold its lease on key ownership now, so it refused the
  /// request unprocessed; it may be sent again shortly (HTTP 503).
  not_settled,
};

/// The CAF error category atom of `errc`.
inline constexpr caf::atom_value errc_category = caf::atom("troupe");

/// Returns the stable name of `x`, e.g. "escalated".
std::string to_string(errc x);

/// Makes a `caf::error` of category `troupe` with an optional human-readable detail.
caf::error make_error(errc x, std::string detail = {});

/// Makes a `caf::error` that also tells the caller how long to wait before retrying.
caf::error make_error(errc x, std::string detail, caf::timespan retry_after);

/// Returns the retry delay `err` carries, if it was made with one.
std::optional<caf::timespan> retry_after_of(const caf::error& err);

/// Returns whether `err` carries the code `x`.
bool is(const caf::error& err, errc x);

/// Renders any `caf::error` as one human-readable line, e.g. "escalated: http".
std::string describe(const caf::error& err);

/// Teaches an actor system to render `errc` errors by name.
void add_error_category(caf::actor_system_config& cfg);

} // namespace troupe
