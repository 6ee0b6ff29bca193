#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "troupe/events/event.hpp"
#include "troupe/supervision/spec.hpp"

namespace troupe::store {
class database;
} // namespace troupe::store

namespace troupe::observability {
class registry;
} // namespace troupe::observability

namespace troupe::events {

/// Acknowledges one delivery: no error once the effect is durable, else the reason it failed.
/// May be called later and from any thread; calls after the first are ignored.
using ack_fn = std::function<void(caf::error)>;

/// One consumer of outbox events and how the relay hands events to it.
struct subscription {
  /// Stable consumer name, used in metrics and as the `claim` key of its effects.
  std::string consumer;
  /// Event types it receives; empty means every type.
  std::vector<std::string> types;
  /// Called inside the relay actor for each matching event; must not block, must ack once.
  std::function<void(caf::event_based_actor* self, const event&, ack_fn ack)> deliver;
};

/// How the relay reads the outbox and whom it delivers to.
struct relay_config {
  /// The database holding `troupe_outbox` (see `outbox_migrations()`).
  std::shared_ptr<store::database> db;
  /// Every consumer; an event goes to each subscription whose types match.
  std::vector<subscription> subscriptions;
  /// Time between polls of the outbox.
  caf::timespan poll_interval = std::chrono::milliseconds(200);
  /// Most events delivered but not yet marked at any time.
  size_t batch = 100;
  /// Where the outbox gauges and counters go; optional.
  std::shared_ptr<observability::registry> metrics;
  /// First delay before retrying a key whose head event failed; doubles per failure.
  caf::timespan retry_initial = std::chrono::milliseconds(200);
  /// Longest delay between retries of one key.
  caf::timespan retry_max = std::chrono::seconds(30);
  /// A delivery not acked within this time counts as failed.
  caf::timespan ack_timeout = std::chrono::seconds(30);
  /// Name of the relay's child spec.
  std::string name = "outbox_relay";
  /// Whether this relay polls now; nodes sharing a database run one relay at a time by
  /// making it a singleton (e.g. the owner of a fixed key). Empty: always.
  std::function<bool()> active;
};

/// Spawns a relay that delivers committed outbox events at least once, in order per key.
caf::expected<caf::actor> spawn_relay(caf::actor_system& sys, relay_config cfg);

/// Wraps the relay as a permanent worker for a supervisor.
supervision::child_spec relay_child(relay_config cfg);

} // namespace troupe::events
