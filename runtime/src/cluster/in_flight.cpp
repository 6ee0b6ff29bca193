#include "troupe/cluster/in_flight.hpp"

#include <vector>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/make_message.hpp>

namespace troupe::cluster {

in_flight::ticket in_flight::add(const std::string& node, caf::strong_actor_ptr requester,
                                 caf::message_id id) {
  std::lock_guard guard{mtx_};
  auto t = next_++;
  by_node_[node].emplace(t, entry{std::move(requester), id});
  return t;
}

void in_flight::done(const std::string& node, ticket t) {
  std::lock_guard guard{mtx_};
  auto i = by_node_.find(node);
  if (i == by_node_.end())
    return;
  i->second.erase(t);
  if (i->second.empty())
    by_node_.erase(i);
}

size_t in_flight::fail(const std::string& node, const caf::error& err) {
  std::map<ticket, entry> failed;
  {
    std::lock_guard guard{mtx_};
    auto i = by_node_.find(node);
    if (i == by_node_.end())
      return 0;
    failed.swap(i->second);
    by_node_.erase(i);
  }
  // Outside the lock: the requesters' handlers may register new requests at once.
  for (auto& [t, e] : failed)
    if (e.requester)
      e.requester->enqueue(nullptr, e.id, caf::make_message(err), nullptr);
  return failed.size();
}

size_t in_flight::waiting(const std::string& node) const {
  std::lock_guard guard{mtx_};
  auto i = by_node_.find(node);
  return i == by_node_.end() ? 0 : i->second.size();
}

} // namespace troupe::cluster
