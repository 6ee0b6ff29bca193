#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/expected.hpp>

namespace troupe::supervision {

/// Names → live incarnations, kept current by supervisors across restarts.
///
/// Unlike CAF's registry it overwrites, has no 10-character limit, and knows the
/// difference between a name nobody uses and a child between incarnations. Thread-safe.
/// Always held by `std::shared_ptr`: exit hooks on registered actors refer to it weakly.
class name_registry : public std::enable_shared_from_this<name_registry> {
public:
  /// Returns the live incarnation, `errc::restarting` while the child is down, or
  /// `errc::not_found`.
  caf::expected<caf::actor> lookup(const std::string& name) const;

  /// Publishes `handle` under `name`, replacing any earlier incarnation. The entry turns
  /// to "restarting" the moment `handle` exits, before its supervisor has reacted.
  void put(const std::string& name, const caf::actor& handle);

  /// Removes `name` if it still refers to `handle` (a newer incarnation stays).
  void erase(const std::string& name, const caf::actor& handle);

  /// Removes `name` whatever it refers to.
  void erase(const std::string& name);

  /// Returns the number of names, live or restarting.
  size_t size() const;

private:
  void mark_down(const std::string& name, caf::actor_id id);

  struct entry {
    caf::actor handle; // null while restarting
    caf::actor_id id = 0;
  };

  mutable std::mutex mtx_;
  std::unordered_map<std::string, entry> entries_;
};

} // namespace troupe::supervision
