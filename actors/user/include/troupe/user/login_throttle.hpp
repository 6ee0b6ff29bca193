#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "troupe/core/rate_limiter.hpp"

namespace troupe::observability {
class counter;
class registry;
} // namespace troupe::observability

namespace troupe::user {

/// How many login attempts an account and a client address may make, and how fast.
struct login_limits {
  /// Per normalised email, whether or not such an account exists.
  rate_limiter::config account{5, std::chrono::seconds{20}, 100'000};
  /// Per client address: looser, since many people may share one address.
  rate_limiter::config client{50, std::chrono::seconds{2}, 100'000};
};

/// Turns away password guessing at POST /v1/auth/login.
///
/// Every attempt takes a token from its account's bucket and from its client's; a
/// successful login gives both back, so only failures count in the end. Unknown and
/// known emails are throttled alike, so a 429 tells nothing about which exist.
class login_throttle {
public:
  /// Counts refusals in `troupe_login_throttled_total{by="account"|"client"}` of `metrics`.
  login_throttle(login_limits limits, std::shared_ptr<observability::registry> metrics);

  /// Takes an attempt for (`email`, `client`) at `now`: zero if it may go ahead, else how
  /// long to wait (nothing is taken then).
  std::chrono::milliseconds acquire(const std::string& email, const std::string& client,
                                    rate_limiter::time_point now);

  /// Gives back the attempt of a login that succeeded or failed on our side.
  void refund(const std::string& email, const std::string& client, rate_limiter::time_point now);

private:
  rate_limiter accounts_;
  rate_limiter clients_;
  std::shared_ptr<observability::registry> metrics_;
  observability::counter* by_account_ = nullptr;
  observability::counter* by_client_ = nullptr;
};

} // namespace troupe::user
