#include "troupe/placement/inbound.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "troupe/placement/entity.hpp"
#include "troupe/placement/locator.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::placement {

namespace {

caf::behavior inbound(caf::event_based_actor* self,
                      std::shared_ptr<supervision::name_registry> names) {
  return {
      [=](forward_atom, const std::string& kind, const std::string& key,
          caf::message& msg) -> caf::response_promise {
        auto promise = self->make_response_promise();
        auto region = names->lookup(kind);
        if (!region)
          promise.deliver(region.error());
        else // the region hands it on to the activation: two local hops, no round trip
          promise.delegate(*region, forward_atom::value, key, std::move(msg));
        return promise;
      },
  };
}

} // namespace

supervision::child_spec inbound_child(std::shared_ptr<supervision::name_registry> names) {
  supervision::child_spec spec;
  spec.name = inbound_name;
  spec.shutdown_timeout = std::chrono::seconds(1);
  spec.start = [names](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return sys.spawn(inbound, names);
  };
  return spec;
}

} // namespace troupe::placement
