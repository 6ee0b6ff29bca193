#include "troupe/order/sim_payment.hpp"

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "troupe/chaos/faults.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/ids.hpp"

namespace troupe::order {

namespace {

// The name chaos faults address this provider by (`dependency_slow` / `dependency_fail`).
constexpr std::string_view dependency_name = "payment";

// Wakes the provider when an answer has waited out its latency.
using settle_atom = caf::atom_constant<caf::atom("settle")>;

// The provider's own handle also takes its wake-ups; callers only ever see `payment_provider`.
using sim_actor = payment_provider::extend<caf::reacts_to<settle_atom, uint64_t>>;

enum class outcome { authorized, declined, failed };

struct authorization_record {
  std::string order_id;
  bool voided = false;
};

struct sim_state {
  sim_payment_config cfg;
  std::mt19937_64 rng;
  // Answers waiting out the latency, by ticket.
  std::unordered_map<uint64_t, std::function<void()>> waiting;
  uint64_t next_ticket = 0;
  // Every authorization granted, by id.
  std::unordered_map<std::string, authorization_record> authorizations;
  // The live (not voided) authorization of each order, by order id.
  std::unordered_map<std::string, std::string> live;
  // Orders whose payment was voided: later authorizations of them are refused.
  std::unordered_set<std::string> voided;
};

using sim_pointer = sim_actor::stateful_pointer<sim_state>;

double clamp_rate(double x) {
  // NaN compares false with everything, so it ends up as 0 too.
  return x > 0 ? std::min(x, 1.0) : 0.0;
}

// A draw in [0, 1) from the top 53 bits: mt19937_64's output is fixed by the standard, unlike
// the distributions, so a seed gives the same outcomes with any standard library.
double draw(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

outcome decide(sim_state& st, const std::string& token) {
  if (token == sim_token_ok)
    return outcome::authorized;
  if (token == sim_token_decline)
    return outcome::declined;
  auto u = draw(st.rng);
  if (u < st.cfg.decline_rate)
    return outcome::declined;
  if (u < st.cfg.decline_rate + st.cfg.failure_rate)
    return outcome::failed;
  return outcome::authorized;
}

// Runs `answer` inside the actor once the latency has passed; never blocks the actor meanwhile.
void after_latency(sim_pointer self, std::function<void()> answer) {
  auto& st = self->state;
  // A chaos fault on the "payment" dependency adds its delay to the simulated latency.
  auto latency = st.cfg.latency + chaos::faults::check_dependency(dependency_name).delay;
  if (latency <= caf::timespan{0}) {
    answer();
    return;
  }
  auto ticket = st.next_ticket++;
  st.waiting.emplace(ticket, std::move(answer));
  self->delayed_send(caf::actor_cast<sim_actor>(self), latency, settle_atom::value, ticket);
}

void settle_authorization(sim_pointer self, caf::typed_response_promise<authorization> rp,
                          const std::string& order_id, outcome decided) {
  auto& st = self->state;
  if (auto it = st.live.find(order_id); it != st.live.end()) {
    rp.deliver(authorization{it->second});
    return;
  }
  if (st.voided.count(order_id) > 0) {
    rp.deliver(make_error(errc::payment_declined, "the payment of this order was voided"));
    return;
  }
  switch (decided) {
  case outcome::declined:
    rp.deliver(make_error(errc::payment_declined, "the simulated provider declined the token"));
    return;
  case outcome::failed:
    rp.deliver(make_error(errc::dependency_failed, "the simulated provider failed"));
    return;
  case outcome::authorized:
    break;
  }
  auto id = random_uuid();
  st.authorizations.emplace(id, authorization_record{order_id});
  st.live.emplace(order_id, id);
  rp.deliver(authorization{std::move(id)});
}

void settle_void(sim_pointer self, caf::typed_response_promise<caf::ok_atom> rp,
                 const std::string& order_id) {
  auto& st = self->state;
  if (auto live = st.live.find(order_id); live != st.live.end()) {
    st.authorizations[live->second].voided = true;
    st.live.erase(live);
  }
  st.voided.insert(order_id);
  rp.deliver(caf::ok_atom::value);
}

sim_actor::behavior_type sim_payment(sim_pointer self, sim_payment_config cfg, uint64_t seed) {
  self->state.cfg = cfg;
  self->state.rng.seed(seed);
  return {
      [self](authorize_atom, payment_request& req) -> caf::result<authorization> {
        if (req.order_id.empty() || req.token.empty())
          return make_error(errc::invalid_argument, "a payment needs an order id and a token");
        auto rp = self->make_response_promise<authorization>();
        // A chaos fault on the "payment" dependency fails the authorization as a provider
        // outage would (voids, which compensation retries, are only slowed).
        auto decided = chaos::faults::check_dependency(dependency_name).fail
                           ? outcome::failed
                           : decide(self->state, req.token);
        after_latency(self, [self, rp, order_id = std::move(req.order_id), decided] {
          settle_authorization(self, rp, order_id, decided);
        });
        return rp;
      },
      [self](void_atom, std::string& order_id) -> caf::result<caf::ok_atom> {
        auto rp = self->make_response_promise<caf::ok_atom>();
        after_latency(
            self, [self, rp, order_id = std::move(order_id)] { settle_void(self, rp, order_id); });
        return rp;
      },
      [self](settle_atom, uint64_t ticket) {
        auto& waiting = self->state.waiting;
        if (auto it = waiting.find(ticket); it != waiting.end()) {
          auto answer = std::move(it->second);
          waiting.erase(it);
          answer();
        }
      },
  };
}

} // namespace

payment_provider spawn_sim_payment(caf::actor_system& sys, sim_payment_config cfg) {
  cfg.decline_rate = clamp_rate(cfg.decline_rate);
  cfg.failure_rate = std::min(clamp_rate(cfg.failure_rate), 1.0 - cfg.decline_rate);
  uint64_t seed = cfg.seed ? *cfg.seed : std::random_device{}();
  return sys.spawn(sim_payment, cfg, seed);
}

} // namespace troupe::order
