#pragma once

#include <functional>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/timespan.hpp>

namespace troupe {

/// Asks a one-shot timer to answer `ok_atom` after its delay: `(wake_atom) -> ok_atom`.
using wake_atom = caf::atom_constant<caf::atom("timerwake")>;

/// Spawns a timer (a child of `self`) that answers one `wake_atom` request after `delay` and
/// then ends; nothing waits meanwhile.
caf::actor spawn_timer(caf::event_based_actor* self, caf::timespan delay);

/// Runs `fn` inside `self` after `delay`, without blocking any thread.
void run_after(caf::event_based_actor* self, caf::timespan delay, std::function<void()> fn);

} // namespace troupe
