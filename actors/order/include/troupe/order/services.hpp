#pragma once

#include <chrono>
#include <memory>

#include "troupe/order/orders.hpp"
#include "troupe/order/payment_gateway.hpp"
#include "troupe/order/sim_payment.hpp"
#include "troupe/supervision/spec.hpp"

namespace troupe::placement {
class locator;
} // namespace troupe::placement

namespace troupe::order {

/// A worker registered as `payment_name`: the simulated provider behind its gateway.
supervision::child_spec payment_child(sim_payment_config sim, payment_gateway_config gateway);

/// A worker that every `interval` wakes orders whose saga stopped short of a final status
/// and has not moved for an interval (their node died, or their activation crashed), so
/// no acknowledged order stays unfinished. In a cluster each node wakes the orders it owns.
supervision::child_spec order_recovery_child(std::shared_ptr<order_repository> repo,
                                             std::shared_ptr<const placement::locator> locator,
                                             caf::timespan interval = std::chrono::seconds(2));

} // namespace troupe::order
