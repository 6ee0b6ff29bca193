#pragma once

// The order domain's messages: what stock-keeping units and orders understand.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

namespace troupe::order {

/// The stock of one stock-keeping unit. Available units are `on_hand - reserved`.
struct stock_record {
  /// The SKU, the entity key.
  std::string sku;
  /// Units in the warehouse, reserved ones included.
  int64_t on_hand = 0;
  /// Units held for orders that are not confirmed or released yet.
  int64_t reserved = 0;
  /// Incremented by every write; writes are conditional on it (fencing).
  uint64_t version = 0;
};

/// Makes `stock_record` a CAF message type.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, stock_record& x) {
  return f(caf::meta::type_name("troupe.stock_record"), x.sku, x.on_hand, x.reserved, x.version);
}

/// One line of an order.
struct order_item {
  /// What is ordered.
  std::string sku;
  /// How many units, at least 1.
  int64_t quantity = 0;
};

/// Makes `order_item` a CAF message type.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_item& x) {
  return f(caf::meta::type_name("troupe.order_item"), x.sku, x.quantity);
}

/// The steps of an order's saga. Each is stored before the work of the next begins, so
/// a reactivated order knows exactly where to go on.
enum class order_status : uint8_t {
  /// Stored; stock not reserved yet.
  pending,
  /// Every line's stock is reserved; payment not authorized yet.
  reserved,
  /// Payment authorized; the reservations are not turned into shipments yet.
  authorized,
  /// Final unless cancelled: stock taken, payment authorized.
  confirmed,
  /// Releasing what was reserved before becoming `rejected`.
  rejecting,
  /// Final: out of stock or payment declined or failed; nothing held.
  rejected,
  /// Voiding payment and returning stock before becoming `cancelled`.
  cancelling,
  /// Final: cancelled by its owner; nothing held.
  cancelled,
};

/// Returns the status name used in the API and the store, e.g. "confirmed".
const char* to_string(order_status s) noexcept;

/// Parses a status name; false for an unknown one.
bool parse(const std::string& name, order_status& out) noexcept;

/// Returns whether the saga has nothing more to do in status `s`.
bool is_final(order_status s) noexcept;

/// An order as stored.
struct order_record {
  /// Derived from the owner and the idempotency key, so a replay lands on the same order.
  std::string id;
  /// The owner.
  std::string user_id;
  /// Where the saga stands.
  order_status status = order_status::pending;
  /// What is ordered, sorted by SKU, one line per SKU.
  std::vector<order_item> items;
  /// The payment method, e.g. "sim".
  std::string payment_method;
  /// The payment token handed to the provider.
  std::string payment_token;
  /// The client's `Idempotency-Key`.
  std::string idempotency_key;
  /// A digest of the request body, to tell a replay from a different request.
  std::string request_hash;
  /// The provider's authorization, once there is one.
  std::string authorization_id;
  /// Why the order was rejected, e.g. "out_of_stock" (empty otherwise).
  std::string reason;
  /// Incremented by every write; writes are conditional on it (fencing).
  uint64_t version = 0;
  /// Creation time, milliseconds since the Unix epoch.
  int64_t created_at_ms = 0;
  /// Time of the last write, milliseconds since the Unix epoch.
  int64_t updated_at_ms = 0;
};

/// Makes `order_record` a CAF message type.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, order_record& x) {
  return f(caf::meta::type_name("troupe.order_record"), x.id, x.user_id, x.status, x.items,
           x.payment_method, x.payment_token, x.idempotency_key, x.request_hash, x.authorization_id,
           x.reason, x.version, x.created_at_ms, x.updated_at_ms);
}

/// `(fetch_atom) -> stock_record | order_record`: the current state.
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
/// `(set_stock_atom, int64_t on_hand) -> stock_record`: sets the units on hand (admin).
using set_stock_atom = caf::atom_constant<caf::atom("setstock")>;
/// `(reserve_atom, order_id, quantity) -> stock_record`: holds units for an order;
/// `errc::out_of_stock` when too few are available. Idempotent per order.
using reserve_atom = caf::atom_constant<caf::atom("reserve")>;
/// `(release_atom, order_id) -> stock_record`: returns an order's units (held or taken).
/// Idempotent; releasing first makes a later reserve of that order a no-op.
using release_atom = caf::atom_constant<caf::atom("release")>;
/// `(commit_atom, order_id) -> stock_record`: takes an order's held units out of stock.
using commit_atom = caf::atom_constant<caf::atom("commit")>;
/// `(take_atom, order_id, quantity) -> stock_record`: takes units out of stock for an order
/// in one write, without holding them first; `errc::out_of_stock` when too few are
/// available or the order's units were released. Idempotent per order.
using take_atom = caf::atom_constant<caf::atom("take")>;
/// `(place_atom, order_record) -> order_record`: stores a new order and starts its saga;
/// a replay with the same request answers the stored order.
using place_atom = caf::atom_constant<caf::atom("place")>;
/// `(cancel_atom) -> order_record`: cancels an order that is not rejected yet.
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
/// `(resume_atom)`: wakes an order so an unfinished saga goes on (sent by recovery).
using resume_atom = caf::atom_constant<caf::atom("resume")>;

/// The entity kind name of stock-keeping units.
inline constexpr const char* stock_kind_name = "sku";
/// The entity kind name of orders.
inline constexpr const char* order_kind_name = "order";

} // namespace troupe::order
