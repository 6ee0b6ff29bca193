#pragma once

#include <chrono>
#include <memory>

#include <caf/actor_system.hpp>

#include "troupe/order/orders.hpp"

namespace troupe::auth {
class jwt_codec;
class session_check;
} // namespace troupe::auth

namespace troupe::http {
class router;
} // namespace troupe::http

namespace troupe {
class breaker_signal;
} // namespace troupe

namespace troupe::placement {
class directory;
class locator;
} // namespace troupe::placement

namespace troupe::order {

/// What the order and inventory routes need; everything must outlive the HTTP server.
struct order_api {
  /// Spawns the short-lived actors that serve requests.
  caf::actor_system* system = nullptr;
  /// Finds the SKU and order entities, on this node or another.
  std::shared_ptr<const placement::locator> locator;
  /// The payment gateway's breaker: while it is open, new orders are refused at once.
  std::shared_ptr<const breaker_signal> payments;
  /// This node's order activations, to skip the region's resolve hop; optional.
  std::shared_ptr<const placement::directory> orders_known;
  /// This node's SKU activations, the same; optional.
  std::shared_ptr<const placement::directory> stock_known;
  /// Lists orders (a listing spans many entities, so it reads the store directly).
  std::shared_ptr<order_repository> orders;
  /// Checks access tokens.
  std::shared_ptr<auth::jwt_codec> tokens;
  /// Confirms a token's user still stands (not deleted, same password); optional.
  std::shared_ptr<const auth::session_check> sessions;
  /// Bound on each request to an entity.
  caf::timespan request_timeout = std::chrono::seconds(5);
};

/// Adds /v1/inventory/{sku}, /v1/orders, /v1/orders/{id} and /v1/orders/{id}/cancel.
void add_order_routes(http::router& routes, std::shared_ptr<const order_api> api);

/// Returns the order id for a user's idempotency key: a UUID derived from both, so a
/// replayed request reaches the order it created.
std::string order_id_for(const std::string& user_id, const std::string& idempotency_key);

} // namespace troupe::order
