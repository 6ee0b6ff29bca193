#include "actions.hpp"

#include <vector>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "troupe/chaos/registry.hpp"
#include "troupe/chaos/routes.hpp"
#include "troupe/core/error.hpp"
#include "troupe/placement/region.hpp"
#include "troupe/supervision/name_registry.hpp"
#include "troupe/supervision/supervisor.hpp"

namespace troupe::chaos {

namespace detail {

void kill_entity(caf::event_based_actor* self, const supervision::name_registry& names,
                 const std::string& kind, const std::string& key, std::chrono::milliseconds timeout,
                 std::function<void(caf::error, bool)> done) {
  auto region = names.lookup(kind);
  if (!region)
    return done(make_error(errc::not_found, "no entity kind '" + kind + "' runs on this node"),
                false);
  self->request(*region, timeout, placement::evict_atom::value, key)
      .then([done](bool killed) { done(caf::error{}, killed); },
            [done](caf::error& err) { done(std::move(err), false); });
}

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string::npos)
      next = path.size();
    if (next > pos)
      out.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

// Walks down from `at` through the child names in `rest`, then kills what it reached.
void descend(caf::event_based_actor* self, caf::actor at, std::vector<std::string> rest,
             std::chrono::milliseconds timeout, std::function<void(caf::error)> done) {
  if (rest.empty()) {
    self->send_exit(at, caf::exit_reason::kill); // not anonymous: guarded actors refuse those
    return done(caf::error{});
  }
  auto name = rest.front();
  rest.erase(rest.begin());
  self->request(at, timeout, supervision::child_atom::value, name)
      .then([self, rest, timeout,
             done](caf::actor& child) { descend(self, std::move(child), rest, timeout, done); },
            [done](caf::error& err) { done(std::move(err)); });
}

} // namespace

void kill_actor(caf::event_based_actor* self, const supervision::name_registry& names,
                const std::string& path, std::chrono::milliseconds timeout,
                std::function<void(caf::error)> done) {
  auto parts = split_path(path);
  if (parts.empty())
    return done(make_error(errc::invalid_argument, "path: names no actor"));
  auto top = names.lookup(parts.front());
  if (!top)
    return done(make_error(errc::not_found, "path: nothing is registered as '" + parts.front() +
                                                "' (the path starts at the root's name)"));
  parts.erase(parts.begin());
  descend(self, *top, std::move(parts), timeout, std::move(done));
}

} // namespace detail

namespace {

using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

caf::behavior sweeper(caf::event_based_actor* self, std::shared_ptr<registry> faults) {
  auto sweep = [self, faults] {
    faults->expire();
    if (auto next = faults->next_expiry()) {
      auto wait = *next - std::chrono::steady_clock::now();
      // One millisecond late rather than early: a fault is gone once its time is up.
      self->delayed_send(self, std::max(caf::timespan{0}, wait) + std::chrono::milliseconds{1},
                         sweep_atom::value);
    }
  };
  self->send(self, sweep_atom::value);
  return {[sweep](sweep_atom) { sweep(); }};
}

} // namespace

supervision::child_spec sweeper_child(std::shared_ptr<registry> faults) {
  supervision::child_spec spec;
  spec.name = sweeper_name;
  spec.shutdown_timeout = std::chrono::seconds(1);
  spec.start = [faults](caf::actor_system& sys) -> caf::expected<caf::actor> {
    return sys.spawn(sweeper, faults);
  };
  return spec;
}

void wake_sweeper(const supervision::name_registry& names) {
  if (auto found = names.lookup(sweeper_name))
    caf::anon_send(*found, sweep_atom::value);
}

} // namespace troupe::chaos
