#pragma once

#include <memory>
#include <string>

#include <caf/scheduled_actor.hpp>

namespace troupe::observability {
class registry;
} // namespace troupe::observability

namespace troupe {

/// A default handler for messages an actor has no handler for, in place of CAF's, which
/// prints each whole message on stdout (so whoever sends them controls the log). It counts
/// them in `troupe_unexpected_messages_total{actor}` (when `metrics` is given), logs one
/// short line (the actor, the sender's node, the message's first atom and size) at most once
/// a second per process, and answers a request with `caf::sec::unexpected_message`.
caf::scheduled_actor::default_handler
drop_unexpected(std::string actor, std::shared_ptr<observability::registry> metrics = nullptr);

/// Whether a line about traffic that others control may be logged now: one a second for the
/// whole process, so whoever sends the traffic cannot choose the log's volume.
bool log_slot_free();

/// The same without a counter, naming the actor by `self->name()`: a plain function, so
/// short-lived actors (one per request) install it without an allocation.
caf::result<caf::message> log_and_drop(caf::scheduled_actor* self, caf::message_view& view);

} // namespace troupe
