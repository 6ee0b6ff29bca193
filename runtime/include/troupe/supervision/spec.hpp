#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

namespace troupe::observability {
class registry;
} // namespace troupe::observability

namespace troupe::supervision {

class name_registry;

/// When a child that exited is started again.
enum class restart_type {
  /// Always restarted.
  permanent,
  /// Restarted only after an abnormal exit (not `normal` or `user_shutdown`).
  transient,
  /// Never restarted; removed from the supervisor when it exits.
  temporary,
};

/// Whether a child is a leaf actor or a supervisor of its own.
enum class child_kind {
  /// A leaf actor.
  worker,
  /// A nested supervisor.
  supervisor,
};

/// Which children restart when one fails.
enum class restart_strategy {
  /// Only the failed child.
  one_for_one,
  /// Every child: the others are stopped in reverse start order, then all restart in order.
  one_for_all,
  /// The failed child and every child started after it.
  rest_for_one,
};

/// Starts one incarnation of a child; an error counts as a failed start.
using start_fn = std::function<caf::expected<caf::actor>(caf::actor_system&)>;

/// How a supervisor starts, restarts and stops one child.
struct child_spec {
  /// Unique among siblings; also the name under which the live incarnation is registered.
  std::string name;
  /// Spawns a new incarnation.
  start_fn start;
  /// When the child is restarted.
  restart_type restart = restart_type::permanent;
  /// Time between the polite exit request and the kill at shutdown.
  caf::timespan shutdown_timeout = std::chrono::seconds(5);
  /// Worker or nested supervisor.
  child_kind kind = child_kind::worker;
};

/// At most `max_restarts` restarts within `window`; one more escalates.
struct restart_intensity {
  /// Restarts tolerated within the window.
  size_t max_restarts = 3;
  /// The sliding window.
  caf::timespan window = std::chrono::seconds(5);
};

/// Delay before a restart: `initial * 2^(n-1)` capped at `max`, randomised by ±`jitter`.
struct backoff_policy {
  /// Delay before the first restart of a child.
  caf::timespan initial = std::chrono::milliseconds(10);
  /// Upper bound of the delay.
  caf::timespan max = std::chrono::seconds(5);
  /// Relative randomisation of each delay, 0.2 = ±20 %.
  double jitter = 0.2;
  /// A child that ran this long since its last failure starts again from `initial`.
  caf::timespan reset_after = std::chrono::seconds(10);
};

/// Everything a supervisor needs: its children in start order and its policies.
struct supervisor_spec {
  /// The supervisor's name, used in logs, metrics and the tree snapshot.
  std::string name;
  /// Which children restart when one fails.
  restart_strategy strategy = restart_strategy::one_for_one;
  /// Restart intensity before escalating.
  restart_intensity intensity;
  /// Delay between a failure and the restart.
  backoff_policy backoff;
  /// Children in start order; stopped in reverse order.
  std::vector<child_spec> children;
  /// Where live incarnations are published by name; optional.
  std::shared_ptr<name_registry> names;
  /// Where restart and escalation counters go; optional.
  std::shared_ptr<observability::registry> metrics;
  /// Seed of the jitter generator; 0 picks a random seed.
  uint64_t seed = 0;
};

/// Returns the longest time `spec`'s supervisor needs to stop all of its children.
caf::timespan stop_budget(const supervisor_spec& spec);

/// Wraps `spec` as a child of kind supervisor whose shutdown timeout covers its whole subtree.
child_spec supervisor_child(supervisor_spec spec, restart_type restart = restart_type::permanent);

/// Returns the stable name of `x`.
std::string to_string(restart_strategy x);
/// Returns the stable name of `x`.
std::string to_string(restart_type x);
/// Returns the stable name of `x`.
std::string to_string(child_kind x);

} // namespace troupe::supervision
