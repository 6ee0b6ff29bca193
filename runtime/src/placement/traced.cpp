#include "troupe/placement/traced.hpp"

#include <caf/actor_system_config.hpp>

namespace troupe::placement {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<observability::trace_context>("troupe.trace_context");
}

} // namespace troupe::placement
