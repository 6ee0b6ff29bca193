#include "troupe/supervision/spec.hpp"

#include "troupe/supervision/supervisor.hpp"

namespace troupe::supervision {

namespace {

// Slack a parent grants a nested supervisor beyond its children's own timeouts, for
// the messages that carry the exit requests and down notifications.
constexpr caf::timespan stop_slack = std::chrono::milliseconds(100);

} // namespace

caf::timespan stop_budget(const supervisor_spec& spec) {
  caf::timespan total{0};
  for (auto& child : spec.children)
    total += child.shutdown_timeout;
  return total + stop_slack;
}

child_spec supervisor_child(supervisor_spec spec, restart_type restart) {
  child_spec result;
  result.name = spec.name;
  result.restart = restart;
  result.kind = child_kind::supervisor;
  result.shutdown_timeout = stop_budget(spec);
  result.start = [spec = std::move(spec)](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return spawn_supervisor(sys, spec);
  };
  return result;
}

std::string to_string(restart_strategy x) {
  switch (x) {
  case restart_strategy::one_for_one:
    return "one_for_one";
  case restart_strategy::one_for_all:
    return "one_for_all";
  case restart_strategy::rest_for_one:
    return "rest_for_one";
  }
  return "unknown";
}

std::string to_string(restart_type x) {
  switch (x) {
  case restart_type::permanent:
    return "permanent";
  case restart_type::transient:
    return "transient";
  case restart_type::temporary:
    return "temporary";
  }
  return "unknown";
}

std::string to_string(child_kind x) {
  return x == child_kind::worker ? "worker" : "supervisor";
}

} // namespace troupe::supervision
