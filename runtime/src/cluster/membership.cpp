#include "troupe/cluster/membership.hpp"

#include <algorithm>
#include <utility>

namespace troupe::cluster {

std::string_view to_string(member_state s) {
  switch (s) {
  case member_state::joining:
    return "joining";
  case member_state::up:
    return "up";
  case member_state::leaving:
    return "leaving";
  case member_state::down:
    return "down";
  }
  return "down";
}

membership::membership(member self) {
  self.state = member_state::joining;
  members_.push_back(std::move(self));
}

std::optional<member_change> membership::move(member& m, member_state to, clock::time_point now) {
  if (m.state == to)
    return std::nullopt;
  member_change c{m.name, m.incarnation, m.state, to};
  m.state = to;
  m.since = now;
  return c;
}

std::optional<member_change> membership::set_self(member_state s, clock::time_point now) {
  auto& me = members_.front();
  // Leaving is one way: a node on its way out never comes back up in the same life.
  if (me.state == member_state::leaving && s == member_state::up)
    return std::nullopt;
  return move(me, s, now);
}

std::vector<member_change> membership::on_hello(member peer, clock::time_point now) {
  std::vector<member_change> out;
  if (peer.name == self().name)
    return out; // the agent refuses such peers; never let one replace this node
  auto* known = find_mutable(peer.name);
  if (known && known->incarnation == peer.incarnation) {
    // A new handshake with the same life: a frozen or cut-off peer that is back (its
    // stale activations are fenced by the store). A peer that said it is leaving stays so.
    if (known->state == member_state::joining || known->state == member_state::down) {
      if (auto c = move(*known, member_state::up, now))
        out.push_back(*c);
    }
    known->address = peer.address;
    known->roles = peer.roles;
    return out;
  }
  if (known) {
    if (auto c = move(*known, member_state::down, now))
      out.push_back(*c); // the old life is gone: its process was replaced
    *known = std::move(peer);
    known->state = member_state::up;
    known->since = now;
    out.push_back({known->name, known->incarnation, std::nullopt, member_state::up});
    return out;
  }
  peer.state = member_state::up;
  peer.since = now;
  out.push_back({peer.name, peer.incarnation, std::nullopt, member_state::up});
  members_.push_back(std::move(peer));
  return out;
}

std::optional<member_change> membership::on_leaving(const std::string& name,
                                                    const std::string& incarnation,
                                                    clock::time_point now) {
  auto* m = find_mutable(name);
  if (!m || m == &members_.front() || m->incarnation != incarnation ||
      m->state == member_state::down)
    return std::nullopt;
  return move(*m, member_state::leaving, now);
}

std::optional<member_change> membership::on_down(const std::string& name,
                                                 const std::string& incarnation,
                                                 clock::time_point now) {
  auto* m = find_mutable(name);
  // A late notice about an older life must not take down the new one.
  if (!m || m == &members_.front() || m->incarnation != incarnation)
    return std::nullopt;
  return move(*m, member_state::down, now);
}

void membership::prune(clock::time_point now, clock::duration keep) {
  members_.erase(std::remove_if(members_.begin() + 1, members_.end(),
                                [&](const member& m) {
                                  return m.state == member_state::down && now - m.since > keep;
                                }),
                 members_.end());
}

std::vector<std::string> membership::hosts(std::string_view role) const {
  std::vector<std::string> out;
  for (const auto& m : members_)
    if (m.state == member_state::up &&
        std::find(m.roles.begin(), m.roles.end(), role) != m.roles.end())
      out.push_back(m.name);
  std::sort(out.begin(), out.end());
  return out;
}

const member* membership::find(std::string_view name) const {
  for (const auto& m : members_)
    if (m.name == name)
      return &m;
  return nullptr;
}

member* membership::find_mutable(std::string_view name) {
  return const_cast<member*>(std::as_const(*this).find(name));
}

size_t membership::count(member_state s) const {
  return static_cast<size_t>(std::count_if(members_.begin(), members_.end(),
                                           [s](const member& m) { return m.state == s; }));
}

} // namespace troupe::cluster
