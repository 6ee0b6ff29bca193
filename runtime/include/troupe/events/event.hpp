#pragma once

#include <string>

namespace troupe::events {

/// One domain event as stored in the outbox and handed to subscribers.
struct event {
  /// Globally unique id (a UUID, e.g. from `troupe::random_uuid()`); consumers dedupe by it.
  std::string event_id;
  /// The kind of thing the event is about, e.g. "order"; with `stream_key` it orders delivery.
  std::string stream;
  /// The entity within the stream, e.g. an order id; events of one key arrive in write order.
  std::string stream_key;
  /// What happened, e.g. "order.confirmed"; subscriptions select events by it.
  std::string type;
  /// The event body as a JSON document.
  std::string payload_json;
};

} // namespace troupe::events
