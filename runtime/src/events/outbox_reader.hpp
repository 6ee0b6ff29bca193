#pragma once

// The relay's only database job: confirm finished deliveries, then read what is next.

#include <cstddef>
#include <cstdint>
#include <vector>

#include <caf/expected.hpp>

#include "troupe/events/event.hpp"

namespace pqxx {
class connection_base;
} // namespace pqxx

namespace troupe::events::detail {

/// An undelivered outbox row.
struct outbox_row {
  /// The row's position in the outbox; delivery order within a key.
  int64_t id = 0;
  /// The event itself.
  event ev;
};

/// What one relay cycle learned about the outbox.
struct poll_result {
  /// Undelivered rows after the marks of this cycle.
  int64_t pending = 0;
  /// Age in seconds of the oldest undelivered row, 0 when there is none.
  double lag_seconds = 0;
  /// The oldest undelivered row of each (stream, stream_key), in id order.
  std::vector<outbox_row> heads;
};

/// Marks `delivered` as delivered and returns up to `limit` key heads, all in one transaction.
caf::expected<poll_result> mark_and_poll(pqxx::connection_base& conn,
                                         const std::vector<int64_t>& delivered, size_t limit);

} // namespace troupe::events::detail
