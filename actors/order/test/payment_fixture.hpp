#pragma once

// Payment actors on the deterministic scheduler: calls are made from short-lived actors, and
// their answers land in slots the test reads after running or advancing simulated time.

#include <memory>
#include <optional>
#include <string>

#include "fixture.hpp"
#include "troupe/order/payment.hpp"
#include "troupe/order/sim_payment.hpp"

namespace troupe::order::test {

using namespace std::chrono_literals;

/// Where an answer lands; empty until it arrives.
template <class T>
using slot = std::shared_ptr<std::optional<caf::expected<T>>>;

/// Base of the payment tests: an actor system on the test coordinator with simulated time.
class payment_test : public supervision::test::supervision_test {
protected:
  /// Asks `provider` to authorize a payment for `order_id` with `token`, and runs.
  slot<authorization> authorize(const payment_provider& provider, std::string token,
                                std::string order_id = "order-1") {
    return ask<authorization>(provider, authorize_atom::value,
                              payment_request{std::move(order_id), "card", std::move(token)});
  }

  /// Asks `provider` to void the payment of order `order_id`, and runs.
  slot<caf::ok_atom> void_order(const payment_provider& provider, std::string order_id) {
    return ask<caf::ok_atom>(provider, void_atom::value, std::move(order_id));
  }

  using supervision_test::keep;

  /// Keeps `provider` alive for the test and returns it.
  payment_provider keep(payment_provider provider) {
    supervision_test::keep(caf::actor_cast<caf::actor>(provider));
    return provider;
  }

private:
  template <class T, class... Ts>
  slot<T> ask(const payment_provider& provider, Ts... xs) {
    auto out = std::make_shared<std::optional<caf::expected<T>>>();
    // The caller has no timeout of its own: the tests observe the callee's.
    sys_ref().spawn([=](caf::event_based_actor* self) {
      self->request(provider, caf::infinite, xs...)
          .then([=](T& x) { *out = caf::expected<T>{std::move(x)}; },
                [=](caf::error& err) { *out = caf::expected<T>{std::move(err)}; });
    });
    run();
    return out;
  }
};

/// Returns whether `x` arrived and holds a value.
template <class T>
bool succeeded(const slot<T>& x) {
  return x->has_value() && **x;
}

/// Returns the id of the authorization in `x`, which must have succeeded.
inline std::string id_of(const slot<authorization>& x) {
  return (**x)->id;
}

/// Returns a simulated provider config with the given latency.
inline sim_payment_config with_latency(caf::timespan latency) {
  sim_payment_config cfg;
  cfg.latency = latency;
  return cfg;
}

/// Returns a simulated provider config with the given rates and seed.
inline sim_payment_config with_rates(double decline, double failure, uint64_t seed = 7) {
  sim_payment_config cfg;
  cfg.decline_rate = decline;
  cfg.failure_rate = failure;
  cfg.seed = seed;
  return cfg;
}

/// Returns whether `x` arrived and is an error with code `code`.
template <class T>
bool failed_with(const slot<T>& x, errc code) {
  return x->has_value() && !**x && is((*x)->error(), code);
}

} // namespace troupe::order::test
