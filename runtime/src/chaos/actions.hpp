#pragma once

// Private: the one-shot faults' actions, run from a request's short-lived actor.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

namespace troupe::supervision {
class name_registry;
} // namespace troupe::supervision

namespace troupe::chaos::detail {

/// Kills the live activation of (`kind`, `key`) through its region; `done` gets whether one
/// was live, or an error (`errc::not_found` for an unknown kind).
void kill_entity(caf::event_based_actor* self, const supervision::name_registry& names,
                 const std::string& kind, const std::string& key, std::chrono::milliseconds timeout,
                 std::function<void(caf::error, bool)> done);

/// Kills the actor at supervision `path` ("/root/user": the registered root, then child names);
/// its supervisor restarts it. `done` gets an error if nothing is there.
void kill_actor(caf::event_based_actor* self, const supervision::name_registry& names,
                const std::string& path, std::chrono::milliseconds timeout,
                std::function<void(caf::error)> done);

} // namespace troupe::chaos::detail
