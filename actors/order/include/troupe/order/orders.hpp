#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "troupe/events/event.hpp"
#include "troupe/order/messages.hpp"
#include "troupe/order/stock.hpp"
#include "troupe/placement/entity.hpp"

namespace troupe::events {
class outbox;
} // namespace troupe::events

namespace troupe::supervision {
class name_registry;
} // namespace troupe::supervision

namespace troupe::placement {
class directory;
class locator;
} // namespace troupe::placement

namespace troupe::order {

/// Which orders a listing returns, newest first.
struct order_query {
  /// Only this user's orders; empty for every user's (admins).
  std::string user_id;
  /// Only orders in this status.
  std::optional<order_status> status;
  /// At most this many.
  size_t limit = 20;
  /// Only orders created before this one (its `created_at_ms` and id): the page cursor.
  std::optional<std::pair<int64_t, std::string>> before;
};

/// Where orders are stored. Writes are conditional on the version they carry and answer
/// the record at its next version; `errc::version_conflict` if it moved meanwhile.
class order_repository {
public:
  virtual ~order_repository() = default;

  /// Loads order `id`; `errc::no_such_record` if there is none.
  virtual void load(caf::event_based_actor* self, const std::string& id,
                    reply<order_record> done) = 0;

  /// Stores a new order at version 1; `errc::already_exists` if the id is taken.
  virtual void insert(caf::event_based_actor* self, order_record rec, reply<order_record> done) = 0;

  /// Stores `rec` (a new status) and, in the same transaction, `event` if there is one.
  virtual void update(caf::event_based_actor* self, order_record rec,
                      std::optional<events::event> event, reply<order_record> done) = 0;

  /// Lists orders as `q` says, newest first.
  virtual void list(caf::event_based_actor* self, order_query q,
                    reply<std::vector<order_record>> done) = 0;

  /// Returns the ids of orders whose saga is unfinished and untouched since `before_ms`.
  virtual void unfinished(caf::event_based_actor* self, int64_t before_ms, size_t limit,
                          reply<std::vector<std::string>> done) = 0;
};

/// An in-memory order repository with the same rules; events are dropped.
std::shared_ptr<order_repository> make_memory_order_repository();

/// The PostgreSQL order repository; events go to `outbox` with the state change, where its
/// inline consumers apply them (null: to the outbox alone, for the relay).
std::shared_ptr<order_repository>
make_postgres_order_repository(std::shared_ptr<store::database> db,
                               std::shared_ptr<const events::outbox> outbox = nullptr);

/// What order activations need besides their store.
struct saga_config {
  /// Resolves this node's payment gateway ("payment") by name.
  std::shared_ptr<supervision::name_registry> names;
  /// Finds the SKU entities, on this node or another.
  std::shared_ptr<const placement::locator> locator;
  /// This node's SKU activations, to skip the region's resolve hop; optional.
  std::shared_ptr<const placement::directory> stock_known;
  /// Bound on each request to a SKU or to the payment gateway.
  caf::timespan step_timeout = std::chrono::seconds(5);
  /// First delay before retrying a step that failed for a technical reason; doubles.
  caf::timespan retry_initial = std::chrono::milliseconds(100);
  /// Longest delay between retries of a step.
  caf::timespan retry_max = std::chrono::seconds(5);
  /// Test hook: an activation stops abnormally once per order and process right after
  /// this point, to prove the saga resumes on reactivation: a stored status's name, or
  /// "authorized" (payment granted, nothing taken) or "taken" (every line taken, not
  /// confirmed yet). Empty: never.
  std::string crash_after;
};

/// The name under which the payment gateway is registered.
inline constexpr const char* payment_name = "payment";

/// Builds the entity kind of orders: each activation runs its order's saga.
placement::entity_kind order_entity_kind(std::shared_ptr<order_repository> repo, saga_config cfg,
                                         caf::timespan idle_timeout);

/// The schema migrations of the order domain (stock and orders).
std::vector<store::migration> order_migrations();

} // namespace troupe::order
