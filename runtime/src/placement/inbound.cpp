#include "troupe/placement/inbound.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "troupe/placement/entity.hpp"
#include "troupe/placement/locator.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::placement {

namespace {

caf::behavior inbound(caf::event_based_actor* self,
                      std::shared_ptr<supervision::name_registry> names, caf::timespan timeout) {
  return {
      [=](forward_atom, const std::string& kind, const std::string& key,
          caf::message& msg) -> caf::response_promise {
        auto promise = self->make_response_promise();
        auto region = names->lookup(kind);
        if (!region) {
          promise.deliver(region.error());
          return promise;
        }
        self->request(*region, timeout, resolve_atom::value, key)
            .then(
                [promise, msg](const caf::actor& entity) mutable {
                  promise.delegate(entity, std::move(msg));
                },
                [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
        return promise;
      },
  };
}

} // namespace

supervision::child_spec inbound_child(std::shared_ptr<supervision::name_registry> names,
                                      caf::timespan resolve_timeout) {
  supervision::child_spec spec;
  spec.name = inbound_name;
  spec.shutdown_timeout = std::chrono::seconds(1);
  spec.start = [names, resolve_timeout](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return sys.spawn(inbound, names, resolve_timeout);
  };
  return spec;
}

} // namespace troupe::placement
