#include "troupe/order/services.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "troupe/core/clock.hpp"
#include "troupe/core/error.hpp"
#include "troupe/placement/ask.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::order {

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;

// Orders woken per round; the rest wait for the next one.
constexpr size_t recovery_batch = 200;

} // namespace

supervision::child_spec payment_child(sim_payment_config sim, payment_gateway_config gateway) {
  supervision::child_spec spec;
  spec.name = payment_name;
  spec.shutdown_timeout = std::chrono::seconds(1);
  spec.start = [sim, gateway](caf::actor_system& sys) -> caf::expected<caf::actor> {
    // The gateway holds the only handle of its provider: they live and die together.
    auto provider = spawn_sim_payment(sys, sim);
    return caf::actor_cast<caf::actor>(spawn_payment_gateway(sys, provider, gateway));
  };
  return spec;
}

supervision::child_spec order_recovery_child(std::shared_ptr<order_repository> repo,
                                             std::shared_ptr<const placement::locator> locator,
                                             caf::timespan interval) {
  supervision::child_spec spec;
  spec.name = "order-recovery";
  spec.shutdown_timeout = std::chrono::seconds(1);
  spec.start = [repo, locator, interval](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return sys.spawn([repo, locator, interval](caf::event_based_actor* self) -> caf::behavior {
      self->send(self, tick_atom::value);
      auto interval_ms = std::chrono::duration_cast<std::chrono::milliseconds>(interval).count();
      return {[=](tick_atom) {
        self->delayed_send(self, interval, tick_atom::value);
        repo->unfinished(self, unix_now_ms() - interval_ms, recovery_batch,
                         [self, locator](caf::expected<std::vector<std::string>> ids) {
                           if (!ids) {
                             spdlog::warn("order recovery: {}", describe(ids.error()));
                             return;
                           }
                           // Each node wakes the orders it owns: together they cover all.
                           for (const auto& id : *ids)
                             if (locator->owns(order_kind_name, id))
                               placement::ask_owner(
                                   self, locator, order_kind_name, id, std::chrono::seconds(5),
                                   std::make_tuple(resume_atom::value), [] {},
                                   [id](const caf::error& err) {
                                     spdlog::warn("order recovery: cannot wake {}: {}", id,
                                                  describe(err));
                                   },
                                   placement::retry_policy{true});
                         });
      }};
    });
  };
  return spec;
}

} // namespace troupe::order
