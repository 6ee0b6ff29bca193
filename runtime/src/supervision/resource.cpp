#include "troupe/supervision/resource.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "troupe/core/error.hpp"

namespace troupe::supervision {

namespace {

using owner_atom = caf::atom_constant<caf::atom("owner")>;

} // namespace

child_spec resource_child(std::string name, acquire_fn acquire, caf::timespan shutdown_timeout) {
  child_spec spec;
  spec.name = std::move(name);
  spec.shutdown_timeout = shutdown_timeout;
  spec.start = [acquire = std::move(acquire),
                label = spec.name](caf::actor_system& sys) -> caf::expected<caf::actor> {
    auto resource = acquire();
    if (!resource)
      return std::move(resource.error());
    if (!*resource)
      return make_error(errc::start_failed, label + ": acquire returned nothing");
    // Boxed so that every copy CAF keeps of the spawn function shares one slot, and
    // emptying it at exit really releases the resource then, not at destruction.
    auto box = std::make_shared<std::shared_ptr<void>>(std::move(*resource));
    return sys.spawn([box](caf::event_based_actor* self) -> caf::behavior {
      self->attach_functor([box] { box->reset(); });
      // The resource lives on its own threads; the actor only marks its lifetime
      // and answers who it is for introspection.
      return {[](owner_atom) { return true; }};
    });
  };
  return spec;
}

} // namespace troupe::supervision
