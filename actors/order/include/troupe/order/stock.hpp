#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

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

/// One change to a SKU's reservations on behalf of one order. Each is idempotent per order:
/// - reserve holds `quantity` units, unless the order already has a reservation (held,
///   taken or released: then nothing changes); `errc::out_of_stock` if too few are free.
/// - release gives the order's units back: held ones to the free pool, taken ones to stock.
///   Without a reservation it leaves a marker, so a late reserve changes nothing.
/// - commit takes the held units out of stock; a no-op once taken, `errc::invalid_state`
///   without a held reservation.
/// - take takes `quantity` units out of stock at once (a taken reservation with no held
///   phase), or the held ones if the order reserved before; a no-op once taken;
///   `errc::out_of_stock` if too few are free or the order's reservation was released.
struct stock_op {
  /// What the op does.
  enum class kind { reserve, release, commit, take };
  /// The op.
  kind what = kind::reserve;
  /// The order it acts for.
  std::string order_id;
  /// Units to hold or take (reserve and take only).
  int64_t quantity = 0;
};

/// The outcome of a batch of `stock_op`s: the row after it and, per op in order, its error
/// or none (done, or a no-op).
struct stock_outcome {
  /// The row at its new version (unchanged version if no count moved).
  stock_record stock;
  /// One entry per op.
  std::vector<caf::error> results;
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

  /// Applies `ops` in order as one transaction, conditional on `at.version` (0: the SKU
  /// has no row yet, so only release markers can be written). An op that is refused
  /// (`errc::out_of_stock`, `errc::invalid_state`, `errc::invalid_argument`) changes nothing
  /// and leaves the others alone; `errc::version_conflict` fails the whole batch.
  virtual void apply(caf::event_based_actor* self, const stock_record& at,
                     std::vector<stock_op> ops, reply<stock_outcome> done) = 0;
};

/// An in-memory stock repository with the same rules; loses everything on exit.
std::shared_ptr<stock_repository> make_memory_stock_repository();

/// The PostgreSQL stock repository; its SQL lives in stock_postgres.cpp.
std::shared_ptr<stock_repository>
make_postgres_stock_repository(std::shared_ptr<store::database> db);

/// Builds the entity kind of SKUs: one activation per SKU serializes every change to it,
/// and the reserves, releases and commits that queue up behind one store write go to the
/// store together as the next one.
placement::entity_kind stock_entity_kind(std::shared_ptr<stock_repository> repo,
                                         caf::timespan idle_timeout);

} // namespace troupe::order
