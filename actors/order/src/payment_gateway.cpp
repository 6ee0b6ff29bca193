#include "troupe/order/payment_gateway.hpp"

#include <utility>

#include <caf/actor_system.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "troupe/core/error.hpp"

namespace troupe::order {

namespace {

struct gateway_state {
  payment_gateway_config cfg;
  payment_provider provider;
  circuit_breaker breaker;
};

using gateway_pointer = payment_gateway::stateful_pointer<gateway_state>;

// A provider that answers with a decision is healthy, whatever it decided; opening the breaker
// on declines would turn one customer's bad card into an outage for everyone.
bool is_decision(const caf::error& err) {
  return is(err, errc::payment_declined) || is(err, errc::no_such_record) ||
         is(err, errc::invalid_argument);
}

void record(gateway_pointer self, const caf::error& err) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto before = st.breaker.current(now);
  if (!err || is_decision(err))
    st.breaker.on_success();
  else
    st.breaker.on_failure(now);
  auto after = st.breaker.current(now);
  if (st.cfg.signal)
    st.cfg.signal->publish(st.breaker, now);
  if (after == before)
    return;
  if (after == circuit_breaker::state::open)
    spdlog::warn("payment gateway: {} failing ({}); calls fail fast for {} ms", st.cfg.name,
                 describe(err), st.breaker.retry_after(now).count());
  else if (after == circuit_breaker::state::closed)
    spdlog::info("payment gateway: {} answers again; calls go through", st.cfg.name);
}

// Sends `xs` to the provider with the timeout. A guarded call fails fast while the breaker
// is open and books its outcome on the breaker; an unguarded one (a void: compensation that
// must keep trying, and whose success says nothing about authorizations) does neither.
template <class Reply, class... Ts>
caf::result<Reply> forward(gateway_pointer self, bool guarded, Ts... xs) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (guarded && !st.breaker.allow(now))
    return make_error(errc::dependency_unavailable, st.cfg.name + " is failing; not called",
                      st.breaker.retry_after(now));
  auto rp = self->make_response_promise<Reply>();
  self->request(st.provider, st.cfg.timeout, std::move(xs)...)
      .then(
          [self, rp, guarded](Reply& reply) mutable {
            if (guarded)
              record(self, caf::error{});
            rp.deliver(std::move(reply));
          },
          [self, rp, guarded](caf::error& err) mutable {
            if (guarded)
              record(self, err);
            rp.deliver(std::move(err));
          });
  return rp;
}

payment_gateway::behavior_type gateway_actor(gateway_pointer self, payment_provider provider,
                                             payment_gateway_config cfg) {
  self->state.provider = std::move(provider);
  self->state.breaker = circuit_breaker{cfg.breaker};
  self->state.cfg = std::move(cfg);
  // A restarted gateway starts closed, whatever its predecessor had published.
  if (self->state.cfg.signal)
    self->state.cfg.signal->publish(self->state.breaker, self->clock().now());
  return {
      [self](authorize_atom, payment_request& req) -> caf::result<authorization> {
        return forward<authorization>(self, true, authorize_atom::value, std::move(req));
      },
      [self](void_atom, std::string& id) -> caf::result<caf::ok_atom> {
        return forward<caf::ok_atom>(self, false, void_atom::value, std::move(id));
      },
  };
}

} // namespace

payment_gateway spawn_payment_gateway(caf::actor_system& sys, payment_provider provider,
                                      payment_gateway_config cfg) {
  return sys.spawn(gateway_actor, std::move(provider), std::move(cfg));
}

} // namespace troupe::order
