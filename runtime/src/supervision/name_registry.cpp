#include "troupe/supervision/name_registry.hpp"

#include "troupe/core/error.hpp"

namespace troupe::supervision {

caf::expected<caf::actor> name_registry::lookup(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(name);
  if (i == entries_.end())
    return make_error(errc::not_found, "no actor is registered as '" + name + "'");
  if (!i->second.handle)
    return make_error(errc::restarting, "'" + name + "' is restarting");
  return i->second.handle;
}

void name_registry::put(const std::string& name, const caf::actor& handle) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    entries_[name] = entry{handle, handle.id()};
  }
  // The exit hook runs in the exiting actor's own cleanup, so a lookup never hands
  // out a dead incarnation, even before the supervisor sees the down message.
  std::weak_ptr<name_registry> weak = weak_from_this();
  handle->attach_functor([weak, name, id = handle.id()] {
    if (auto self = weak.lock())
      self->mark_down(name, id);
  });
}

void name_registry::erase(const std::string& name, const caf::actor& handle) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(name);
  if (i != entries_.end() && i->second.id == handle.id())
    entries_.erase(i);
}

void name_registry::erase(const std::string& name) {
  std::lock_guard<std::mutex> guard{mtx_};
  entries_.erase(name);
}

size_t name_registry::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return entries_.size();
}

void name_registry::mark_down(const std::string& name, caf::actor_id id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(name);
  if (i != entries_.end() && i->second.id == id)
    i->second.handle = nullptr;
}

} // namespace troupe::supervision
