#pragma once

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "troupe/supervision/spec.hpp"

namespace troupe::supervision {

/// Asks a supervisor for its subtree as a JSON string (nested supervisors included).
using inspect_atom = caf::atom_constant<caf::atom("inspect")>;

/// Asks a supervisor for its running child `name`: `(child_atom, name) -> caf::actor`, or
/// `errc::not_found` when no child of that name is running.
using child_atom = caf::atom_constant<caf::atom("child")>;

/// Spawns a supervisor that starts `spec.children` in order.
///
/// If a child fails to start, the started ones are stopped in reverse order and the
/// supervisor exits with `errc::start_failed`. Past its restart intensity it stops
/// every child in reverse order and exits with `errc::escalated`. An exit request
/// (`send_exit` with any abnormal reason) stops the children in reverse order, each
/// within its shutdown timeout, then the supervisor exits with that reason. If the
/// supervisor itself is killed, its children are killed with it.
caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_spec spec);

} // namespace troupe::supervision
