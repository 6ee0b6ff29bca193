#include "troupe/placement/locator.hpp"

#include <optional>

#include "troupe/cluster/rendezvous.hpp"
#include "troupe/cluster/shared_view.hpp"
#include "troupe/core/error.hpp"
#include "troupe/supervision/name_registry.hpp"

namespace troupe::placement {

std::string_view locator::role_of(std::string_view kind) const {
  auto i = cfg_.roles.find(kind);
  return i == cfg_.roles.end() ? kind : std::string_view{i->second};
}

std::optional<std::string> locator::owner_in(const cluster::view_snapshot& snap,
                                             std::string_view kind, const std::string& key) const {
  auto hosts = snap.hosts.find(role_of(kind));
  if (hosts == snap.hosts.end())
    return std::nullopt;
  return cluster::owner_of(key, hosts->second);
}

caf::expected<locator::route> locator::find(std::string_view kind, const std::string& key) const {
  auto snap = cfg_.view ? cfg_.view->get() : nullptr;
  auto owner = snap ? owner_in(*snap, kind, key) : std::optional<std::string>{""};
  if (!owner)
    return make_error(errc::dependency_unavailable,
                      "no node that hosts " + std::string{role_of(kind)} + " is up");
  if (!snap || *owner == snap->self()) { // without a cluster everything is here
    auto region = cfg_.names->lookup(std::string{kind});
    if (!region)
      return region.error();
    return route{std::move(*owner), std::move(*region), {}};
  }
  auto router = snap->routers.find(*owner);
  if (router == snap->routers.end())
    return make_error(errc::node_down, "node " + *owner + " cannot be reached");
  return route{std::move(*owner), {}, router->second};
}

bool locator::owns(std::string_view kind, const std::string& key) const {
  if (!cfg_.view)
    return true;
  auto snap = cfg_.view->get();
  if (auto owner = owner_in(*snap, kind, key))
    return *owner == snap->self();
  // No host is up, so nobody else could take the key: it stays here while this node is
  // starting, but a leaving node owns nothing even as the last member standing, so its
  // activations passivate and its drain ends instead of waiting for a taker.
  return snap->members.empty() || snap->members.front().state != cluster::member_state::leaving;
}

uint64_t locator::tenure() const {
  return cfg_.view ? cfg_.view->tenure() : 1;
}

uint64_t locator::tenure(std::string_view kind, const std::string& key) const {
  // Ownership first: the agent voids the lease before it publishes a new view, so a tenure
  // read after the view still belongs to that view.
  return owns(kind, key) ? tenure() : 0;
}

} // namespace troupe::placement
