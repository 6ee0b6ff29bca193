#pragma once

#include <string>

#include "troupe/events/event.hpp"

namespace pqxx {
class transaction_base;
} // namespace pqxx

namespace troupe::events {

/// Writes `e` to the outbox inside `tx`, the transaction of the state change it describes, so
/// the event exists exactly when that change commits; libpqxx errors propagate to the job.
void append(pqxx::transaction_base& tx, const event& e);

/// Records inside `tx` that `consumer` handles `event_id` and returns whether this transaction
/// is the first to do so; apply the effect in `tx` only when true, so a redelivery is a no-op.
bool claim(pqxx::transaction_base& tx, const std::string& consumer, const std::string& event_id);

} // namespace troupe::events
