#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "troupe/core/circuit_breaker.hpp"
#include "troupe/order/payment.hpp"

namespace troupe::order {

/// How the gateway guards its provider.
struct payment_gateway_config {
  /// How long one provider call may take; a later answer counts as a failure.
  caf::timespan timeout = std::chrono::seconds{2};
  /// When calls to the provider start and stop failing fast.
  circuit_breaker::config breaker;
  /// The provider's name in errors and logs.
  std::string name = "payment provider";
  /// Where the breaker stands, published after each authorization for callers that refuse
  /// new work while it is open (the order routes); optional.
  std::shared_ptr<breaker_signal> signal;
};

/// The gateway speaks the provider protocol; its breaker is read through
/// `payment_gateway_config::signal`, without a message.
using payment_gateway = payment_provider;

/// Spawns the gateway the order saga talks to: it speaks the provider protocol, forwards every
/// call to `provider` with a timeout, and guards authorizations with a circuit breaker.
///
/// Technical failures, timeouts and a dead provider count against the breaker; declines and
/// other decisions are healthy answers and never open it. While the breaker is open,
/// authorizations are answered at once with `errc::dependency_unavailable` carrying the retry
/// delay. Voids are compensation that must keep trying: they pass the breaker and leave it be.
payment_gateway spawn_payment_gateway(caf::actor_system& sys, payment_provider provider,
                                      payment_gateway_config cfg = {});

} // namespace troupe::order
