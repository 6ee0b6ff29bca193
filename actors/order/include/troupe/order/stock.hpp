#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "troupe/order/messages.hpp"
#include "troupe/placement/entity.hpp"

namespace troupe::store {
class database;
struct migration;
} // namespace troupe::store

namespace troupe::order {

/// Receives the outcome of a repository call, always inside the calling actor.
template <class T>
using reply = std::function<void(caf::expected<T>)>;

/// A stock row with the reservations still held against it.
struct stock_state {
  /// The row.
  stock_record stock;
  /// Held units per order id.
  std::unordered_map<std::string, int64_t> held;
};

/// Where stock and its per-order reservations are stored. Every write is one transaction,
/// conditional on the version it carries, and answers the row at its next version;
/// `errc::version_conflict` if the row moved meanwhile. Answers arrive inside `self`.
class stock_repository {
public:
  virtual ~stock_repository() = default;

  /// Loads a SKU with its held reservations; `errc::no_such_record` if there is none.
  virtual void load(caf::event_based_actor* self, const std::string& sku,
                    reply<stock_state> done) = 0;

  /// Creates the row (`version` 0) or sets its units on hand.
  virtual void set_on_hand(caf::event_based_actor* self, stock_record next,
                           reply<stock_record> done) = 0;

  /// Holds `quantity` units for `order_id`; `errc::out_of_stock` if too few are available.
  /// An order that already has a reservation (held, taken or released) changes nothing.
  virtual void reserve(caf::event_based_actor* self, const stock_record& at,
                       const std::string& order_id, int64_t quantity, reply<stock_record> done) = 0;

  /// Returns the units of `order_id`: held ones to the available pool, taken ones to
  /// stock. Without a reservation it leaves a marker so a late reserve changes nothing.
  virtual void release(caf::event_based_actor* self, const stock_record& at,
                       const std::string& order_id, reply<stock_record> done) = 0;

  /// Takes the held units of `order_id` out of stock; a no-op when already taken,
  /// `errc::invalid_state` when there is no held reservation.
  virtual void commit(caf::event_based_actor* self, const stock_record& at,
                      const std::string& order_id, reply<stock_record> done) = 0;
};

/// An in-memory stock repository with the same rules; loses everything on exit.
std::shared_ptr<stock_repository> make_memory_stock_repository();

/// The PostgreSQL stock repository; its SQL lives in stock_postgres.cpp.
std::shared_ptr<stock_repository>
make_postgres_stock_repository(std::shared_ptr<store::database> db);

/// Builds the entity kind of SKUs: one activation per SKU serializes every change to it.
placement::entity_kind stock_entity_kind(std::shared_ptr<stock_repository> repo,
                                         caf::timespan idle_timeout);

} // namespace troupe::order
