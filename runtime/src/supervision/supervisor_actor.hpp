#pragma once

// Private: the actor behind spawn_supervisor(). One instance per supervisor.

#include <deque>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/event_based_actor.hpp>

#include "troupe/observability/metrics.hpp"
#include "troupe/supervision/spec.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace troupe::supervision {

/// Fires when a delayed restart of child `index` is due; stale if `epoch` moved on.
using restart_atom = caf::atom_constant<caf::atom("restart")>;
/// Fires when child `index` overran its shutdown timeout; stale if `epoch` moved on.
using stop_timeout_atom = caf::atom_constant<caf::atom("stoptmo")>;

/// Where a child is in its life cycle.
enum class child_status {
  /// Alive and monitored.
  running,
  /// Asked to exit; killed if it overruns its shutdown timeout.
  stopping,
  /// Dead; starts again when its backoff timer fires.
  waiting,
  /// Dead and not coming back (shutdown, transient normal exit, temporary).
  stopped,
};

/// Returns the stable name of `x`.
std::string to_string(child_status x);

/// The supervisor's view of one child.
struct child_slot {
  child_spec spec;
  caf::actor handle;
  child_status status = child_status::stopped;
  uint64_t restarts = 0;
  std::string last_failure;
  // Consecutive failures without a quiet period in between; drives the backoff.
  size_t attempt = 0;
  caf::actor_clock::time_point last_failure_at{};
  // Bumped whenever a pending timer for this child must be ignored.
  uint64_t epoch = 0;
  // Backoff chosen for the pending restart; armed once pending stops are done.
  caf::timespan delay{0};
  std::optional<caf::actor_clock::time_point> restart_due;
};

/// The supervisor actor; see spawn_supervisor() for its contract.
class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, supervisor_spec spec);

  caf::behavior make_behavior() override;

  void on_exit() override;

  const char* name() const override { return "troupe.supervisor"; }

private:
  enum class phase { running, escalating, shutting_down };

  // -- life cycle of children -------------------------------------------------
  caf::error start_child(size_t index);
  void on_down(const caf::down_msg& msg);
  void on_failure(size_t index, const caf::error& reason);
  void on_restart_due(uint64_t index, uint64_t epoch);
  void on_stop_timeout(uint64_t index, uint64_t epoch);
  void on_exit_request(const caf::exit_msg& msg);

  // -- policies ----------------------------------------------------------------
  bool wants_restart(const child_slot& child, const caf::error& reason) const;
  bool within_intensity();
  caf::timespan next_delay(child_slot& child);
  std::vector<size_t> restart_group(size_t failed) const;

  // -- stopping, one child at a time in reverse start order --------------------
  void stop_in_reverse(const std::vector<size_t>& indices);
  void stop_next();
  void stops_done();
  void terminate(caf::error reason);

  // -- introspection -----------------------------------------------------------
  caf::result<std::string> inspect();
  size_t budget_left() const;

  std::optional<size_t> index_of(const caf::actor_addr& addr) const;
  void log_failure(const child_slot& child, const caf::error& reason) const;

  supervisor_spec spec_;
  std::vector<child_slot> children_;
  std::deque<caf::actor_clock::time_point> recent_restarts_;
  std::deque<size_t> stop_queue_;
  std::optional<size_t> stopping_;
  phase phase_ = phase::running;
  caf::error exit_reason_;
  bool terminated_ = false;
  std::mt19937_64 rng_;
  observability::family<observability::counter>* restarts_metric_ = nullptr;
  observability::counter* escalations_metric_ = nullptr;
};

} // namespace troupe::supervision
