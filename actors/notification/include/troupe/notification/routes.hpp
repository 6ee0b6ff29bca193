#pragma once

#include <memory>

#include <caf/actor_system.hpp>

#include "troupe/notification/store.hpp"

namespace troupe::auth {
class jwt_codec;
class session_check;
} // namespace troupe::auth

namespace troupe::http {
class router;
} // namespace troupe::http

namespace troupe::notification {

/// What the notification routes need; everything must outlive the HTTP server.
struct notification_api {
  /// Spawns the short-lived actors that serve requests.
  caf::actor_system* system = nullptr;
  /// Notifications and preferences.
  std::shared_ptr<notification_store> store;
  /// Checks access tokens.
  std::shared_ptr<auth::jwt_codec> tokens;
  /// Confirms a token's user still stands (not deleted, same password); optional.
  std::shared_ptr<const auth::session_check> sessions;
};

/// Adds /v1/users/{id}/notifications and /v1/users/{id}/notification-preferences.
void add_notification_routes(http::router& routes, std::shared_ptr<const notification_api> api);

} // namespace troupe::notification
