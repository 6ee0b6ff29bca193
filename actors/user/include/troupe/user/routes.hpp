#pragma once

#include <chrono>
#include <memory>

#include <caf/fwd.hpp>

#include "troupe/user/entity.hpp"
#include "troupe/user/login_throttle.hpp"
#include "troupe/user/repository.hpp"
#include "troupe/user/stamp_cache.hpp"

namespace troupe {
class blocking_pool;
} // namespace troupe

namespace troupe::auth {
class jwt_codec;
class session_check;
} // namespace troupe::auth

namespace troupe::http {
class router;
} // namespace troupe::http

namespace troupe::placement {
class locator;
class directory;
} // namespace troupe::placement

namespace troupe::supervision {
class name_registry;
} // namespace troupe::supervision

namespace troupe::user {

/// What the user routes need; everything must outlive the HTTP server.
struct user_api {
  /// Spawns the short-lived actors that serve requests.
  caf::actor_system* system = nullptr;
  /// Finds user entities, on this node or another.
  std::shared_ptr<const placement::locator> locator;
  /// Reads users by email for login.
  std::shared_ptr<user_repository> repo;
  /// Runs Argon2id off the io and actor threads.
  std::shared_ptr<blocking_pool> hashing;
  /// Issues and checks access tokens.
  std::shared_ptr<auth::jwt_codec> tokens;
  /// The user region's published activations, to skip the resolve hop; optional.
  std::shared_ptr<const placement::directory> directory;
  /// Copies published by this node's user activations, to answer reads at once; optional.
  std::shared_ptr<const user_snapshots> snapshots;
  /// Bound on each request to an entity.
  caf::timespan request_timeout = std::chrono::seconds(5);
  /// Throttles login attempts per account and client address; optional.
  std::shared_ptr<login_throttle> throttle;
  /// Stamps learned from other nodes' users, so tokens are not confirmed remotely on every
  /// request; optional (without it, every request off the owner asks the owner).
  std::shared_ptr<stamp_cache> stamps;
};

/// Adds /v1/users, /v1/users/me, /v1/users/{id} and /v1/auth/login to `routes`.
void add_user_routes(http::router& routes, std::shared_ptr<const user_api> api);

/// Returns the check that a token's user still exists with the credentials the token was
/// issued for, for the routes of every domain: answered from this node's copy when this
/// node owns the user, else from `stamps` while fresh, else by asking the user entity.
std::shared_ptr<const auth::session_check> make_session_check(std::shared_ptr<const user_api> api);

} // namespace troupe::user
