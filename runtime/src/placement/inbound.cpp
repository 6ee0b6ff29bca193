#include "troupe/placement/inbound.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "troupe/cluster/guard.hpp"
#include "troupe/core/unexpected.hpp"
#include "troupe/observability/trace_context.hpp"
#include "troupe/placement/entity.hpp"
#include "troupe/placement/locator.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::placement {

namespace {

class inbound_actor : public cluster::guarded<caf::event_based_actor> {
public:
  inbound_actor(caf::actor_config& cfg, std::shared_ptr<const cluster::remote_guard> guard,
                std::shared_ptr<supervision::name_registry> names)
      : guarded(cfg, std::move(guard)), names_(std::move(names)) {}

  const char* name() const override { return inbound_name; }

  caf::behavior make_behavior() override;

private:
  std::shared_ptr<supervision::name_registry> names_;
};

caf::behavior inbound_actor::make_behavior() {
  set_default_handler(drop_unexpected(inbound_name));
  auto* self = this;
  auto names = names_;
  return {
      [=](forward_atom, const std::string& kind, const std::string& key,
          const observability::trace_context& trace, caf::message& msg) -> caf::response_promise {
        auto promise = self->make_response_promise();
        auto region = names->lookup(kind);
        if (!region)
          promise.deliver(region.error());
        else // the region hands it on to the activation: two local hops, no round trip
          promise.delegate(*region, forward_atom::value, key, trace, std::move(msg));
        return promise;
      },
  };
}

} // namespace

supervision::child_spec inbound_child(std::shared_ptr<supervision::name_registry> names,
                                      std::shared_ptr<const cluster::remote_guard> guard) {
  supervision::child_spec spec;
  spec.name = inbound_name;
  spec.shutdown_timeout = std::chrono::seconds(1);
  spec.start = [names, guard](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return caf::actor_cast<caf::actor>(sys.spawn<inbound_actor>(guard, names));
  };
  return spec;
}

} // namespace troupe::placement
