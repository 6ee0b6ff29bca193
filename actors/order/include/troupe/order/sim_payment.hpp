#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "troupe/order/payment.hpp"

namespace troupe::order {

/// A token the simulated provider always authorizes.
inline constexpr std::string_view sim_token_ok = "tok_ok";

/// A token the simulated provider always declines.
inline constexpr std::string_view sim_token_decline = "tok_decline";

/// How the simulated provider behaves.
struct sim_payment_config {
  /// Delay before every answer (authorize and void); simulated time under CAF's test coordinator.
  caf::timespan latency{0};
  /// Share of authorizations with any other token that are declined, from 0 to 1.
  double decline_rate = 0;
  /// Share of authorizations with any other token that fail technically, from 0 to 1.
  double failure_rate = 0;
  /// Seed of the random draws, so a run repeats exactly; a random seed when empty.
  std::optional<uint64_t> seed;
};

/// Spawns a simulated payment provider for development, tests and chaos runs.
///
/// `tok_ok` is always authorized and `tok_decline` always declined; any other token is declined
/// with probability `decline_rate`, fails with probability `failure_rate` (rates are clamped to
/// [0, 1], and declines win where they add up to more than 1) and is authorized otherwise. The
/// outcome is drawn when the request arrives, so a seed fixes the sequence of outcomes. Voids
/// never fail. Authorizations live in memory only.
payment_provider spawn_sim_payment(caf::actor_system& sys, sim_payment_config cfg = {});

} // namespace troupe::order
